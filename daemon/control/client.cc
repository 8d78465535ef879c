#include "daemon/control/client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>

#include "common/base/error.hpp"
#include "daemon/control/protocol.hpp"

namespace confvisor::control {

namespace json = boost::json;
using Kind = ClientError::Kind;

Client::Client(std::string path) : path_(std::move(path)) {
  sockaddr_un addr{};
  if (path_.size() >= sizeof addr.sun_path) {
    throw Error("socket path " + path_ + " is longer than a Unix socket address holds");
  }
  fd_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd_) throw_sys("create a socket");
  addr.sun_family = AF_UNIX;
  path_.copy(addr.sun_path, sizeof addr.sun_path - 1);
  if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return;
  const int err = errno;
  if (err == ENOENT || err == ECONNREFUSED) {
    throw ClientError(Kind::not_running,
                      "confvisord is not running: " + sys_message("connect to " + path_, err));
  }
  if (err == EACCES || err == EPERM) {
    throw ClientError(Kind::denied,
                      "permission denied: " + sys_message("connect to " + path_, err) +
                          " (root, the daemon's user and its group may)");
  }
  throw ClientError(Kind::broken, sys_message("connect to " + path_, err));
}

json::object Client::call(const json::object& request, std::chrono::milliseconds timeout) {
  send_all(json::serialize(request) + "\n");
  return parse_reply(read_line(std::chrono::steady_clock::now() + timeout));
}

json::object Client::next_reply() {
  return parse_reply(read_line(std::nullopt));
}

json::object Client::parse_reply(const std::string& line) const {
  json::error_code ec;
  json::value reply = json::parse(line, ec);
  if (ec || !reply.is_object() || !reply.get_object().contains("ok")) {
    throw ClientError(Kind::broken,
                      "confvisord on " + path_ + " sent something that is not a reply");
  }
  return std::move(reply.get_object());
}

void Client::send_all(const std::string& line) {
  std::size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = ::send(fd_.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    // A daemon that refuses us writes why and hangs up, maybe before we are done sending:
    // read its reason rather than report our broken pipe.
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) return;
    if (n < 0) throw ClientError(Kind::broken, sys_message("send to " + path_));
    sent += static_cast<std::size_t>(n);
  }
}

std::string Client::read_line(std::optional<std::chrono::steady_clock::time_point> deadline) {
  for (;;) {
    if (auto nl = pending_.find('\n'); nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    int wait_ms = -1;
    if (deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          *deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        throw ClientError(Kind::timeout, "no reply from confvisord on " + path_ + " in time");
      wait_ms = static_cast<int>(std::min<long long>(left.count(), 1 << 30));
    }
    pollfd p{fd_.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw_sys("wait for confvisord's reply");
    if (ready == 0) continue;  // the deadline check above ends it
    char buf[16 * 1024];
    const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ClientError(Kind::broken, sys_message("read from " + path_));
    if (n == 0)
      throw ClientError(Kind::broken,
                        "confvisord closed the connection on " + path_ + " without a reply");
    pending_.append(buf, static_cast<std::size_t>(n));
    if (pending_.size() > 64u << 20)
      throw ClientError(Kind::broken, "reply from " + path_ + " is too long");
  }
}

}  // namespace confvisor::control
