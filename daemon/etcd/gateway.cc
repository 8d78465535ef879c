#include "daemon/etcd/gateway.hpp"

#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/read.hpp>

namespace confvisor::etcd {
namespace asio = boost::asio;

namespace {

// Registers a channel as the one Gateway::interrupt() closes, for as long as it is in use.
class ActiveChannel {
 public:
  ActiveChannel(Channel*& slot, Channel& channel) : slot_(slot) { slot_ = &channel; }
  ~ActiveChannel() { slot_ = nullptr; }
  ActiveChannel(const ActiveChannel&) = delete;
  ActiveChannel& operator=(const ActiveChannel&) = delete;

 private:
  Channel*& slot_;
};

std::string excerpt(std::string_view body) {
  constexpr std::size_t kMax = 200;
  std::string text(body.substr(0, kMax));
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  return body.size() > kMax ? text + "..." : text;
}

}  // namespace

Gateway::Gateway(asio::any_io_executor executor, const SourceOptions& options)
    : executor_(std::move(executor)), options_(options) {
  for (const Endpoint& e : options_.endpoints) {
    if (e.tls()) {
      tls_ = make_tls_context(options_.tls);
      break;
    }
  }
}

void Gateway::interrupt() {
  if (active_ != nullptr) active_->close();
}

http::request<http::string_body> Gateway::request(std::string_view path,
                                                  const std::string& body) const {
  http::request<http::string_body> r{http::verb::post, path, 11};
  r.set(http::field::content_type, "application/json");
  r.set(http::field::user_agent, "confvisord");
  if (!token_.empty()) r.set(http::field::authorization, token_);
  r.body() = body;
  return r;
}

void Gateway::refuse(const Endpoint& endpoint, std::string_view path, unsigned status,
                     std::string_view body) {
  std::optional<GatewayError> error = decode_error_body(body);
  std::string message =
      "etcd " + endpoint.text() + ": " + std::string(path) + ": HTTP " + std::to_string(status);
  if (error) {
    message += ": " + error->message;
    // The next request authenticates again.
    if (is_auth_token_error(*error)) token_.clear();
  } else if (!body.empty()) {
    message += ": " + excerpt(body);
  }
  throw GatewayFailure(message, std::move(error), status);
}

asio::awaitable<http::response<http::string_body>> Gateway::exchange(Channel& channel,
                                                                     std::string_view path,
                                                                     const std::string& body) {
  auto r = request(path, body);
  co_await channel.send(r);
  co_return co_await channel.receive(options_.response_limit);
}

asio::awaitable<void> Gateway::ensure_token(const Endpoint& endpoint) {
  if (!options_.auth || !token_.empty()) co_return;
  Channel channel(executor_, endpoint, tls_.get());
  ActiveChannel active(active_, channel);
  channel.set_deadline(Clock::now() + options_.request_timeout);
  co_await channel.connect();
  const std::string body = authenticate_request(options_.auth->user, options_.auth->password);
  auto response = co_await exchange(channel, "/v3/auth/authenticate", body);
  if (response.result() != http::status::ok) {
    refuse(endpoint, "/v3/auth/authenticate", response.result_int(), response.body());
  }
  token_ = decode_authenticate_response(response.body());
}

asio::awaitable<std::string> Gateway::post(const Endpoint& endpoint, std::string_view path,
                                           const std::string& body) {
  // A second attempt only after etcd refused the token: a fresh one may be accepted.
  for (int attempt = 0;; ++attempt) {
    co_await ensure_token(endpoint);
    Channel channel(executor_, endpoint, tls_.get());
    ActiveChannel active(active_, channel);
    channel.set_deadline(Clock::now() + options_.request_timeout);
    co_await channel.connect();
    auto response = co_await exchange(channel, path, body);
    if (response.result() == http::status::ok) co_return std::move(response.body());
    try {
      refuse(endpoint, path, response.result_int(), response.body());
    } catch (const GatewayFailure& f) {
      if (attempt > 0 || !options_.auth || !f.gateway || !is_auth_token_error(*f.gateway)) throw;
    }
  }
}

WatchStream::WatchStream(Gateway& gateway, const Endpoint& endpoint)
    : gateway_(gateway), channel_(gateway.executor_, endpoint, gateway.tls_.get()) {
  gateway_.active_ = &channel_;
}

WatchStream::~WatchStream() {
  if (gateway_.active_ == &channel_) gateway_.active_ = nullptr;
}

asio::awaitable<void> WatchStream::open(const std::string& create_request,
                                        Clock::time_point deadline) {
  // etcd 3.4 answers a watch whose token it does not know with nothing at all, not an error:
  // a watch always starts with a fresh token (watches start seldom).
  gateway_.token_.clear();
  co_await gateway_.ensure_token(channel_.endpoint());
  gateway_.active_ = &channel_;
  channel_.set_deadline(deadline);
  co_await channel_.connect();
  auto r = gateway_.request("/v3/watch", create_request);
  co_await channel_.send(r);
  co_await channel_.receive_header(parser_);
  const unsigned status = parser_.get().result_int();
  if (status == 200) co_return;
  // An error: its body is short, read what fits in a small buffer.
  std::string body;
  char piece[4096];
  try {
    while (body.size() < sizeof piece) {
      const std::size_t n = co_await channel_.receive_some(parser_, piece, sizeof piece);
      body.append(piece, n);
    }
  } catch (const Error&) {
    // The end of the body, or the deadline: report what came.
  }
  gateway_.refuse(channel_.endpoint(), "/v3/watch", status, body);
}

asio::awaitable<std::string> WatchStream::next(Clock::time_point deadline) {
  channel_.set_deadline(deadline);
  char piece[16 * 1024];
  for (;;) {
    const std::size_t newline = pending_.find('\n');
    if (newline != std::string::npos) {
      std::string line = pending_.substr(0, newline);
      pending_.erase(0, newline + 1);
      if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
      co_return line;
    }
    if (pending_.size() > gateway_.options_.response_limit) {
      throw Error("etcd " + channel_.endpoint().text() + ": a watch message larger than " +
                  std::to_string(gateway_.options_.response_limit) + " bytes (the limit)");
    }
    const std::size_t n = co_await channel_.receive_some(parser_, piece, sizeof piece);
    pending_.append(piece, n);
  }
}

}  // namespace confvisor::etcd
