#include "tests/support/daemon_process.hpp"

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace confvisor::test {

TempDir::TempDir() {
  char templ[] = "/tmp/confvisor-test-XXXXXX";
  if (::mkdtemp(templ) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(std::string_view name, std::string_view content) const {
  const std::string target = path_ + "/" + std::string(name);
  const std::string tmp = target + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f.write(content.data(), static_cast<std::streamsize>(content.size()));
  }
  std::filesystem::rename(tmp, target);
  return target;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

NotifySocket::NotifySocket(const std::string& path) : path_(path) {
  fd_ = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd_) throw std::runtime_error("socket failed");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("notify socket path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("bind " + path + " failed");
  }
}

NotifySocket::~NotifySocket() {
  ::unlink(path_.c_str());
}

std::string NotifySocket::receive(std::chrono::milliseconds timeout) {
  pollfd p{fd_.get(), POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return {};
  char buf[4096];
  ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string{};
}

namespace {
std::string unique_log_path(const TempDir& dir) {
  static int counter = 0;
  return dir.path() + "/confvisord-" + std::to_string(++counter) + ".log";
}
}  // namespace

namespace {
// The daemon's command line; in `cgroup`, a shell joins it and then becomes the daemon.
std::vector<std::string> daemon_argv(const std::string& program, const std::string& config_path,
                                     const std::string& cgroup) {
  std::vector<std::string> argv{program, "--config", config_path, "--log-level", "debug"};
  if (cgroup.empty()) return argv;
  argv.insert(argv.begin(),
              {"/bin/sh", "-c", "echo $$ > \"$0/cgroup.procs\" && exec \"$@\"", cgroup});
  return argv;
}
}  // namespace

DaemonProcess::DaemonProcess(const TempDir& dir, const std::string& config_path,
                             const std::vector<std::string>& extra_env, const std::string& program,
                             const std::string& cgroup)
    : log_path_(unique_log_path(dir)),
      notify_(log_path_ + ".notify"),
      process_(
          daemon_argv(program, config_path, cgroup),
          [&] {
            // Nothing of the test's own environment may leak in: no seam, no service
            // manager but ours.
            std::vector<std::string> env{"CONFVISOR_TEST_CRASH_AT", "CONFVISOR_TEST_STOP_AT",
                                         "WATCHDOG_USEC", "WATCHDOG_PID",
                                         "NOTIFY_SOCKET=" + notify_.path()};
            env.insert(env.end(), extra_env.begin(), extra_env.end());
            return env;
          }(),
          false, log_path_) {}

void DaemonProcess::signal(int sig) const {
  if (process_.pid() > 0) ::kill(process_.pid(), sig);  // never kill(-1): that is everyone
}

std::string DaemonProcess::wait_notify(std::string_view needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return {};
    std::string m = notify_.receive(left);
    if (m.empty()) continue;
    received_.push_back(m);
    if (m.find(needle) != std::string::npos) return m;
  }
}

void DaemonProcess::drain_notifications() {
  for (std::string m = notify_.receive(std::chrono::milliseconds(0)); !m.empty();
       m = notify_.receive(std::chrono::milliseconds(0))) {
    received_.push_back(m);
  }
}

std::string DaemonProcess::log() const {
  return read_file(log_path_);
}

int DaemonProcess::wait_exit(std::chrono::milliseconds timeout) {
  return process_.wait_for(timeout);
}

}  // namespace confvisor::test
