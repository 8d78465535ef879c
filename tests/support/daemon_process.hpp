// Runs the real confvisord for a test: its own temp dir, its stderr captured to a file, and
// a NOTIFY_SOCKET the test listens on, so tests wait for the daemon's own READY/RELOADING
// messages instead of sleeping. Everything is killed and removed pass or fail.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/os/unique_fd.hpp"
#include "tests/support/test_support.hpp"

namespace confvisor::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }
  // Writes `content` to path()/name (atomically, by rename) and returns the full path.
  std::string write(std::string_view name, std::string_view content) const;

 private:
  std::string path_;
};

// A datagram socket speaking the receiving end of sd_notify.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path);
  ~NotifySocket();
  [[nodiscard]] const std::string& path() const { return path_; }
  // The next datagram, or "" after `timeout`.
  std::string receive(std::chrono::milliseconds timeout);

 private:
  std::string path_;
  UniqueFd fd_;
};

class DaemonProcess {
 public:
  // Runs `program` (build/bin/confvisord unless a test needs seams_bin("confvisord")). With
  // `cgroup` (a cgroup2 directory), the daemon starts in that cgroup, as systemd starts a
  // unit's main process in the unit's.
  DaemonProcess(const TempDir& dir, const std::string& config_path,
                const std::vector<std::string>& extra_env = {},
                const std::string& program = bin("confvisord"), const std::string& cgroup = {});
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  [[nodiscard]] pid_t pid() const { return process_.pid(); }
  void signal(int sig) const;
  // Waits for a notification containing `needle`; returns it, or "" on timeout. Every
  // message received meanwhile is kept in notifications().
  std::string wait_notify(std::string_view needle,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));
  [[nodiscard]] const std::vector<std::string>& notifications() const { return received_; }
  // Receives whatever has arrived, without waiting. A service manager always reads its
  // socket; a test that does not would block the daemon in sd_notify once the queue fills.
  void drain_notifications();
  // The daemon's stderr so far.
  [[nodiscard]] std::string log() const;
  // Waits for the exit; returns the raw wait status (SIGKILLs after `timeout`).
  int wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  std::string log_path_;
  NotifySocket notify_;
  std::vector<std::string> received_;
  Child process_;
};

// Reads a whole file ("" if missing).
[[nodiscard]] std::string read_file(const std::string& path);

}  // namespace confvisor::test
