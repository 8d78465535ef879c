// A small HTTP/1.1 client over a plain TCP socket, for the tests of confvisord's HTTP
// endpoint: whole requests (one per connection, Connection: close), and raw connections for
// the faults a real client never makes (trickled headers, never reading, many at once).
// Every wait is bounded; a socket is closed when its object goes.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "common/os/unique_fd.hpp"

namespace confvisor::test {

struct HttpReply {
  int status = 0;                             // 0: no status line came
  std::map<std::string, std::string> fields;  // names lower-cased
  std::string body;
  [[nodiscard]] std::string field(const std::string& lower_case_name) const;
};

// "127.0.0.1:PORT" or "[::1]:PORT", as confvisord names where it listens.
class HttpConnection {
 public:
  // Connects; throws Error if it cannot. `receive_buffer` > 0 sets SO_RCVBUF first (a client
  // that reads slowly, or never).
  explicit HttpConnection(const std::string& address, int receive_buffer = 0);

  // Sends all of `bytes` (throws Error if the peer is gone).
  void send(const std::string& bytes) const;
  // Whether the peer has closed its end (end of file or a reset) within `timeout`, reading
  // and dropping whatever it sent before.
  [[nodiscard]] bool closed_within(std::chrono::milliseconds timeout) const;
  // Everything the peer sends until it closes, or until `timeout`.
  [[nodiscard]] std::string read_all(std::chrono::milliseconds timeout) const;
  [[nodiscard]] int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
};

// METHOD PATH over a new connection, and the reply read until the server closes (at most
// `timeout`). `extra` are further header lines, each ending in \r\n.
[[nodiscard]] HttpReply http_request(const std::string& address, const std::string& method,
                                     const std::string& path, const std::string& extra = "",
                                     std::chrono::milliseconds timeout = std::chrono::seconds(5));
[[nodiscard]] HttpReply http_get(const std::string& address, const std::string& path);

// The reply in `raw` (a status line, header fields, and the body after them).
[[nodiscard]] HttpReply parse_http_reply(const std::string& raw);

}  // namespace confvisor::test
