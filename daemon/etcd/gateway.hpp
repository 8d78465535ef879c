// Requests to an etcd cluster's JSON gateway, one connection per request, for coroutines on
// an io_context: POST a JSON body and get a 200 response's body, or open a watch stream and
// read its messages. Both bound time (deadlines) and size (SourceOptions::response_limit), sign
// requests with the auth token (authenticating first, and again once when etcd says the token
// is no longer valid), and fail with GatewayFailure naming the endpoint and what went wrong.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/error.hpp"
#include "daemon/etcd/channel.hpp"
#include "daemon/etcd/gateway_json.hpp"
#include "daemon/etcd/source.hpp"

namespace confvisor::etcd {

// A request that failed; `gateway` is etcd's own error when the gateway answered with one,
// `http_status` the response's status (0 inside a stream).
class GatewayFailure : public Error {
 public:
  GatewayFailure(const std::string& message, std::optional<GatewayError> gateway,
                 unsigned http_status = 0)
      : Error(message), gateway(std::move(gateway)), http_status(http_status) {}
  std::optional<GatewayError> gateway;
  unsigned http_status;
};

class Gateway {
 public:
  // `options` must outlive the gateway.
  Gateway(boost::asio::any_io_executor executor, const SourceOptions& options);

  // POSTs `body` to `path` ("/v3/kv/range") within request_timeout; the 200 response's body.
  boost::asio::awaitable<std::string> post(const Endpoint& endpoint, std::string_view path,
                                           const std::string& body);
  // Closes the connection in use, if any: its pending operation fails with an Error.
  void interrupt();

 private:
  friend class WatchStream;
  boost::asio::awaitable<void> ensure_token(const Endpoint& endpoint);
  boost::asio::awaitable<http::response<http::string_body>> exchange(Channel& channel,
                                                                     std::string_view path,
                                                                     const std::string& body);
  http::request<http::string_body> request(std::string_view path, const std::string& body) const;
  [[noreturn]] void refuse(const Endpoint& endpoint, std::string_view path, unsigned status,
                           std::string_view body);

  boost::asio::any_io_executor executor_;
  const SourceOptions& options_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::string token_;  // empty until authenticated
  Channel* active_ = nullptr;
};

// A /v3/watch stream: one create_request, then one message per line until it ends.
class WatchStream {
 public:
  WatchStream(Gateway& gateway, const Endpoint& endpoint);
  ~WatchStream();
  WatchStream(const WatchStream&) = delete;
  WatchStream& operator=(const WatchStream&) = delete;

  // Connects and sends `create_request`, with the response's header due by `deadline`.
  boost::asio::awaitable<void> open(const std::string& create_request, Clock::time_point deadline);
  // The next message, due by `deadline` (else an Error saying the watch was silent).
  boost::asio::awaitable<std::string> next(Clock::time_point deadline);

 private:
  Gateway& gateway_;
  Channel channel_;
  http::response_parser<http::buffer_body> parser_;
  std::string pending_;  // bytes received after the last complete line
};

}  // namespace confvisor::etcd
