#include "bench/datagram_socket.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "bench/clock.hpp"

namespace confvisor::bench {

namespace {

constexpr std::size_t kMaxDatagram = 4096;  // sd_notify messages and reports are far smaller

bool fill_address(const char* path, sockaddr_un& addr) {
  const std::size_t length = std::strlen(path);
  if (length >= sizeof addr.sun_path) return false;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path, length + 1);
  return true;
}

}  // namespace

DatagramListener::DatagramListener(std::string path) : path_(std::move(path)) {
  sockaddr_un addr{};
  if (!fill_address(path_.c_str(), addr)) {
    throw std::runtime_error("socket path too long for a Unix address: " + path_);
  }
  fd_ = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd_)
    throw std::runtime_error(std::string("unable to create a socket: ") + std::strerror(errno));
  if (::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("unable to bind " + path_ + ": " + std::strerror(errno));
  }
}

DatagramListener::~DatagramListener() {
  ::unlink(path_.c_str());
}

std::optional<Datagram> DatagramListener::try_receive() {
  char buf[kMaxDatagram];
  for (;;) {
    const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n >= 0) return Datagram{std::string(buf, static_cast<std::size_t>(n)), monotonic_ns()};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
    throw std::runtime_error("unable to receive on " + path_ + ": " + std::strerror(errno));
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
  const int saved = errno;
  ::close(fd);
  errno = saved;
  return sent == static_cast<ssize_t>(message.size());
}

}  // namespace confvisor::bench
