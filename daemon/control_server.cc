#include "control_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <istream>

#include "error.hpp"
#include "log.hpp"
#include "unique_fd.hpp"

namespace confvisor::daemon {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

namespace {

// More is a client bug or an attack by someone allowed in; either way, not worth an fd each.
constexpr std::size_t kMaxConnections = 64;
// A client that connects and says nothing is dropped after this (no timer while none is open).
constexpr std::chrono::seconds kIdleTimeout{60};

// The pid of whatever listens on `path`, or nullopt if nothing does (connection refused).
std::optional<pid_t> listener_on(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_sys("create a socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == ECONNREFUSED) return std::nullopt;
    throw_sys("connect to the existing socket " + path);
  }
  ucred cred{};
  socklen_t len = sizeof cred;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len);
  return cred.pid;
}

// What an operator can do about a path this user may not create.
std::string permission_hint(const std::error_code& ec) {
  if (ec != std::errc::permission_denied && ec != std::errc::operation_not_permitted) return "";
  return " (set /confvisor/socket to a path this user may create; without it, a daemon that is"
         " not root listens in $XDG_RUNTIME_DIR/confvisor when XDG_RUNTIME_DIR is set)";
}

// Makes `path` free to bind: its directory exists, and a socket left by a crashed daemon
// (nobody accepts on it any more) is removed. A live one, or a non-socket, is an error.
void prepare_path(const std::string& path) {
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec)
      throw Error("unable to create the control socket's directory " + dir.string() + ": " +
                  ec.message() + permission_hint(ec));
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw_sys("stat the control socket " + path);
  }
  if (!S_ISSOCK(st.st_mode)) {
    throw Error("control socket " + path +
                " exists and is not a socket: remove it or set /confvisor/socket");
  }
  if (auto pid = listener_on(path)) {
    throw Error("control socket " + path + " is in use by another daemon (pid " +
                std::to_string(*pid) + "): stop it, or give this one another /confvisor/socket");
  }
  log_info("control socket " + path + " was left by a daemon that is gone: replacing it");
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw_sys("remove the stale socket " + path);
}

// Binds with a umask that gives the file mode 0660 from the start: a chmod after bind() would
// leave a moment where the umask's wider mode applies.
void bind_private(stream::acceptor& acceptor, const std::string& path, gid_t group) {
  const mode_t old_umask = ::umask(0117);
  boost::system::error_code ec;
  acceptor.bind(stream::endpoint(path), ec);
  ::umask(old_umask);
  if (ec) {
    throw Error("unable to bind the control socket " + path + ": " + ec.message() +
                permission_hint(ec));
  }
  if (::chown(path.c_str(), static_cast<uid_t>(-1), group) != 0) {
    throw_sys("give the control socket " + path + " to group " + std::to_string(group));
  }
}

}  // namespace

class ControlServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ControlServer& server, stream::socket socket, PeerCredentials peer)
      : server_(&server),
        socket_(std::move(socket)),
        peer_(std::move(peer)),
        in_(control::kMaxRequest + 1),
        idle_(socket_.get_executor()) {}

  void read_request() {
    arm_idle_timer();
    asio::async_read_until(socket_, in_, '\n',
                           [self = shared_from_this()](const boost::system::error_code& ec,
                                                       std::size_t n) { self->on_request(ec, n); });
  }

  void send_and_close(const std::string& line) {
    auto buffer = std::make_shared<std::string>(line);
    asio::async_write(socket_, asio::buffer(*buffer),
                      [self = shared_from_this(), buffer](const boost::system::error_code&,
                                                          std::size_t) { self->close(); });
  }

  void detach() {
    server_ = nullptr;
    boost::system::error_code ignored;
    idle_.cancel();
    socket_.close(ignored);
  }

 private:
  void arm_idle_timer() {
    idle_.expires_after(kIdleTimeout);
    idle_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      log_debug("control: closing the idle connection of " + self->peer_.describe());
      self->close();
    });
  }

  void on_request(const boost::system::error_code& ec, std::size_t n) {
    idle_.cancel();
    if (ec == asio::error::not_found) {  // the buffer filled without a newline
      log_warning("control: request from " + peer_.describe() + " longer than " +
                  std::to_string(control::kMaxRequest) + " bytes: connection closed");
      send_and_close(control::error_reply(control::kBadRequest, "request line too long"));
      return;
    }
    if (ec || server_ == nullptr) {  // the client hung up, or the daemon is stopping
      close();
      return;
    }
    std::string line(asio::buffers_begin(in_.data()),
                     asio::buffers_begin(in_.data()) + static_cast<std::ptrdiff_t>(n - 1));
    in_.consume(n);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    control::Request request;
    try {
      request = control::parse_request(line);
    } catch (const control::Failure& f) {
      write_reply(control::error_reply(f.code, f.what()));
      return;
    }
    server_->handler_(request, peer_, [weak = weak_from_this()](const std::string& reply) {
      if (auto self = weak.lock()) self->write_reply(reply);
    });
  }

  void write_reply(const std::string& line) {
    if (server_ == nullptr) return;
    auto buffer = std::make_shared<std::string>(line);
    asio::async_write(
        socket_, asio::buffer(*buffer),
        [self = shared_from_this(), buffer](const boost::system::error_code& ec, std::size_t) {
          if (ec) {
            self->close();
          } else {
            self->read_request();
          }
        });
  }

  void close() {
    boost::system::error_code ignored;
    idle_.cancel();
    socket_.close(ignored);
    if (server_ != nullptr) server_->connections_.erase(shared_from_this());
    server_ = nullptr;
  }

  ControlServer* server_;  // null once closed: the server may be gone
  stream::socket socket_;
  PeerCredentials peer_;
  asio::streambuf in_;
  asio::steady_timer idle_;
};

ControlServer::ControlServer(asio::io_context& io, std::string path, ControlAccess access,
                             Handler handler)
    : path_(std::move(path)),
      access_(access),
      handler_(std::move(handler)),
      acceptor_(io),
      retry_(io) {
  prepare_path(path_);
  acceptor_.open();
  bind_private(acceptor_, path_, access_.group);
  acceptor_.listen();
  log_info("control socket listening on " + path_);
  accept();
}

ControlServer::~ControlServer() {
  close();
}

void ControlServer::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  retry_.cancel();
  for (const auto& c : connections_) c->detach();
  connections_.clear();
  ::unlink(path_.c_str());
}

void ControlServer::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, stream::socket socket) {
    if (ec == asio::error::operation_aborted || closed_) return;
    if (!ec) {
      admit(std::move(socket));
      accept();
      return;
    }
    // EMFILE and the like fail again at once: retry later instead of spinning.
    log_error("control: accept failed: " + ec.message() + "; retrying in 1s");
    retry_.expires_after(std::chrono::seconds(1));
    retry_.async_wait([this](const boost::system::error_code& timer_ec) {
      if (!timer_ec && !closed_) accept();
    });
  });
}

void ControlServer::admit(stream::socket socket) {
  PeerCredentials peer;
  try {
    peer = peer_credentials(socket.native_handle());
  } catch (const Error& e) {
    log_error(std::string("control: connection dropped: ") + e.what());
    return;
  }
  auto connection = std::make_shared<Connection>(*this, std::move(socket), peer);
  connections_.insert(connection);
  if (std::string why = access_.refusal(peer); !why.empty()) {
    log_warning("control: refused " + why);
    connection->send_and_close(control::error_reply(control::kDenied, "permission denied: " + why));
    return;
  }
  if (connections_.size() > kMaxConnections) {
    log_warning("control: refused " + peer.describe() + ": " + std::to_string(kMaxConnections) +
                " connections already open");
    connection->send_and_close(
        control::error_reply(control::kFailed, "too many open control connections"));
    return;
  }
  connection->read_request();
}

}  // namespace confvisor::daemon
