#include "tests/support/test_support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "common/publish/publisher.hpp"
#include "tests/support/proc_scan.hpp"

extern char** environ;

namespace confvisor::test {

std::string unique_segment(std::string_view tag) {
  static std::atomic<int> counter{0};
  return "t-" + std::string(tag) + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(++counter);
}

SegmentGuard::~SegmentGuard() {
  try {
    Publisher::remove(name_);
  } catch (...) {
  }
  // A daemon killed by a test leaves its owner lock file (by design: the lock is the
  // kernel's, the file is only where it lives).
  ::unlink(("/dev/shm/confvisor." + name_ + ".lock").c_str());
  // And, with cgroup tracking, the cgroup tree of the segment with whatever is still in it.
  remove_cgroup_tree(name_);
  // And its control socket, where a config does not put it elsewhere.
  ::unlink(("/run/confvisor/" + name_ + ".sock").c_str());
}

namespace {

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
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

void reset_signals() {
  sigset_t none;
  sigemptyset(&none);
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
}  // namespace

Child::Child(const std::function<int()>& body) {
  flush_before_fork();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // Boost.Test's handlers turn a SIGSEGV into a test failure and go on running the suite
    // in the child; a child must die of its signals like any process.
    reset_signals();
    int code = 1;
    try {
      code = body();
    } catch (...) {
      code = 99;
    }
    ::_exit(code);
  }
}

Child::Child(const std::vector<std::string>& argv, const std::vector<std::string>& env,
             bool silence_output, const std::string& output_file) {
  const std::vector<std::string> envs = environment_with(env);
  std::vector<char*> cargv = c_strings(argv), cenv = c_strings(envs);
  flush_before_fork();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    reset_signals();
    const char* out = silence_output        ? "/dev/null"
                      : output_file.empty() ? nullptr
                                            : output_file.c_str();
    if (out != nullptr) {
      int fd = ::open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execve(cargv[0], cargv.data(), cenv.data());
    ::_exit(127);
  }
}

Child::Child(Child&& other) noexcept : pid_(other.pid_) {
  other.pid_ = -1;
}

Child::~Child() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
  }
}

int Child::wait() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return status;
}

int Child::wait_for(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  // Tests only: a short sleep between waitpid(WNOHANG) checks is the simplest bounded wait.
  while (std::chrono::steady_clock::now() < deadline) {
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ::kill(pid_, SIGKILL);
  return wait();
}

std::string bin(std::string_view name) {
  return std::string(CONFVISOR_BIN_DIR) + "/" + std::string(name);
}

std::string seams_bin(std::string_view name) {
  return std::string(CONFVISOR_SEAMS_BIN_DIR) + "/" + std::string(name) + "-seams";
}

int RunResult::exit_code() const {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

RunResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const std::vector<std::string> envs = environment_with(env);
  std::vector<char*> cargv = c_strings(argv), cenv = c_strings(envs);
  flush_before_fork();
  pid_t pid = ::fork();
  if (pid == 0) {
    reset_signals();
    ::dup2(pipefd[1], 1);
    ::dup2(pipefd[1], 2);
    ::execve(cargv[0], cargv.data(), cenv.data());
    ::_exit(127);
  }
  ::close(pipefd[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(pipefd[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return {status, out};
}

}  // namespace confvisor::test
