#include "daemon/core/service_notifier.hpp"

#include <errno.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdlib>
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
  if (const char* name = std::getenv("NOTIFY_SOCKET"); name != nullptr && *name != '\0')
    open_socket(name);
}

// NOTIFY_SOCKET names a path, or an abstract socket when it starts with '@', as in
// sd_notify(3). Anything else is reported once and notifications are off.
void ServiceNotifier::open_socket(const char* name) {
  name_ = name;
  const std::size_t length = name_.size();
  if ((name_[0] != '/' && name_[0] != '@') || length >= sizeof(address_.sun_path)) {
    log_warning("NOTIFY_SOCKET=" + name_ +
                " is not a socket path or @abstract name; not notifying the service manager");
    return;
  }
  address_.sun_family = AF_UNIX;
  std::memcpy(address_.sun_path, name_.data(), length);
  if (name_[0] == '@') address_.sun_path[0] = '\0';
  address_size_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);
  fd_ = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd_)
    log_warning("unable to notify the service manager: socket: " +
                std::string(std::strerror(errno)));
}

void ServiceNotifier::send(const std::string& message) {
  if (!fd_) return;
  const ssize_t sent =
      ::sendto(fd_.get(), message.data(), message.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
               reinterpret_cast<const sockaddr*>(&address_), address_size_);
  if (sent >= 0) {
    if (dropped_in_run_ > 0)
      log_warning("the service manager reads notifications again; " +
                  std::to_string(dropped_in_run_) + " were dropped while it did not");
    dropped_in_run_ = 0;
    return;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    if (dropped_in_run_++ == 0)
      log_warning("the service manager is not reading NOTIFY_SOCKET=" + name_ +
                  " (its queue is full); notifications are dropped until it reads");
    return;
  }
  log_warning("unable to notify the service manager: " + std::string(std::strerror(errno)));
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
