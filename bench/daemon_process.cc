#include "bench/daemon_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <vector>

#include "bench/child_process.hpp"
#include "bench/clock.hpp"
#include "bench/fd_wait.hpp"

extern char** environ;

namespace confvisor::bench {

namespace {

using namespace std::chrono_literals;

constexpr std::size_t kLogLinesOnFailure = 15;

// What a service manager or a test harness may have left in our environment and the
// daemon would act on.
constexpr std::string_view kDroppedVariables[] = {
    "NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=",   "JOURNAL_STREAM=",
    "LISTEN_FDS=",    "LISTEN_PID=",    "LISTEN_FDNAMES=", "CONFVISOR_TEST_CRASH_AT="};

std::vector<std::string> daemon_environment(const std::string& notify_socket) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry = *e;
    const bool dropped = std::any_of(std::begin(kDroppedVariables), std::end(kDroppedVariables),
                                     [&](std::string_view v) { return entry.starts_with(v); });
    if (!dropped) env.emplace_back(entry);
  }
  env.push_back("NOTIFY_SOCKET=" + notify_socket);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

UniqueFd open_or_throw(const std::string& path, int flags) {
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC, 0600));
  if (!fd) throw std::runtime_error("unable to open " + path + ": " + std::strerror(errno));
  return fd;
}

// In the child between fork and exec: async-signal-safe calls only, as the parent may have
// had other threads. Reports a failed step on the log (stderr) and exits 127.
[[noreturn]] void exec_daemon(char* const* argv, char* const* envp, pid_t parent, int in, int log) {
  // Its own group: a Ctrl-C on the bench's terminal reaches the bench, whose cleanup then
  // stops the daemon, instead of racing it.
  ::setpgid(0, 0);
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(127);
  // The bench's handlers would be reset by exec, but an ignored signal or a blocked mask
  // would be inherited.
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);  // EINVAL for KILL/STOP: fine
  if (::dup2(in, 0) < 0 || ::dup2(log, 1) < 0 || ::dup2(log, 2) < 0) ::_exit(127);
  ::execve(argv[0], argv, envp);
  static constexpr char kFailed[] = "confvisor-bench: execve of confvisord failed\n";
  ssize_t ignored = ::write(2, kFailed, sizeof kFailed - 1);
  (void)ignored;
  ::_exit(127);
}

}  // namespace

DaemonProcess::DaemonProcess(const std::string& binary, const std::string& config_path,
                             TempDir& dir, BenchSegment& segment)
    : log_path_(dir.file("confvisord.log")), notify_(dir.file("notify.sock")) {
  std::vector<std::string> args{binary, "--config", config_path};
  std::vector<std::string> env = daemon_environment(notify_.path());
  const std::vector<char*> argv = c_strings(args);
  const std::vector<char*> envp = c_strings(env);
  const UniqueFd in = open_or_throw("/dev/null", O_RDONLY);
  const UniqueFd log = open_or_throw(log_path_, O_WRONLY | O_CREAT | O_APPEND);

  const pid_t parent = ::getpid();
  std::fflush(nullptr);  // nothing buffered may be written twice
  spawned_ns_ = monotonic_ns();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error(std::string("unable to fork: ") + std::strerror(errno));
  if (pid_ == 0) exec_daemon(argv.data(), envp.data(), parent, in.get(), log.get());

  kill_on_signal_ = KillOnSignal(pid_);
  segment.add_publisher(pid_);
  pidfd_ = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
  if (!pidfd_) {
    const int err = errno;
    kill_and_reap();
    throw std::runtime_error(std::string("pidfd_open failed: ") + std::strerror(err));
  }
}

DaemonProcess::~DaemonProcess() {
  if (!wait_status_) kill_and_reap();
}

void DaemonProcess::kill_and_reap() {
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  wait_status_ = status;
}

bool DaemonProcess::try_reap() {
  if (wait_status_) return true;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
  wait_status_ = status;
  return true;
}

void DaemonProcess::signal(int sig) const {
  if (wait_status_ || ::kill(pid_, sig) != 0) {
    throw std::runtime_error("unable to signal confvisord (pid " + std::to_string(pid_) +
                             "): it is gone");
  }
}

std::optional<Datagram> DaemonProcess::take_notification() {
  return notify_.try_receive();
}

void DaemonProcess::check_running() {
  if (try_reap()) fail("confvisord ended unexpectedly");
}

Datagram DaemonProcess::wait_notification(std::string_view needle,
                                          std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    while (std::optional<Datagram> d = notify_.try_receive()) {
      if (d->text.find(needle) != std::string::npos) return *d;
    }
    check_running();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      fail("no " + std::string(needle) + " notification from confvisord within " +
           std::to_string(timeout.count()) + " ms");
    }
    (void)wait_readable({notify_.fd(), pidfd_.get()}, left);
  }
}

std::size_t DaemonProcess::watch(std::chrono::milliseconds duration) {
  const auto deadline = std::chrono::steady_clock::now() + duration;
  std::size_t notifications = 0;
  for (;;) {
    while (notify_.try_receive()) ++notifications;
    check_running();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return notifications;
    (void)wait_readable({notify_.fd(), pidfd_.get()}, left);
  }
}

void DaemonProcess::stop(std::chrono::milliseconds timeout) {
  signal(SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!try_reap()) {
    while (notify_.try_receive()) {
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill_and_reap();
      fail("confvisord did not stop within " + std::to_string(timeout.count()) +
           " ms of SIGTERM; killed");
    }
    (void)wait_readable({notify_.fd(), pidfd_.get()}, left);
  }
  if (!exited_cleanly(*wait_status_)) fail("confvisord did not stop cleanly on SIGTERM");
}

std::string DaemonProcess::log_tail(std::size_t lines) const {
  std::ifstream in(log_path_);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(std::move(line));
  std::string out;
  for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    out += "\n    " + all[i];
  }
  return out.empty() ? " (empty)" : out;
}

void DaemonProcess::fail(const std::string& what) {
  std::string message = what;
  if (try_reap()) message += "; confvisord " + describe_wait_status(*wait_status_);
  message += "; the end of its log:" + log_tail(kLogLinesOnFailure);
  throw std::runtime_error(message);
}

}  // namespace confvisor::bench
