#include "daemon/core/service_notifier.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstring>
#include <string>

#include "common/base/log.hpp"

namespace confvisor::daemon {

namespace {
std::string status_line(std::string_view status) {
  return "STATUS=" + std::string(status);
}

std::uint64_t monotonic_usec() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1'000u;
}
}  // namespace

ServiceNotifier::ServiceNotifier() {
  std::uint64_t usec = 0;
  if (::sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    period_ = std::chrono::microseconds(usec / 2);
  }
}

void ServiceNotifier::send(const std::string& message) {
  int rc = ::sd_notify(0, message.c_str());
  if (rc < 0)
    log_warning("unable to notify the service manager: " + std::string(std::strerror(-rc)));
}

void ServiceNotifier::ready(std::string_view status) {
  send("READY=1\n" + status_line(status));
}

void ServiceNotifier::reloading(std::string_view status) {
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()) + "\n" +
       status_line(status));
}

void ServiceNotifier::status(std::string_view status) {
  send(status_line(status));
}

void ServiceNotifier::stopping(std::string_view status) {
  send("STOPPING=1\n" + status_line(status));
}

void ServiceNotifier::watchdog() {
  send("WATCHDOG=1");
}

}  // namespace confvisor::daemon
