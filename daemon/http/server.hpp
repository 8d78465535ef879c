// The opt-in HTTP endpoint of confvisord (`/confvisor/http`): a listener on the daemon's own
// loop that hands each accepted connection to a Connection, and refuses connections beyond
// Limits::max_connections at once (a 503 written without waiting, then closed), so that
// neither many clients nor slow ones hold supervision up.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "daemon/config/model.hpp"
#include "daemon/http/connection.hpp"
#include "daemon/http/exchange.hpp"
#include "daemon/http/limits.hpp"

namespace confvisor::http {

class Server {
 public:
  // Binds and listens at once: throws Error naming the address ("unable to listen on
  // 127.0.0.1:9187 (/confvisor/http/listen): Address already in use") if it cannot.
  Server(boost::asio::io_context& io, const config::HttpSettings& settings, Handler handler,
         const Limits& limits = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Where it listens, with the port the kernel chose for port 0: "127.0.0.1:40123".
  [[nodiscard]] const std::string& address() const { return address_; }
  // Connections refused because as many as the limit were open.
  [[nodiscard]] std::uint64_t refused() const { return refused_; }
  [[nodiscard]] std::size_t open_connections() const { return state_->open; }

  // Stops accepting; connections already open end as they would.
  void close();

 private:
  void accept();
  void on_accept(const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket);
  void refuse(boost::asio::ip::tcp::socket& socket);

  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<ServerState> state_;
  std::string address_;
  boost::asio::steady_timer accept_pause_;  // after running out of descriptors
  std::uint64_t refused_ = 0;
  std::uint64_t refused_unlogged_ = 0;  // since the last warning about it
  std::chrono::steady_clock::time_point refusal_logged_{};
  // Expires with the server: a completion queued before it was destroyed does nothing.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace confvisor::http
