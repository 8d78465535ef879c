#include "tests/support/test_support.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "common/base/error.hpp"
#include "common/os/unique_fd.hpp"
#include "common/publish/publisher.hpp"
#include "common/segment/name.hpp"
#include "tests/support/proc_scan.hpp"

namespace confvisor::test {

std::string unique_segment(std::string_view tag, std::string_view prefix) {
  static std::atomic<int> counter{0};
  return std::string(prefix) + "-" + std::string(tag) + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(++counter);
}

SegmentGuard::~SegmentGuard() {
  try {
    Publisher::remove(name_);
    Publisher::remove(canary_segment(name_));  // a daemon with a canary made it
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
  if (::pipe2(pipefd, O_CLOEXEC) != 0) throw_sys("create a pipe");
  UniqueFd read_end(pipefd[0]);
  std::string out;
  int status = 0;
  {
    UniqueFd write_end(pipefd[1]);
    Child child(argv, ChildOptions{.env = env, .output_fd = write_end.get()});
    write_end.reset();  // the child's copies are the only writers left: EOF when it exits
    char buf[4096];
    ssize_t n;
    while ((n = ::read(read_end.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
      if (n > 0) out.append(buf, static_cast<std::size_t>(n));
    }
    status = child.wait();
  }
  return {status, out};
}

}  // namespace confvisor::test
