#include "daemon/http/server.hpp"

#include <sys/socket.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/v6_only.hpp>

#include "common/base/error.hpp"
#include "common/base/log.hpp"

namespace confvisor::http {

using boost::asio::ip::tcp;

namespace {

// What a connection beyond the limit gets, in one non-blocking send on a fresh socket (whose
// send buffer always has room for it).
constexpr std::string_view kBusyReply =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: 21\r\n"
    "Retry-After: 1\r\n"
    "Connection: close\r\n"
    "\r\n"
    "too many connections\n";

// A refusal is logged at most this often, with how many there were since the last line.
constexpr std::chrono::seconds kRefusalLogInterval{10};

// After the process or the system runs out of descriptors, accepting pauses this long
// instead of failing again at once in a loop.
constexpr std::chrono::milliseconds kAcceptPause{100};

tcp::acceptor listen_on(boost::asio::io_context& io, const config::HttpSettings& settings) {
  const tcp::endpoint endpoint{boost::asio::ip::make_address(settings.address), settings.port};
  tcp::acceptor acceptor(io);
  boost::system::error_code ec;
  auto fail = [&](const char* step) {
    throw Error("unable to " + std::string(step) + " " + settings.listen +
                " (/confvisor/http/listen): " + ec.message());
  };
  if (acceptor.open(endpoint.protocol(), ec)) fail("open a socket for");
  // A restarted daemon binds again at once, despite connections of its predecessor left in
  // TIME_WAIT; a port another process listens on is still refused.
  if (acceptor.set_option(tcp::acceptor::reuse_address(true), ec)) fail("set up");
  if (endpoint.address().is_v6() && acceptor.set_option(boost::asio::ip::v6_only(true), ec))
    fail("set up");
  if (acceptor.bind(endpoint, ec)) fail("listen on");
  if (acceptor.listen(tcp::acceptor::max_listen_connections, ec)) fail("listen on");
  return acceptor;
}

}  // namespace

Server::Server(boost::asio::io_context& io, const config::HttpSettings& settings, Handler handler,
               const Limits& limits)
    : acceptor_(listen_on(io, settings)),
      state_(std::make_shared<ServerState>(ServerState{std::move(handler), limits})),
      address_(endpoint_text(acceptor_.local_endpoint())),
      accept_pause_(io) {
  log_info("http: listening on " + address_ + " (/metrics, /healthz, /status, /history, /)");
  accept();
}

Server::~Server() {
  close();
}

void Server::close() {
  boost::system::error_code ignored;
  accept_pause_.cancel();
  acceptor_.close(ignored);
}

void Server::accept() {
  acceptor_.async_accept([this, alive = std::weak_ptr<int>(alive_)](
                             const boost::system::error_code& ec, tcp::socket socket) {
    if (!alive.expired()) on_accept(ec, std::move(socket));
  });
}

void Server::on_accept(const boost::system::error_code& ec, tcp::socket socket) {
  if (ec == boost::asio::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec == boost::asio::error::no_descriptors || ec == boost::asio::error::no_buffer_space ||
      ec == boost::asio::error::no_memory || ec.value() == ENFILE) {
    log_warning("http: unable to accept a connection: " + ec.message() + "; trying again in " +
                std::to_string(kAcceptPause.count()) + " ms");
    accept_pause_.expires_after(kAcceptPause);
    accept_pause_.async_wait(
        [this, alive = std::weak_ptr<int>(alive_)](const boost::system::error_code& e) {
          if (!e && !alive.expired()) accept();
        });
    return;
  }
  if (!ec) {
    if (state_->open >= state_->limits.max_connections) {
      refuse(socket);
    } else {
      std::make_shared<Connection>(std::move(socket), state_)->start();
    }
  }
  accept();
}

void Server::refuse(tcp::socket& socket) {
  ++refused_;
  ++refused_unlogged_;
  const auto now = std::chrono::steady_clock::now();
  if (now - refusal_logged_ >= kRefusalLogInterval) {
    log_warning("http: " + std::to_string(refused_unlogged_) + " connection(s) refused: " +
                std::to_string(state_->open) + " are open, the most allowed");
    refusal_logged_ = now;
    refused_unlogged_ = 0;
  }
  const int fd = socket.native_handle();
  (void)::send(fd, kBusyReply.data(), kBusyReply.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  // What the client has sent already is read and dropped (without waiting, at most a few
  // KiB), so that the close is a FIN after the reply rather than a reset that may discard it.
  char scratch[4096];
  for (int i = 0; i < 4 && ::recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) > 0; ++i) {
  }
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
}

}  // namespace confvisor::http
