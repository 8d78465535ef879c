#include "tests/support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

#include "common/base/error.hpp"

namespace confvisor::test {

namespace {

using Clock = std::chrono::steady_clock;

// The socket address of "HOST:PORT" or "[HOST6]:PORT".
sockaddr_storage address_of(const std::string& text, socklen_t& length) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos) throw Error("no port in " + text);
  std::string host = text.substr(0, colon);
  const int port = std::stoi(text.substr(colon + 1));
  sockaddr_storage storage{};
  if (host.size() >= 2 && host.front() == '[') {
    host = host.substr(1, host.size() - 2);
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<std::uint16_t>(port));
    if (::inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) != 1) throw Error("bad " + text);
    length = sizeof *in6;
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&storage);
    in4->sin_family = AF_INET;
    in4->sin_port = htons(static_cast<std::uint16_t>(port));
    if (::inet_pton(AF_INET, host.c_str(), &in4->sin_addr) != 1) throw Error("bad " + text);
    length = sizeof *in4;
  }
  return storage;
}

// Milliseconds left until `deadline`, at least 0.
int left_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<std::int64_t>(0, left.count()));
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

std::string HttpReply::field(const std::string& lower_case_name) const {
  const auto it = fields.find(lower_case_name);
  return it == fields.end() ? std::string() : it->second;
}

HttpConnection::HttpConnection(const std::string& address, int receive_buffer) {
  socklen_t length = 0;
  const sockaddr_storage peer = address_of(address, length);
  fd_ = UniqueFd(::socket(peer.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd_) throw_sys("create a socket");
  if (receive_buffer > 0 &&
      ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer) != 0)
    throw_sys("set SO_RCVBUF");
  if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&peer), length) != 0)
    throw_sys("connect to " + address);
}

void HttpConnection::send(const std::string& bytes) const {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_.get(), bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys("send to the HTTP endpoint");
    sent += static_cast<std::size_t>(n);
  }
}

std::string HttpConnection::read_all(std::chrono::milliseconds timeout) const {
  const auto deadline = Clock::now() + timeout;
  std::string out;
  for (;;) {
    pollfd p{fd_.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, left_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return out;
    char buffer[65536];
    const ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

bool HttpConnection::closed_within(std::chrono::milliseconds timeout) const {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    pollfd p{fd_.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, left_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    char buffer[65536];
    const ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
    if (n < 0) return false;
  }
}

HttpReply parse_http_reply(const std::string& raw) {
  HttpReply reply;
  const std::size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos || !raw.starts_with("HTTP/1.")) return reply;
  const std::size_t first_space = raw.find(' ');
  reply.status = std::stoi(raw.substr(first_space + 1, 3));
  std::size_t at = raw.find("\r\n") + 2;
  while (at < end) {
    const std::size_t next = raw.find("\r\n", at);
    const std::string line = raw.substr(at, next - at);
    const std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::size_t value = colon + 1;
      while (value < line.size() && line[value] == ' ') ++value;
      reply.fields[lower(line.substr(0, colon))] = line.substr(value);
    }
    at = next + 2;
  }
  reply.body = raw.substr(end + 4);
  return reply;
}

HttpReply http_request(const std::string& address, const std::string& method,
                       const std::string& path, const std::string& extra,
                       std::chrono::milliseconds timeout) {
  HttpConnection connection(address);
  connection.send(method + " " + path + " HTTP/1.1\r\nHost: " + address +
                  "\r\nConnection: close\r\n" + extra + "\r\n");
  return parse_http_reply(connection.read_all(timeout));
}

HttpReply http_get(const std::string& address, const std::string& path) {
  return http_request(address, "GET", path);
}

}  // namespace confvisor::test
