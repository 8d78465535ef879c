#include "daemon/supervise/check_host.hpp"

#include <signal.h>
#include <sys/wait.h>

namespace confvisor::supervise {

LoneCheckHost::LoneCheckHost(boost::asio::io_context& io) : io_(io), sigchld_(io, SIGCHLD) {
  wait();
}

void LoneCheckHost::watch_child(pid_t pid, std::function<void(int status)> exited) {
  watched_[pid] = std::move(exited);
  reap();  // it may have ended before it was watched
}

void LoneCheckHost::forget_child(pid_t pid) {
  watched_.erase(pid);
}

void LoneCheckHost::wait() {
  sigchld_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    reap();
    wait();
  });
}

// Only the watched children: this process may have others that are not ours to reap. A
// forgotten one is reaped with the process's exit.
void LoneCheckHost::reap() {
  for (auto it = watched_.begin(); it != watched_.end();) {
    int status = 0;
    if (::waitpid(it->first, &status, WNOHANG) != it->first) {
      ++it;
      continue;
    }
    auto exited = std::move(it->second);
    it = watched_.erase(it);
    exited(status);
  }
}

}  // namespace confvisor::supervise
