#include "tests/support/process_wait.hpp"

#include <sys/wait.h>

#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "tests/support/text_search.hpp"

namespace confvisor::test {

int exit_code(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void require_ready(DaemonProcess& d, std::chrono::milliseconds timeout) {
  if (d.wait_notify("READY=1", timeout).empty()) {
    throw std::runtime_error("confvisord never reported READY=1; its log:\n" + tail(d.log()));
  }
}

bool wait_for_log(DaemonProcess& d, const std::string& needle, std::chrono::milliseconds timeout,
                  std::size_t count) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (count_lines(d.log(), needle) >= count) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    d.drain_notifications();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void require_log(DaemonProcess& d, const std::string& needle, std::chrono::milliseconds timeout,
                 std::size_t count) {
  if (!wait_for_log(d, needle, timeout, count)) {
    throw std::runtime_error("no " + std::to_string(count) + " log line(s) with \"" + needle +
                             "\" within " + std::to_string(timeout.count()) + " ms; the log:\n" +
                             tail(d.log()));
  }
}

bool wait_for_file(const std::string& path, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const std::string content = read_file(path);
    if (!content.empty() && content.back() == '\n') return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

pid_t pid_from_file(const std::string& path) {
  if (!wait_for_file(path, std::chrono::seconds(10))) {
    throw std::runtime_error("no pid written to " + path);
  }
  return static_cast<pid_t>(std::atol(read_file(path).c_str()));
}

}  // namespace confvisor::test
