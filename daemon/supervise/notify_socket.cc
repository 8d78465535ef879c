#include "daemon/supervise/notify_socket.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "common/base/error.hpp"
#include "common/os/unique_fd.hpp"

namespace confvisor::supervise {

namespace {

UniqueFd bind_abstract(const std::string& address) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) throw_sys("create the workers' notify socket");
  const int on = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) {
    throw_sys("enable SO_PASSCRED on the workers' notify socket");
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // "@name" is the abstract namespace: a leading NUL byte, no trailing one.
  const std::string name = address.substr(1);
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    throw_sys("bind the workers' notify socket " + address);
  }
  return fd;
}

}  // namespace

NotifySocket::NotifySocket(boost::asio::io_context& io, const std::string& segment, Handler handler)
    : address_("@confvisor/" + segment + "/notify/" + std::to_string(::getpid())),
      handler_(std::move(handler)),
      socket_(io, bind_abstract(address_).release()) {
  wait();
}

NotifySocket::~NotifySocket() = default;

void NotifySocket::wait() {
  socket_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                     [this](const boost::system::error_code& ec) {
                       if (ec) return;
                       receive_all();
                       wait();
                     });
}

void NotifySocket::receive_all() {
  for (;;) {
    char data[4096];
    iovec iov{data, sizeof data};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(socket_.native_handle(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) return;  // EAGAIN: drained
    pid_t sender = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
        ucred cred{};
        std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
        sender = cred.pid;
      }
    }
    if (sender > 0) handler_(sender, std::string(data, static_cast<std::size_t>(n)));
  }
}

}  // namespace confvisor::supervise
