#include "bench/child_process.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "bench/proc_stats.hpp"

namespace confvisor::bench {

namespace {

void reset_signals() {
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);  // EINVAL for KILL/STOP: fine
}

}  // namespace

ChildProcess::ChildProcess(const std::function<int()>& body) {
  const pid_t parent = ::getpid();
  // Whatever stdio holds would otherwise be written twice, once by each process.
  std::fflush(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error(std::string("unable to fork: ") + std::strerror(errno));
  if (pid_ > 0) return;

  reset_signals();
  // The parent may have died between fork and prctl: then nobody would kill us.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(71);
  int code = 70;
  try {
    code = body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "confvisor-bench: child %d: %s\n", static_cast<int>(::getpid()), e.what());
  } catch (...) {
    std::fprintf(stderr, "confvisor-bench: child %d: unknown exception\n",
                 static_cast<int>(::getpid()));
  }
  std::fflush(stderr);
  ::_exit(code);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !wait_status_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), wait_status_(other.wait_status_) {}

std::optional<int> ChildProcess::try_reap() {
  if (!wait_status_) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) wait_status_ = status;
  }
  return wait_status_;
}

int ChildProcess::wait_for(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!try_reap()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      wait_status_ = status;
      break;
    }
    // Only reached while shutting a run down, never inside a measurement.
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return *wait_status_;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "ended with wait status " + std::to_string(status);
}

bool exited_cleanly(int status) {
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

char ChildProcess::state() const {
  return process_state(pid_);
}

}  // namespace confvisor::bench
