#include "worker/report_sender.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "common/os/unique_fd.hpp"

namespace confvisor {

namespace {

struct Connection {
  std::mutex mu;
  UniqueFd fd;
  pid_t owner = 0;  // the process that connected it: a forked child connects anew
  std::string address;
};

Connection& connection() {
  static Connection* c = new Connection();  // never destroyed: reports may come at exit
  return *c;
}

// A non-blocking SOCK_SEQPACKET connection to the abstract address "@NAME", or the errno.
int connect_to(const std::string& address, UniqueFd& out) {
  if (address.size() < 2 || address[0] != '@' || address.size() > sizeof(sockaddr_un::sun_path)) {
    return EINVAL;
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return errno;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, address.data() + 1, address.size() - 1);
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) return errno;
  out = std::move(fd);
  return 0;
}

int send_on(int fd, const std::string& packet) {
  const ssize_t n = ::send(fd, packet.data(), packet.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  return n == static_cast<ssize_t>(packet.size()) ? 0 : (n < 0 ? errno : EMSGSIZE);
}

bool connection_lost(int error) {
  return error == EPIPE || error == ECONNRESET || error == ENOTCONN || error == ECONNREFUSED;
}

}  // namespace

SendOutcome send_report(const ReportMessage& report) {
  const char* address = std::getenv(kAckSocketVariable);
  if (address == nullptr || *address == '\0') return {ReportResult::unsupervised, 0};
  const std::string packet = encode_report(report);
  Connection& c = connection();
  std::lock_guard lock(c.mu);
  const pid_t self = ::getpid();
  int error = 0;
  // A connection kept from before: the daemon may have closed it since (it restarted), so
  // one failed send connects again and retries once.
  if (c.fd && c.owner == self && c.address == address) {
    error = send_on(c.fd.get(), packet);
    if (error == 0) return {ReportResult::sent, 0};
    if (!connection_lost(error)) return {ReportResult::dropped, error};
  }
  c.fd.reset();
  c.address = address;
  c.owner = self;
  error = connect_to(c.address, c.fd);
  if (error == 0) error = send_on(c.fd.get(), packet);
  if (error == 0) return {ReportResult::sent, 0};
  if (connection_lost(error)) c.fd.reset();
  return {ReportResult::dropped, error};
}

}  // namespace confvisor
