#include "tests/support/test_seams.hpp"

#include <signal.h>

#include <atomic>
#include <cstdlib>

#include "common/publish/crash_point.hpp"

namespace confvisor::test {

namespace {

std::atomic<const char*> crash_at{std::getenv("CONFVISOR_TEST_CRASH_AT")};
std::atomic<const char*> stop_at{std::getenv("CONFVISOR_TEST_STOP_AT")};

void on_point(std::string_view point) {
  const char* crash = crash_at.load(std::memory_order_relaxed);
  if (crash != nullptr && point == crash) ::raise(SIGKILL);
  const char* stop = stop_at.load(std::memory_order_relaxed);
  if (stop != nullptr && point == stop) ::raise(SIGSTOP);
}

// Installed before main: a seams program obeys its environment from its first publish on.
[[maybe_unused]] const bool installed = [] {
  set_seam_hook(&on_point);
  return true;
}();

}  // namespace

void arm_crash_point(const char* point) {
  crash_at.store(point, std::memory_order_relaxed);
  set_seam_hook(&on_point);
}

}  // namespace confvisor::test
