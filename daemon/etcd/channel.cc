#include "daemon/etcd/channel.hpp"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "common/base/error.hpp"

namespace confvisor::etcd {
namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// etcd's response headers are a few hundred bytes.
constexpr std::uint32_t kHeaderLimit = 16 * 1024;
// Beast reads at most what the buffer has room for (and at least 512 bytes): room for this
// much lets one read take a large watch message or page whole instead of in 512-byte pieces.
constexpr std::size_t kReadRoom = 64 * 1024;

std::string ssl_error_text(const boost::system::error_code& ec) {
  std::string text = ec.message();
  if (ec.category() == asio::error::get_ssl_category()) {
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    if (reason != nullptr && text.find(reason) == std::string::npos)
      text += std::string(" (") + reason + ")";
  }
  return text;
}

}  // namespace

std::shared_ptr<asio::ssl::context> make_tls_context(const std::optional<Tls>& tls) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1);
  context->set_verify_mode(asio::ssl::verify_peer);
  boost::system::error_code ec;
  const auto check = [&](std::string_view what, const std::string& file) {
    if (ec)
      throw Error("etcd TLS: cannot load the " + std::string(what) + " " + file + ": " +
                  ssl_error_text(ec));
  };
  if (tls && !tls->ca.empty()) {
    context->load_verify_file(tls->ca, ec);
    check("CA file", tls->ca);
  } else {
    context->set_default_verify_paths(ec);
    check("system CAs", "");
  }
  if (tls && (tls->cert.empty() != tls->key.empty())) {
    throw Error("etcd TLS: a client certificate needs its key and a key its certificate");
  }
  if (tls && !tls->cert.empty()) {
    context->use_certificate_chain_file(tls->cert, ec);
    check("client certificate", tls->cert);
    context->use_private_key_file(tls->key, asio::ssl::context::pem, ec);
    check("client key", tls->key);
  }
  return context;
}

Channel::Channel(asio::any_io_executor executor, Endpoint endpoint, asio::ssl::context* tls)
    : endpoint_(std::move(endpoint)), executor_(std::move(executor)), tls_context_(tls) {
  buffer_.reserve(kReadRoom);
  if (endpoint_.tls()) {
    if (tls_context_ == nullptr)
      throw Error("etcd " + endpoint_.text() + ": https needs TLS settings");
    tls_.emplace(executor_, *tls_context_);
  } else {
    plain_.emplace(executor_);
  }
}

beast::tcp_stream& Channel::tcp() {
  return tls_ ? beast::get_lowest_layer(*tls_) : *plain_;
}

void Channel::set_deadline(Clock::time_point deadline) {
  deadline_ = deadline;
  tcp().expires_at(deadline);
}

void Channel::fail(std::string_view step, const boost::system::error_code& ec) const {
  std::string why = ec == beast::error::timeout ? std::string("timed out") : ssl_error_text(ec);
  if (closed_) why = "cancelled";
  throw Error("etcd " + endpoint_.text() + ": " + std::string(step) + ": " + why);
}

asio::awaitable<void> Channel::connect() {
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(endpoint_.host, ec);
  tcp::resolver::results_type targets;
  if (!ec) {
    const auto port = static_cast<unsigned short>(std::stoi(endpoint_.port));
    targets = tcp::resolver::results_type::create(tcp::endpoint(address, port), endpoint_.host,
                                                  endpoint_.port);
  } else {
    // A name: the resolver has no deadline of its own, so race it against one.
    using namespace asio::experimental::awaitable_operators;
    tcp::resolver resolver(executor_);
    asio::steady_timer timer(executor_, deadline_);
    auto outcome = co_await (resolver.async_resolve(endpoint_.host, endpoint_.port, kTuple) ||
                             timer.async_wait(kTuple));
    if (outcome.index() == 1) fail("resolve " + endpoint_.host, beast::error::timeout);
    auto [resolve_ec, results] = std::get<0>(std::move(outcome));
    if (resolve_ec) fail("resolve " + endpoint_.host, resolve_ec);
    targets = std::move(results);
  }
  if (closed_) fail("connect", asio::error::operation_aborted);
  auto [connect_ec, connected] = co_await tcp().async_connect(targets, kTuple);
  if (connect_ec) fail("connect", connect_ec);
  (void)connected;
  if (tls_) {
    if (ec) {  // a name, not an address: send it (SNI) and check it
      SSL_set_tlsext_host_name(tls_->native_handle(), endpoint_.host.c_str());
    }
    tls_->set_verify_callback(asio::ssl::host_name_verification(endpoint_.host));
    auto [handshake_ec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, kTuple);
    if (handshake_ec) fail("TLS handshake", handshake_ec);
  }
}

asio::awaitable<void> Channel::send(http::request<http::string_body>& request) {
  request.set(http::field::host, endpoint_.host + ":" + endpoint_.port);
  request.prepare_payload();
  boost::system::error_code ec;
  if (tls_) {
    std::tie(ec, std::ignore) = co_await http::async_write(*tls_, request, kTuple);
  } else {
    std::tie(ec, std::ignore) = co_await http::async_write(*plain_, request, kTuple);
  }
  if (ec) fail("send " + std::string(request.target()), ec);
}

asio::awaitable<http::response<http::string_body>> Channel::receive(std::size_t limit) {
  http::response_parser<http::string_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(limit);
  boost::system::error_code ec;
  if (tls_) {
    std::tie(ec, std::ignore) = co_await http::async_read(*tls_, buffer_, parser, kTuple);
  } else {
    std::tie(ec, std::ignore) = co_await http::async_read(*plain_, buffer_, parser, kTuple);
  }
  if (ec == http::error::body_limit) {
    throw Error("etcd " + endpoint_.text() + ": a response larger than " + std::to_string(limit) +
                " bytes (the limit)");
  }
  if (ec) fail("receive", ec);
  co_return parser.release();
}

asio::awaitable<void> Channel::receive_header(http::response_parser<http::buffer_body>& parser) {
  parser.header_limit(kHeaderLimit);
  parser.body_limit(boost::none);
  boost::system::error_code ec;
  if (tls_) {
    std::tie(ec, std::ignore) = co_await http::async_read_header(*tls_, buffer_, parser, kTuple);
  } else {
    std::tie(ec, std::ignore) = co_await http::async_read_header(*plain_, buffer_, parser, kTuple);
  }
  if (ec) fail("receive", ec);
}

asio::awaitable<std::size_t> Channel::receive_some(http::response_parser<http::buffer_body>& parser,
                                                   char* buffer, std::size_t size) {
  if (parser.is_done()) throw Error("etcd " + endpoint_.text() + ": the stream ended");
  parser.get().body().data = buffer;
  parser.get().body().size = size;
  boost::system::error_code ec;
  if (tls_) {
    std::tie(ec, std::ignore) = co_await http::async_read_some(*tls_, buffer_, parser, kTuple);
  } else {
    std::tie(ec, std::ignore) = co_await http::async_read_some(*plain_, buffer_, parser, kTuple);
  }
  if (ec == http::error::need_buffer) ec = {};
  if (ec == http::error::end_of_stream || ec == asio::error::eof) {
    throw Error("etcd " + endpoint_.text() + ": the stream ended");
  }
  if (ec) fail("receive", ec);
  co_return size - parser.get().body().size;
}

void Channel::close() {
  closed_ = true;
  boost::system::error_code ignored;
  tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
  tcp().cancel();
  tcp().close();
}

}  // namespace confvisor::etcd
