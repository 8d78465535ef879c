// The systemd notification protocol (sd_notify), a no-op when not started by systemd (no
// NOTIFY_SOCKET). The watchdog interval is what the service manager asked for, if anything.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

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
  void send(const std::string& message);
  std::optional<std::chrono::microseconds> period_;
};

}  // namespace confvisor::daemon
