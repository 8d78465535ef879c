// One accepted HTTP/1.1 connection: reads a request within the request timeout, answers it
// through the handler, writes the response within the write timeout, and goes on with the
// next request while the client keeps the connection alive (up to the connection's
// lifetime and request count). Every error closes it; nothing of it ever blocks the loop.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "daemon/http/exchange.hpp"
#include "daemon/http/limits.hpp"

namespace confvisor::http {

// What the server and its connections share; it outlives the server while a connection
// still holds it.
struct ServerState {
  Handler handler;
  Limits limits;
  std::size_t open = 0;  // connections open now
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::ip::tcp::socket socket, std::shared_ptr<ServerState> state);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();

 private:
  using Parser = boost::beast::http::request_parser<boost::beast::http::empty_body>;
  using Reply = boost::beast::http::response<boost::beast::http::string_body>;

  void read_request();
  void on_header(const boost::system::error_code& ec);
  // Answers a request whose headers were read; sets `keep_alive` if the connection may go on
  // with another request after it.
  [[nodiscard]] Reply answer(const Parser::value_type& request, bool& keep_alive);
  void send(Reply reply, bool keep_alive);
  void on_written(const boost::system::error_code& ec, bool keep_alive);
  void close(const std::string& why);
  // The earlier of now + `timeout` and the end of the connection's lifetime.
  [[nodiscard]] std::chrono::steady_clock::time_point deadline(
      std::chrono::milliseconds timeout) const;

  boost::beast::tcp_stream stream_;
  std::shared_ptr<ServerState> state_;
  std::string peer_;  // "127.0.0.1:51234", for log lines
  std::chrono::steady_clock::time_point accepted_;
  boost::beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  std::optional<Reply> reply_;  // being written
  unsigned served_ = 0;
};

// "127.0.0.1:9187", "[::1]:9187".
[[nodiscard]] std::string endpoint_text(const boost::asio::ip::tcp::endpoint& endpoint);

// A Reply as the endpoint sends every one: the handler's response and the fields every
// response carries (no caching, no content sniffing).
[[nodiscard]] boost::beast::http::response<boost::beast::http::string_body> make_reply(
    const Response& response, unsigned version, bool head);

}  // namespace confvisor::http
