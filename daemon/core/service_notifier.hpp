// The systemd notification protocol (sd_notify), a no-op when not started by systemd (no
// NOTIFY_SOCKET). The watchdog interval is what the service manager asked for, if anything.
//
// Messages are sent without blocking. libsystemd's sd_notify waits in sendmsg while the
// manager's queue is full, so a manager that is stopped or never reads would freeze the event
// loop. Here such a message is dropped instead: a run of drops is logged when it starts, and
// again with its count when a message goes through.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/os/unique_fd.hpp"

namespace confvisor::daemon {

class ServiceNotifier {
 public:
  ServiceNotifier();

  void ready(std::string_view status);
  // RELOADING=1 with MONOTONIC_USEC, as Type=notify-reload expects.
  void reloading(std::string_view status);
  void status(std::string_view status);
  void stopping(std::string_view status);
  void watchdog();

  // Half of WATCHDOG_USEC if the manager wants pings (systemd's recommendation), else none.
  [[nodiscard]] std::optional<std::chrono::microseconds> watchdog_period() const { return period_; }

 private:
  void open_socket(const char* name);
  void send(const std::string& message);

  std::optional<std::chrono::microseconds> period_;
  UniqueFd fd_;
  sockaddr_un address_{};
  socklen_t address_size_ = 0;
  std::string name_;
  std::uint64_t dropped_in_run_ = 0;
};

}  // namespace confvisor::daemon
