#include "tests/support/notify_socket.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/base/error.hpp"
#include "tests/support/fd_wait.hpp"

namespace confvisor::test {

namespace {

constexpr std::size_t kMaxDatagram = 4096;  // sd_notify messages and reports are far smaller

bool fill_address(const char* path, sockaddr_un& addr) {
  const std::size_t length = std::strlen(path);
  if (length >= sizeof addr.sun_path) return false;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path, length + 1);
  return true;
}

// steady_clock is CLOCK_MONOTONIC on Linux: one clock for every process of the machine, so
// this compares with what a worker or the daemon stamps.
std::int64_t monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

NotifySocket::NotifySocket(std::string path) : path_(std::move(path)) {
  sockaddr_un addr{};
  if (!fill_address(path_.c_str(), addr)) {
    throw Error("socket path too long for a Unix address: " + path_);
  }
  fd_ = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd_) throw_sys("create a socket");
  if (::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    throw_sys("bind " + path_);
  }
}

NotifySocket::~NotifySocket() {
  ::unlink(path_.c_str());
}

std::optional<Datagram> NotifySocket::try_receive() {
  char buf[kMaxDatagram];
  for (;;) {
    const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n >= 0) return Datagram{std::string(buf, static_cast<std::size_t>(n)), monotonic_ns()};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
    throw_sys("receive on " + path_);
  }
}

std::string NotifySocket::receive(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (std::optional<Datagram> d = try_receive()) return d->text;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return {};
    (void)wait_readable({fd_.get()}, left);
  }
}

bool send_datagram(const char* path, std::string_view message) {
  sockaddr_un addr{};
  if (!fill_address(path, addr)) {
    errno = ENAMETOOLONG;
    return false;
  }
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ssize_t sent;
  while ((sent = ::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL,
                          reinterpret_cast<const sockaddr*>(&addr), sizeof addr)) < 0 &&
         errno == EINTR) {
  }
  const int saved = errno;  // what sendto said, not what close says
  ::close(fd);
  errno = saved;
  return sent == static_cast<ssize_t>(message.size());
}

}  // namespace confvisor::test
