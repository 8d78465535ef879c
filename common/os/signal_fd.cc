#include "common/os/signal_fd.hpp"

#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/base/error.hpp"

namespace confvisor {

SignalFd::SignalFd(std::initializer_list<int> signals) {
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : signals) sigaddset(&mask, s);
  if (int err = ::pthread_sigmask(SIG_BLOCK, &mask, &old_mask_); err != 0) {
    throw_sys("block signals", err);
  }
  fd_ = UniqueFd(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd_) {
    int err = errno;
    ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    throw_sys("create signalfd", err);
  }
}

SignalFd::~SignalFd() {
  fd_.reset();
  ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

std::vector<int> SignalFd::drain() {
  std::vector<int> out;
  signalfd_siginfo info[16];
  for (;;) {
    ssize_t n = ::read(fd_.get(), info, sizeof info);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      throw_sys("read signalfd");
    }
    for (std::size_t i = 0; i < static_cast<std::size_t>(n) / sizeof info[0]; ++i) {
      int s = static_cast<int>(info[i].ssi_signo);
      if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    }
  }
  return out;
}

}  // namespace confvisor
