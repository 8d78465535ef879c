// One HTTP/1.1 connection to one etcd endpoint, plain TCP or TLS, for coroutines on an
// io_context. Every operation runs against a deadline (set_deadline) and fails with an Error
// naming the endpoint and the step; close() from the loop ends whatever is pending at once.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "daemon/etcd/endpoint.hpp"
#include "daemon/etcd/source.hpp"

namespace confvisor::etcd {

namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

// The TLS settings of https endpoints: verify the server against `tls.ca` (or the system's
// CAs), present `tls.cert` and `tls.key` if given. Throws Error naming the file that fails.
[[nodiscard]] std::shared_ptr<boost::asio::ssl::context> make_tls_context(
    const std::optional<Tls>& tls);

class Channel {
 public:
  // `tls` must outlive the channel; it is required for an https endpoint.
  Channel(boost::asio::any_io_executor executor, Endpoint endpoint, boost::asio::ssl::context* tls);
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  [[nodiscard]] const Endpoint& endpoint() const { return endpoint_; }
  // Operations started after this fail with a timeout at `deadline`, pending ones too.
  void set_deadline(Clock::time_point deadline);

  // Resolves, connects and, for https, does the TLS handshake (with the host's name checked).
  boost::asio::awaitable<void> connect();
  boost::asio::awaitable<void> send(http::request<http::string_body>& request);
  // A whole response whose body is at most `limit` bytes.
  boost::asio::awaitable<http::response<http::string_body>> receive(std::size_t limit);
  // A streamed response: its header first, then its body in pieces.
  boost::asio::awaitable<void> receive_header(http::response_parser<http::buffer_body>& parser);
  // Reads body bytes into `buffer` (at most `size`); returns how many (0 when only framing
  // came). The end of the body is an Error: a stream that ends is a dropped stream.
  boost::asio::awaitable<std::size_t> receive_some(http::response_parser<http::buffer_body>& parser,
                                                   char* buffer, std::size_t size);
  // Cancels every pending operation and closes the connection; they fail with Error.
  void close();

 private:
  [[noreturn]] void fail(std::string_view step, const boost::system::error_code& ec) const;
  boost::beast::tcp_stream& tcp();

  Endpoint endpoint_;
  boost::asio::any_io_executor executor_;
  boost::asio::ssl::context* tls_context_;
  std::optional<boost::beast::tcp_stream> plain_;
  std::optional<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls_;
  boost::beast::flat_buffer buffer_;
  Clock::time_point deadline_ = Clock::time_point::max();
  bool closed_ = false;
};

}  // namespace confvisor::etcd
