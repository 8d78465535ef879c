// The real confvisord, run for a measurement. The bench plays its service manager: the
// daemon gets a NOTIFY_SOCKET the bench reads (sd_notify blocks a sender whose receiver
// never reads, so every wait here also drains it), its log goes to a file in the run's
// directory, and it is stopped with SIGTERM and reaped. It never outlives the bench: it gets
// PDEATHSIG=SIGKILL, the fatal-signal cleanup kills it first (cleanup.hpp), and the
// destructor SIGKILLs and reaps one that is still running. Its workers die with it (the
// daemon gives them PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bench/cleanup.hpp"
#include "bench/datagram_socket.hpp"
#include "bench/temp_dir.hpp"
#include "common/os/unique_fd.hpp"

namespace confvisor::bench {

// Generous bounds that only end a run that is stuck (a 2-CPU machine starting 100
// processes while others build takes seconds, not minutes).
inline constexpr std::chrono::seconds kDaemonStartTimeout{60};
inline constexpr std::chrono::seconds kDaemonStopTimeout{30};

class DaemonProcess {
 public:
  // Starts `binary --config CONFIG_PATH` in its own process group, with the bench's
  // environment minus anything of a real service manager (WATCHDOG_USEC would arm a timer:
  // no longer an idle daemon), plus NOTIFY_SOCKET. `segment` is the config's segment:
  // whatever the daemon leaves of it goes with `segment`. Throws std::runtime_error if it
  // cannot be started.
  DaemonProcess(const std::string& binary, const std::string& config_path, TempDir& dir,
                BenchSegment& segment);
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  // CLOCK_MONOTONIC just before the fork: where "time to start" figures begin.
  [[nodiscard]] std::int64_t spawned_ns() const { return spawned_ns_; }
  // For a caller's own poll(): readable when a notification is queued, and when the daemon
  // has exited.
  [[nodiscard]] int notify_fd() const { return notify_.fd(); }
  [[nodiscard]] int exit_fd() const { return pidfd_.get(); }

  // kill(2). Throws if the daemon is gone.
  void signal(int sig) const;

  // The next queued notification, without waiting.
  std::optional<Datagram> take_notification();

  // Waits for a notification that contains `needle` ("READY=1"), dropping others. Throws
  // (with the end of the daemon's log) if the daemon exits or `timeout` passes first.
  Datagram wait_notification(std::string_view needle, std::chrono::milliseconds timeout);

  // Sleeps for `duration` while watching the daemon: throws if it exits. Returns how many
  // notifications it sent meanwhile (they are drained).
  std::size_t watch(std::chrono::milliseconds duration);

  // Throws (with the end of the daemon's log) if the daemon has exited.
  void check_running();

  // SIGTERM, then waits for the exit (draining notifications). Throws if the daemon did not
  // exit within `timeout` (it is SIGKILLed then) or did not exit with code 0.
  void stop(std::chrono::milliseconds timeout);

  // Throws std::runtime_error: `what`, how the daemon ended if it did, and the last lines
  // of its log.
  [[noreturn]] void fail(const std::string& what);

 private:
  [[nodiscard]] std::string log_tail(std::size_t lines) const;
  bool try_reap();
  void kill_and_reap();

  std::string log_path_;
  DatagramListener notify_;
  std::int64_t spawned_ns_ = 0;
  pid_t pid_ = -1;
  UniqueFd pidfd_;  // pidfd_open(2): pollable exit
  KillOnSignal kill_on_signal_;
  std::optional<int> wait_status_;
};

}  // namespace confvisor::bench
