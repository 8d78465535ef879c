// A forked child process running a function: the latency harness' reader processes.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace confvisor::bench {

class ChildProcess {
 public:
  // Forks. The child resets its signal mask and dispositions (the parent's cleanup handler
  // must not run in it), asks to be SIGKILLed when the parent dies, runs `body` and _exits
  // with its result without running the parent's destructors or atexit handlers; an
  // exception from `body` is printed and becomes exit code 70.
  // Call only while the process has one thread: after fork, only async-signal-safe calls
  // are safe in the child of a multithreaded parent.
  explicit ChildProcess(const std::function<int()>& body);
  // SIGKILLs and reaps the child if it was not reaped yet.
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }

  // The raw wait status if the child has exited (reaping it), else nullopt. Never blocks.
  [[nodiscard]] std::optional<int> try_reap();

  // The raw wait status, reaping the child; SIGKILLs it first if it has not exited within
  // `timeout`.
  int wait_for(std::chrono::milliseconds timeout);

  // The scheduler state letter of /proc/PID/stat ('R' running, 'S' sleeping, ...), or '?'
  // if it cannot be read.
  [[nodiscard]] char state() const;

 private:
  pid_t pid_ = -1;                  // -1 only in a moved-from object
  std::optional<int> wait_status_;  // set once reaped
};

// "exited with code N", "was killed by signal N".
[[nodiscard]] std::string describe_wait_status(int status);

// True for a child that returned 0.
[[nodiscard]] bool exited_cleanly(int status);

}  // namespace confvisor::bench
