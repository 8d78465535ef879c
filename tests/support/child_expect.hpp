// EXPECT(cond, code) for the code a test runs in a forked child (in a private mount namespace,
// say), where Boost.Test's assertions must not run: a failed condition prints its line and
// text to stderr and returns `code` from the child's function, whose exit status the parent
// checks.
#pragma once

#include <cstdio>

#define EXPECT(cond, code)                                             \
  do {                                                                 \
    if (!(cond)) {                                                     \
      std::fprintf(stderr, "line %d: expected %s\n", __LINE__, #cond); \
      return code;                                                     \
    }                                                                  \
  } while (0)
