// Sleeping until one of several descriptors has something: how a test or the bench waits
// for a daemon, its notifications and its workers (no polling loops).
#pragma once

#include <chrono>
#include <initializer_list>
#include <vector>

namespace confvisor::test {

// Blocks until at least one of `fds` is readable (or hung up), or `timeout` passes.
// Returns, per descriptor in order, whether it is ready; all false after the timeout.
// Throws std::runtime_error if poll fails.
[[nodiscard]] std::vector<bool> wait_readable(std::initializer_list<int> fds,
                                              std::chrono::milliseconds timeout);

}  // namespace confvisor::test
