// The real confvisord, run by a test or by the benchmark, which play its service manager: it
// gets a NOTIFY_SOCKET they read, so that they wait for its own READY/RELOADING messages
// instead of sleeping, its stderr goes to a log file in their directory, and it starts as a
// service manager starts a service (its own process group, stdin from /dev/null, nothing of
// a real service manager's environment). It never outlives them: it is SIGKILLed by the
// kernel if they die (PR_SET_PDEATHSIG), and SIGKILLed and reaped by the destructor if it is
// still running. Its workers die with it (the daemon gives them PR_SET_PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/notify_socket.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_support.hpp"

namespace confvisor::test {

struct DaemonOptions {
  // Applied to the daemon's environment after ours: "NAME=VALUE" sets, a bare "NAME" removes.
  std::vector<std::string> env{};
  // build/bin/confvisord unless a test needs seams_bin("confvisord").
  std::string program = bin("confvisord");
  // A cgroup2 directory the daemon starts in, as systemd starts a unit's main process in the
  // unit's; empty: ours.
  std::string cgroup{};
  // --log-level LEVEL; empty: the daemon's default.
  std::string log_level = "debug";
};

class DaemonProcess {
 public:
  // Starts `program --config CONFIG_PATH`. Throws Error if it cannot be started.
  DaemonProcess(const TempDir& dir, const std::string& config_path, const DaemonOptions& options);
  // The same with DaemonOptions{extra_env, program, cgroup}.
  DaemonProcess(const TempDir& dir, const std::string& config_path,
                const std::vector<std::string>& extra_env = {},
                const std::string& program = bin("confvisord"), const std::string& cgroup = {});
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  [[nodiscard]] pid_t pid() const { return process_.pid(); }
  // CLOCK_MONOTONIC just before the fork, in ns: where "time to start" figures begin.
  [[nodiscard]] std::int64_t spawned_ns() const;
  // For a caller's own poll(): readable when a notification is queued, and once the daemon
  // has exited.
  [[nodiscard]] int notify_fd() const { return notify_.fd(); }
  [[nodiscard]] int exit_fd() const { return process_.exit_fd(); }

  // kill(2); false if the daemon has exited and been reaped (its pid may be another's).
  bool signal(int sig) const;

  // The next queued notification, without waiting. Every notification taken off the socket,
  // by this or by any wait below, is kept in notifications().
  std::optional<Datagram> take_notification();
  // Takes whatever has arrived, without waiting; returns how many. A service manager always
  // reads its socket: once its queue is full the daemon drops notifications, and a wait for
  // one would miss it.
  std::size_t drain_notifications();
  // Waits for a notification containing `needle`; nullopt if `timeout` passes or the daemon
  // exits first.
  std::optional<Datagram> next_notification(std::string_view needle,
                                            std::chrono::milliseconds timeout);
  // next_notification's text, or "".
  std::string wait_notify(std::string_view needle,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // next_notification, or fail().
  Datagram require_notification(std::string_view needle, std::chrono::milliseconds timeout);
  [[nodiscard]] const std::vector<std::string>& notifications() const { return received_; }

  // Sleeps for `duration` while watching the daemon; fail() if it exits. Returns how many
  // notifications it sent meanwhile.
  std::size_t watch(std::chrono::milliseconds duration);
  // fail() if the daemon has exited.
  void check_running();

  // Waits for the exit; returns the raw wait status (SIGKILLs after `timeout`).
  int wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // SIGTERM, then waits for the exit, reading notifications meanwhile. fail() if the daemon
  // did not exit within `timeout` (it is SIGKILLed then) or did not exit with code 0.
  void stop(std::chrono::milliseconds timeout);

  // The daemon's stderr so far, whole or its last `lines` lines.
  [[nodiscard]] std::string log() const;
  [[nodiscard]] std::string log_tail(std::size_t lines) const;
  // Throws Error: `what`, how the daemon ended if it did, and the end of its log.
  [[noreturn]] void fail(const std::string& what);

 private:
  std::string log_path_;
  NotifySocket notify_;
  std::vector<std::string> received_;
  Child process_;
};

// Reads a whole file ("" if missing).
[[nodiscard]] std::string read_file(const std::string& path);

}  // namespace confvisor::test
