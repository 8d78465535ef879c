#include "daemon/supervise/ack_socket.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <cstring>

#include "common/ack/report_message.hpp"
#include "common/base/error.hpp"
#include "common/base/log.hpp"
#include "common/os/unique_fd.hpp"

namespace confvisor::supervise {

namespace {

// Packets one wakeup of a connection reads at most: a sender that never stops cannot hold
// the loop; the rest is read at the next turn.
constexpr int kPacketsPerWakeup = 64;
// How long an outsider's connection stays open when it sends nothing.
constexpr std::chrono::seconds kOutsiderLifetime{1};

UniqueFd listen_abstract(const std::string& address) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) throw_sys("create the workers' ack socket");
  const int on = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) {
    throw_sys("enable SO_PASSCRED on the workers' ack socket");
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // "@name" is the abstract namespace: a leading NUL byte, no trailing one.
  const std::string name = address.substr(1);
  if (name.size() + 1 > sizeof addr.sun_path) {
    throw Error("the ack socket's address " + address + " is too long");
  }
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    throw_sys("bind the workers' ack socket " + address);
  }
  if (::listen(fd.get(), SOMAXCONN) != 0) throw_sys("listen on the workers' ack socket");
  return fd;
}

pid_t peer_pid(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return 0;
  return cred.pid;
}

}  // namespace

// One worker process's connection. It reads packets until the peer hangs up; an outsider's
// (not `accepted`) is read once, then closed, or closed unread after kOutsiderLifetime.
class AckSocket::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(AckSocket& owner, UniqueFd fd, bool accepted)
      : owner_(owner),
        socket_(owner.io_, fd.release()),
        accepted_(accepted),
        lifetime_(owner.io_) {}

  [[nodiscard]] bool accepted() const { return accepted_; }

  void begin() {
    if (!accepted_) {
      lifetime_.expires_after(kOutsiderLifetime);
      lifetime_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (!ec && self) self->owner_.closed(self.get());  // destroys it
      });
    }
    wait();
  }

 private:
  void wait() {
    socket_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                       [weak = weak_from_this()](const boost::system::error_code& ec) {
                         auto self = weak.lock();
                         if (ec || !self) return;
                         if (self->receive() && self->accepted_) {
                           self->wait();
                         } else {
                           self->owner_.closed(self.get());  // destroys it
                         }
                       });
  }

 private:
  // Reads what is there; false once the peer has hung up.
  bool receive() {
    for (int n = 0; n < kPacketsPerWakeup; ++n) {
      char data[kMaxReportMessage + 1];
      iovec iov{data, sizeof data};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      const ssize_t got = ::recvmsg(socket_.native_handle(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
      if (got < 0) return errno == EAGAIN || errno == EINTR;
      if (got == 0) return false;  // hung up
      pid_t sender = 0;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
          ucred cred{};
          std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
          sender = cred.pid;
        }
      }
      // A packet longer than any report is passed on cut, one byte too long: malformed.
      owner_.handler_(sender, std::string(data, static_cast<std::size_t>(got)));
    }
    return true;
  }

  AckSocket& owner_;
  boost::asio::posix::stream_descriptor socket_;
  bool accepted_;
  boost::asio::steady_timer lifetime_;
};

AckSocket::AckSocket(boost::asio::io_context& io, const std::string& segment, Handler handler,
                     Accepts accepts)
    : io_(io),
      address_(ack_socket_address(segment, ::getpid())),
      handler_(std::move(handler)),
      accepts_(std::move(accepts)),
      listener_(io, listen_abstract(address_).release()) {
  wait();
}

AckSocket::~AckSocket() = default;

void AckSocket::wait() {
  listener_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                       [this](const boost::system::error_code& ec) {
                         if (ec) return;
                         accept_all();
                         wait();
                       });
}

void AckSocket::accept_all() {
  for (int n = 0; n < kPacketsPerWakeup; ++n) {
    UniqueFd fd(
        ::accept4(listener_.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) return;  // EAGAIN: none left (or a transient error: the next wakeup retries)
    const int on = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
    const pid_t peer = peer_pid(fd.get());
    const bool accepted = accepts_(peer);
    if (accepted ? connections_.size() - outsiders_ >= kMaxConnections
                 : outsiders_ >= kMaxOutsiders) {
      throttle_.warning("ack-full",
                        "ack socket: connection from pid " + std::to_string(peer) +
                            " closed: " + (accepted ? "the workers' " : "the outsiders' ") +
                            "connections are all in use");
      continue;
    }
    auto c = std::make_shared<Connection>(*this, std::move(fd), accepted);
    connections_.emplace(c.get(), c);
    if (!accepted) ++outsiders_;
    c->begin();
  }
}

void AckSocket::closed(Connection* c) {
  const auto it = connections_.find(c);
  if (it == connections_.end()) return;
  if (!c->accepted()) --outsiders_;
  connections_.erase(it);  // may destroy `c`
}

}  // namespace confvisor::supervise
