#include "tests/support/child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <iostream>
#include <utility>

#include "common/base/error.hpp"

extern char** environ;

namespace confvisor::test {

namespace {

// The exit codes of a child that never got to its body or its program.
constexpr int kExitNoParent = 71;  // the parent ended before PR_SET_PDEATHSIG took hold
constexpr int kExitException = 70;
constexpr int kExitNoExec = 127;

// Our environment with `changes` applied: "NAME=VALUE" sets, "NAME" removes.
std::vector<std::string> environment_with(const std::vector<std::string>& changes) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  for (const auto& change : changes) {
    const std::string name = change.substr(0, change.find('='));
    std::erase_if(env, [&](const std::string& e) { return e.substr(0, e.find('=')) == name; });
    if (change.find('=') != std::string::npos) env.push_back(change);
  }
  return env;
}

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// An ignored signal or a blocked mask would survive exec, and our handlers (Boost.Test's turn
// a SIGSEGV into a test failure and go on running the suite) must not run in the child.
void reset_signals() {
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  }
}

// Buffered output would otherwise be written once by the parent and again by each child.
void flush_before_fork() {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
}

UniqueFd open_or_throw(const std::string& path, int flags) {
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC, 0644));
  if (!fd) throw_sys("open " + path);
  return fd;
}

// The descriptors the child takes as its stdin and as its stdout and stderr (-1: ours),
// opened before the fork so that a failure shows in the parent.
struct Redirection {
  UniqueFd input;
  UniqueFd opened_output;
  int output = -1;
};

Redirection redirection(const ChildOptions& options) {
  Redirection r;
  if (options.null_input) r.input = open_or_throw("/dev/null", O_RDONLY);
  if (options.silence_output) {
    r.opened_output = open_or_throw("/dev/null", O_WRONLY);
  } else if (!options.output_file.empty()) {
    r.opened_output = open_or_throw(options.output_file, O_WRONLY | O_CREAT | O_APPEND);
  }
  r.output = r.opened_output ? r.opened_output.get() : options.output_fd;
  return r;
}

// In the child, before its body or its exec: async-signal-safe calls only.
void enter_child(const ChildOptions& options, const Redirection& r, pid_t parent) {
  if (options.own_process_group) ::setpgid(0, 0);
  // The parent may have ended between the fork and the prctl: then nobody would kill us.
  if (options.dies_with_parent &&
      (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent)) {
    ::_exit(kExitNoParent);
  }
  reset_signals();
  if (r.input.get() >= 0 && ::dup2(r.input.get(), 0) < 0) ::_exit(kExitNoExec);
  if (r.output >= 0 && (::dup2(r.output, 1) < 0 || ::dup2(r.output, 2) < 0)) ::_exit(kExitNoExec);
}

}  // namespace

Child::Child(const std::function<int()>& body, const ChildOptions& options) {
  start(
      [&] {
        int code = kExitException;
        try {
          code = body();
        } catch (const std::exception& e) {
          std::fprintf(stderr, "child %d: %s\n", static_cast<int>(::getpid()), e.what());
        } catch (...) {
          std::fprintf(stderr, "child %d: unknown exception\n", static_cast<int>(::getpid()));
        }
        std::fflush(stderr);
        ::_exit(code);
      },
      options);
}

Child::Child(const std::vector<std::string>& argv, const ChildOptions& options) {
  const std::vector<std::string> env = environment_with(options.env);
  const std::vector<char*> cargv = c_strings(argv), cenv = c_strings(env);
  start([&] { ::execve(cargv[0], cargv.data(), cenv.data()); }, options);
}

Child::Child(const std::vector<std::string>& argv, const std::vector<std::string>& env,
             bool silence_output, const std::string& output_file)
    : Child(argv, ChildOptions{
                      .env = env, .silence_output = silence_output, .output_file = output_file}) {}

void Child::start(const std::function<void()>& in_child, const ChildOptions& options) {
  const Redirection r = redirection(options);
  const pid_t parent = ::getpid();
  flush_before_fork();
  forked_at_ = std::chrono::steady_clock::now();
  pid_ = ::fork();
  if (pid_ < 0) throw_sys("fork");
  if (pid_ == 0) {
    enter_child(options, r, parent);
    in_child();
    ::_exit(kExitNoExec);
  }
  pidfd_ = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
  if (!pidfd_) {
    const int err = errno;
    kill_and_reap();
    throw_sys("open a pidfd for child " + std::to_string(pid_), err);
  }
}

Child::~Child() {
  kill_and_reap();
}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::move(other.pidfd_)),
      status_(other.status_),
      forked_at_(other.forked_at_) {}

void Child::kill_and_reap() {
  if (pid_ <= 0 || status_) return;
  ::kill(pid_, SIGKILL);  // our own child, by its pid: never kill(-1)
  (void)wait();
}

std::optional<int> Child::try_reap() {
  if (!status_) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
  }
  return status_;
}

int Child::wait() {
  if (status_) return *status_;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  status_ = status;
  return status;
}

int Child::wait_for(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd exited{pidfd_.get(), POLLIN, 0};
  while (!try_reap()) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid_, SIGKILL);
      break;
    }
    (void)::poll(&exited, 1, static_cast<int>(left.count()));  // EINTR: look again
  }
  return wait();
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "ended with wait status " + std::to_string(status);
}

bool exited_cleanly(int status) {
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace confvisor::test
