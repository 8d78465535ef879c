// confvisorctl's end of the control socket: one connection, requests answered in order.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "common/os/unique_fd.hpp"
#include "confvisor/error.hpp"

namespace confvisor::control {

class ClientError : public Error {
 public:
  enum class Kind {
    not_running,  // nothing listens on the socket (no file, connection refused)
    denied,       // the socket's permissions or the daemon's credential check refused us
    timeout,      // no reply in time
    broken,       // the daemon hung up or answered something that is not a reply
  };
  ClientError(Kind kind, const std::string& message) : Error(message), kind(kind) {}
  Kind kind;
};

class Client {
 public:
  // Connects to the daemon's socket at `path`; throws ClientError.
  explicit Client(std::string path);

  // Sends `request` and returns the daemon's reply object (with "ok", and "result" or
  // "error"); throws ClientError if none comes within `timeout`.
  [[nodiscard]] boost::json::object call(const boost::json::object& request,
                                         std::chrono::milliseconds timeout);
  // The next reply line of a stream (control/protocol.hpp), however long it takes; throws
  // ClientError when the daemon hangs up.
  [[nodiscard]] boost::json::object next_reply();

 private:
  void send_all(const std::string& line);
  [[nodiscard]] boost::json::object parse_reply(const std::string& line) const;
  // Without a deadline it waits as long as it takes.
  [[nodiscard]] std::string read_line(
      std::optional<std::chrono::steady_clock::time_point> deadline);

  std::string path_;
  UniqueFd fd_;
  std::string pending_;  // read past the last line
};

}  // namespace confvisor::control
