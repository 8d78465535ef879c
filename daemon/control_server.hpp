// The daemon's control socket: a Unix stream listener on the event loop. Each connection is
// checked against ControlAccess by its peer credentials, then reads request lines one at a
// time and hands each to the handler; the next line is read once the reply has been written,
// so replies come in request order and a slow command (restart) holds only its own client.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "control_protocol.hpp"
#include "peer_credentials.hpp"

namespace confvisor::daemon {

class ControlServer {
 public:
  // Sends one reply line; callable once, from the loop, at any later time (a reply to a
  // connection that has gone is dropped).
  using Reply = std::function<void(const std::string& line)>;
  using Handler = std::function<void(const control::Request&, const PeerCredentials&, Reply)>;

  // Binds `path` (mode 0660, group access.group), creating its directory if missing and
  // replacing a stale socket a crashed daemon left. Throws Error if a live daemon answers on
  // it or the path is something else.
  ControlServer(boost::asio::io_context& io, std::string path, ControlAccess access,
                Handler handler);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Stops accepting, drops every connection and removes the socket file.
  void close();
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  class Connection;
  friend class Connection;

  void accept();
  void admit(boost::asio::local::stream_protocol::socket socket);

  std::string path_;
  ControlAccess access_;
  Handler handler_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  boost::asio::steady_timer retry_;  // after a failed accept
  std::set<std::shared_ptr<Connection>> connections_;
  bool closed_ = false;
};

}  // namespace confvisor::daemon
