// What every confvisor test shares: unique segment names, and RAII for the segments and
// processes a test creates, so they are gone pass or fail.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace confvisor::test {

// "t-TAG-PID-N": unique across parallel test processes and within one.
[[nodiscard]] std::string unique_segment(std::string_view tag);

// Removes every object of the segment when it goes out of scope.
class SegmentGuard {
 public:
  explicit SegmentGuard(std::string_view tag) : name_(unique_segment(tag)) {}
  ~SegmentGuard();
  SegmentGuard(const SegmentGuard&) = delete;
  SegmentGuard& operator=(const SegmentGuard&) = delete;
  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// A forked child running `body` (its return value is the exit code). SIGKILLed and reaped
// when it goes out of scope if still running.
class Child {
 public:
  explicit Child(const std::function<int()>& body);
  // Execs `argv` (argv[0] a path) with a clean signal mask and default dispositions. Each
  // "NAME=VALUE" of `env` sets NAME, each bare "NAME" removes it. Output goes to /dev/null if
  // `silence_output`, else appended to `output_file` if given, else where ours goes.
  Child(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
        bool silence_output = false, const std::string& output_file = {});
  ~Child();
  Child(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  // Waits for the exit and returns the raw wait status.
  int wait();
  // As wait(), but SIGKILLs the child first if it has not exited within `timeout`.
  int wait_for(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
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
