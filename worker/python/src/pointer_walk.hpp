// Resolving a JSON pointer (RFC 6901) step by step, so that a failure can say where: the
// pointer does not resolve (a key or index that is not there), it steps into a scalar or
// uses a non-index on an array (the config has another shape than the caller expects), or
// it is not a pointer at all.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <string>
#include <string_view>

namespace confvisor::python {

enum class WalkOutcome { found, not_found, wrong_type, invalid_pointer };

struct WalkResult {
  WalkOutcome outcome = WalkOutcome::found;
  const boost::json::value* value = nullptr;  // found: the value; wrong_type: the container
                                              // or scalar that could not be stepped into
  std::size_t failed_at = 0;  // not_found, wrong_type: length of the pointer's prefix that
                              // names `value` (wrong_type) or its parent (not_found)
  std::string token;          // the step that failed, unescaped
};

// One step of a pointer: `token` unescaped (~1 is '/', ~0 is '~'). Returns false for a bad
// escape.
bool next_token(std::string_view& rest, std::string& token);

// Where `pointer` leads in `root`.
[[nodiscard]] WalkResult walk(const boost::json::value& root, std::string_view pointer);

// An array index token: digits without a leading zero. "-" (past the end) and anything else
// is not an index that exists.
bool parse_index(std::string_view token, std::size_t& index);

}  // namespace confvisor::python
