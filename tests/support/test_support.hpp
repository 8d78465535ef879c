// What every confvisor test shares: unique segment names, and RAII for the segments and
// processes a test creates, so they are gone pass or fail.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tests/support/child.hpp"

namespace confvisor::test {

// "PREFIX-TAG-PID-N" ("t-TAG-PID-N" for a test): unique across parallel processes and
// within one.
[[nodiscard]] std::string unique_segment(std::string_view tag, std::string_view prefix = "t");

// Removes every object of the segment when it goes out of scope.
class SegmentGuard {
 public:
  explicit SegmentGuard(std::string_view tag, std::string_view prefix = "t")
      : name_(unique_segment(tag, prefix)) {}
  ~SegmentGuard();
  SegmentGuard(const SegmentGuard&) = delete;
  SegmentGuard& operator=(const SegmentGuard&) = delete;
  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// Path of a binary built by this project (build/bin/NAME).
[[nodiscard]] std::string bin(std::string_view name);
// Path of the test-only twin of build/bin/NAME that obeys CONFVISOR_TEST_CRASH_AT and
// CONFVISOR_TEST_STOP_AT (build/tests/NAME-seams; see common/publish/crash_point.hpp).
[[nodiscard]] std::string seams_bin(std::string_view name);

// Runs a command, returns {exit status (raw), stdout+stderr}.
struct RunResult {
  int status;
  std::string output;
  [[nodiscard]] int exit_code() const;
};
[[nodiscard]] RunResult run(const std::vector<std::string>& argv,
                            const std::vector<std::string>& env = {});

}  // namespace confvisor::test
