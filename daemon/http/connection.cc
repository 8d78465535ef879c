#include "daemon/http/connection.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "common/base/log.hpp"

namespace confvisor::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::asio::ip::tcp;

namespace {

std::string peer_of(const tcp::socket& socket) {
  boost::system::error_code ec;
  const tcp::endpoint endpoint = socket.remote_endpoint(ec);
  return ec ? std::string("an unknown peer") : endpoint_text(endpoint);
}

bool is_http_error(const boost::system::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

Response plain(unsigned status, std::string body) {
  return Response{
      .status = status, .content_type = "text/plain; charset=utf-8", .body = std::move(body)};
}

}  // namespace

std::string endpoint_text(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

bhttp::response<bhttp::string_body> make_reply(const Response& response, unsigned version,
                                               bool head) {
  bhttp::response<bhttp::string_body> reply{static_cast<bhttp::status>(response.status), version};
  reply.set(bhttp::field::server, "confvisord");
  reply.set(bhttp::field::content_type, response.content_type);
  reply.set(bhttp::field::cache_control, "no-store");
  reply.set("X-Content-Type-Options", "nosniff");
  for (const auto& [name, value] : response.headers) reply.set(name, value);
  reply.body() = response.body;
  reply.prepare_payload();
  // A HEAD response says how long the body would be and leaves it out.
  if (head) reply.body().clear();
  return reply;
}

Connection::Connection(tcp::socket socket, std::shared_ptr<ServerState> state)
    : stream_(std::move(socket)),
      state_(std::move(state)),
      peer_(peer_of(stream_.socket())),
      accepted_(std::chrono::steady_clock::now()),
      // The headers of one request, and some of the next of a client that pipelines: a
      // request that does not fit is refused (431), never buffered without bound.
      buffer_(2 * state_->limits.max_header_bytes) {
  ++state_->open;
  boost::system::error_code ignored;  // the kernel's default buffer is no failure
  stream_.socket().set_option(
      boost::asio::socket_base::send_buffer_size(state_->limits.send_buffer_bytes), ignored);
}

Connection::~Connection() {
  --state_->open;
}

void Connection::start() {
  read_request();
}

std::chrono::steady_clock::time_point Connection::deadline(
    std::chrono::milliseconds timeout) const {
  return std::min(std::chrono::steady_clock::now() + timeout,
                  accepted_ + state_->limits.connection_lifetime);
}

void Connection::read_request() {
  parser_.emplace();
  parser_->header_limit(state_->limits.max_header_bytes);
  // The timer covers the whole request, not each read: trickling bytes does not extend it.
  stream_.expires_at(deadline(state_->limits.request_timeout));
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           [self = shared_from_this()](const boost::system::error_code& ec,
                                                       std::size_t) { self->on_header(ec); });
}

void Connection::on_header(const boost::system::error_code& ec) {
  if (ec == bhttp::error::end_of_stream) return close("closed by the client");
  if (ec == beast::error::timeout) {
    return close("no whole request within " +
                 std::to_string(state_->limits.request_timeout.count()) + " ms");
  }
  if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
    return send(
        make_reply(plain(431, "request header fields too large (at most " +
                                  std::to_string(state_->limits.max_header_bytes) + " bytes)\n"),
                   11, false),
        false);
  }
  if (is_http_error(ec)) {
    return send(make_reply(plain(400, "bad request: " + ec.message() + "\n"), 11, false), false);
  }
  if (ec) return close(ec.message());
  bool keep_alive = false;
  Reply reply = answer(parser_->get(), keep_alive);
  send(std::move(reply), keep_alive);
}

Connection::Reply Connection::answer(const Parser::value_type& request, bool& keep_alive) {
  const bool head = request.method() == bhttp::verb::head;
  const unsigned version = request.version();
  if (!head && request.method() != bhttp::verb::get) {
    // Its body, if any, is never read: the connection closes after the answer.
    Reply reply = make_reply(plain(405, "method not allowed: only GET and HEAD\n"), version, head);
    reply.set(bhttp::field::allow, "GET, HEAD");
    return reply;
  }
  if (!parser_->is_header_done() || (parser_->content_length() && *parser_->content_length() > 0) ||
      parser_->chunked()) {
    return make_reply(plain(400, "a GET or HEAD request has no body\n"), version, head);
  }
  ++served_;
  keep_alive = request.keep_alive() && served_ < state_->limits.max_requests_per_connection;
  const std::string_view target = request.target();
  Request req{.method = request.method(), .path = std::string(target.substr(0, target.find('?')))};
  Response response;
  try {
    response = state_->handler(req);
  } catch (const std::exception& e) {
    log_error("http: " + std::string(bhttp::to_string(req.method)) + " " + req.path +
              " failed: " + e.what());
    response = plain(500, "internal error\n");
  }
  log_debug("http: " + std::string(bhttp::to_string(req.method)) + " " + req.path + " from " +
            peer_ + ": " + std::to_string(response.status) + ", " +
            std::to_string(response.body.size()) + " bytes");
  Reply reply = make_reply(response, version, head);
  reply.keep_alive(keep_alive);
  return reply;
}

void Connection::send(Reply reply, bool keep_alive) {
  if (!keep_alive) reply.keep_alive(false);
  reply_.emplace(std::move(reply));
  stream_.expires_at(deadline(state_->limits.write_timeout));
  bhttp::async_write(
      stream_, *reply_,
      [self = shared_from_this(), keep_alive](const boost::system::error_code& ec, std::size_t) {
        self->on_written(ec, keep_alive);
      });
}

void Connection::on_written(const boost::system::error_code& ec, bool keep_alive) {
  reply_.reset();
  if (ec == beast::error::timeout) {
    return close("the response was not read within " +
                 std::to_string(state_->limits.write_timeout.count()) + " ms");
  }
  if (ec) return close(ec.message());
  if (!keep_alive) return close("done");
  if (std::chrono::steady_clock::now() >= accepted_ + state_->limits.connection_lifetime) {
    return close("its lifetime is over");
  }
  read_request();
}

void Connection::close(const std::string& why) {
  log_debug("http: connection from " + peer_ + " closed: " + why);
  boost::system::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.close();
}

}  // namespace confvisor::http
