// A child process of a test or of the benchmark, SIGKILLed and reaped when it goes out of scope
// if it is still running, so that none outlives the code that started it, pass or fail. Its
// exit is an event (a pidfd), so waiting for it never polls.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/os/unique_fd.hpp"

namespace confvisor::test {

// How a child starts. The defaults keep what the parent has: its environment, its stdin, its
// stdout and stderr, its process group.
struct ChildOptions {
  // For a child that execs: each "NAME=VALUE" sets NAME in a copy of our environment, each
  // bare "NAME" removes it.
  std::vector<std::string> env{};
  // stdout and stderr go to /dev/null if `silence_output`, else are appended to `output_file`
  // if one is given, else go to `output_fd` if it is one, else where ours go.
  bool silence_output = false;
  std::string output_file{};
  int output_fd = -1;
  // stdin reads /dev/null instead of ours.
  bool null_input = false;
  // A process group of its own, as a service manager starts a service: a Ctrl-C on our
  // terminal then reaches us alone, and our cleanup ends the child instead of racing it.
  bool own_process_group = false;
  // SIGKILLed by the kernel when the thread that started it ends (PR_SET_PDEATHSIG), so it
  // cannot outlive a parent that is SIGKILLed. The kernel ties this to the starting thread,
  // not the process: only for a child whose starting thread lives as long as it should.
  bool dies_with_parent = false;
};

class Child {
 public:
  // Forks a child that runs `body` and _exits with its result, running none of our
  // destructors or atexit handlers; an exception out of `body` is printed on stderr and
  // becomes exit code 70. Between fork and exec only async-signal-safe calls are safe in the
  // child of a process with threads, so `body` of such a process must keep to them.
  explicit Child(const std::function<int()>& body, const ChildOptions& options = {});
  // Execs `argv` (argv[0] a path) with a clean signal mask and default dispositions; exit
  // code 127 if the exec fails. Everything the child needs is prepared before the fork.
  Child(const std::vector<std::string>& argv, const ChildOptions& options);
  // The same with ChildOptions{env, silence_output, output_file}.
  Child(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
        bool silence_output = false, const std::string& output_file = {});
  ~Child();
  Child(Child&& other) noexcept;
  Child& operator=(Child&&) = delete;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // The child's pid, also after it has been reaped (for messages; signal it only while
  // !reaped()).
  [[nodiscard]] pid_t pid() const { return pid_; }
  // CLOCK_MONOTONIC (steady_clock) just before the fork: where "time to start" begins.
  [[nodiscard]] std::chrono::steady_clock::time_point forked_at() const { return forked_at_; }
  // Readable once the child has exited: for a caller's own poll().
  [[nodiscard]] int exit_fd() const { return pidfd_.get(); }
  [[nodiscard]] bool reaped() const { return status_.has_value(); }
  // The raw wait status once reaped.
  [[nodiscard]] std::optional<int> status() const { return status_; }

  // The raw wait status if the child has exited (reaping it), else nullopt. Never blocks.
  std::optional<int> try_reap();
  // Waits for the exit and returns the raw wait status.
  int wait();
  // As wait(), but SIGKILLs the child first if it has not exited within `timeout`.
  int wait_for(std::chrono::milliseconds timeout);

 private:
  void start(const std::function<void()>& in_child, const ChildOptions& options);
  void kill_and_reap();

  pid_t pid_ = -1;  // -1 only in a moved-from object
  UniqueFd pidfd_;
  std::optional<int> status_;
  std::chrono::steady_clock::time_point forked_at_;
};

// "exited with code N", "was killed by signal N".
[[nodiscard]] std::string describe_wait_status(int status);
// True for a child that exited with code 0.
[[nodiscard]] bool exited_cleanly(int status);

}  // namespace confvisor::test
