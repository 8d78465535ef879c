// Signals as readable events: blocks a set of signals in the calling thread (call it before
// starting threads, so they inherit the mask) and reads them from a signalfd. A standard
// signal that arrives again while pending is one pending signal: bursts coalesce by
// themselves. Children must unblock (see the spawn code) since the mask survives exec.
#pragma once

#include <signal.h>

#include <initializer_list>
#include <vector>

#include "common/os/unique_fd.hpp"

namespace confvisor {

class SignalFd {
 public:
  explicit SignalFd(std::initializer_list<int> signals);
  ~SignalFd();  // restores the previous mask
  SignalFd(const SignalFd&) = delete;
  SignalFd& operator=(const SignalFd&) = delete;

  [[nodiscard]] int fd() const { return fd_.get(); }
  // Every signal now pending, each once, in arrival order. Never blocks.
  [[nodiscard]] std::vector<int> drain();

 private:
  sigset_t old_mask_{};
  UniqueFd fd_;
};

}  // namespace confvisor
