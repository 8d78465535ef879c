#include "daemon/control/server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <filesystem>
#include <istream>

#include "common/base/error.hpp"
#include "common/base/log.hpp"
#include "common/os/unique_fd.hpp"

namespace confvisor::daemon {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

namespace {

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
  Connection(ControlServer& server, stream::socket socket, PeerCredentials peer, bool admitted)
      : server_(&server),
        socket_(std::move(socket)),
        peer_(std::move(peer)),
        admitted_(admitted),
        in_(control::kMaxRequest + 1),
        deadline_(socket_.get_executor()) {}

  [[nodiscard]] const PeerCredentials& peer() const { return peer_; }
  [[nodiscard]] bool admitted() const { return admitted_; }

  void read_request() {
    arm_deadline(server_->limits_.read_timeout, "sent no whole request");
    asio::async_read_until(socket_, in_, '\n',
                           [self = shared_from_this()](const boost::system::error_code& ec,
                                                       std::size_t n) { self->on_request(ec, n); });
  }

  void send_and_close(const std::string& line) {
    write(line, [self = shared_from_this()](const boost::system::error_code&) { self->close(); });
  }

  void detach() {
    server_ = nullptr;
    boost::system::error_code ignored;
    deadline_.cancel();
    socket_.close(ignored);
    end_stream();
  }

  // What fed the stream is let go (its subscriptions end), and what waited is freed.
  void end_stream() {
    streaming_ = false;
    kept_.clear();
    queue_.clear();
    queued_bytes_ = 0;
  }

 private:
  // One timer serves both directions. A connection is either waiting for a request, running
  // one (with no deadline, since the command bounds itself), or writing its reply. The epoch tells
  // a wait that expired from one that was replaced after its completion was already queued.
  void arm_deadline(std::chrono::milliseconds after, const char* what) {
    const std::uint64_t epoch = ++deadline_epoch_;
    deadline_.expires_after(after);
    deadline_.async_wait([weak = weak_from_this(), after, what,
                          epoch](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self || self->server_ == nullptr || self->deadline_epoch_ != epoch) return;
      self->server_->log_throttled(what, "control: closing the connection of " +
                                             self->peer_.describe() + ": it " + what + " within " +
                                             std::to_string(after.count()) + " ms");
      self->close();
    });
  }

  void cancel_deadline() {
    ++deadline_epoch_;
    deadline_.cancel();
  }

  void on_request(const boost::system::error_code& ec, std::size_t n) {
    cancel_deadline();
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
    server_->handler_(request, peer_, Reply(weak_from_this()));
  }

 public:
  void write_reply(const std::string& line) {
    if (server_ == nullptr) return;
    const auto next = [self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return self->close();
      self->read_request();
    };
    if (const auto why = server_->refusal_of_output(*this, line.size())) {
      server_->log_throttled("output",
                             "control: reply to " + peer_.describe() + " refused: " + *why);
      return write(control::error_reply(control::kFailed, *why), next);
    }
    write(line, next);
  }

  // The first line of a stream, written whole as a reply is; the stream's items queue behind
  // it. The client's hang-up (or anything it sends) ends the stream.
  bool begin_stream(const std::string& first) {
    if (server_ == nullptr) return false;
    if (server_->refusal_of_output(*this, first.size())) {
      write_reply(first);  // refused there, with the reason, as any reply would be
      return false;
    }
    streaming_ = true;
    watch_hangup();
    queue_.push_back(first);
    queued_bytes_ += first.size();
    update_pending_output();
    write_stream();
    return true;
  }

  void push_item(std::string item) {
    if (!streaming_ || finishing_ || server_ == nullptr) return;
    std::string notice = dropped_ > 0 ? control::dropped_notice(dropped_) : std::string();
    if (!stream_has_room(notice.size() + item.size())) {
      ++dropped_;
      return;
    }
    if (!notice.empty()) enqueue(std::move(notice));
    dropped_ = 0;
    enqueue(std::move(item));
    // Posted, not written here: push() may be called from inside the handler that produced
    // the item, and the write's failure closes the connection.
    if (!writing_ && !write_posted_) {
      write_posted_ = true;
      asio::post(socket_.get_executor(), [self = shared_from_this()] {
        self->write_posted_ = false;
        self->write_stream();
      });
    }
  }

  void keep(std::shared_ptr<void> resource) {
    if (streaming_ && server_ != nullptr) kept_.push_back(std::move(resource));
  }

  // The last line goes in whatever the queue holds: it is one small line, and the stream
  // takes nothing after it.
  void finish_stream(std::string last) {
    if (!streaming_ || finishing_ || server_ == nullptr) return;
    finishing_ = true;
    enqueue(std::move(last));
    if (!writing_ && !write_posted_) {
      write_posted_ = true;
      asio::post(socket_.get_executor(), [self = shared_from_this()] {
        self->write_posted_ = false;
        self->write_stream();
      });
    }
  }

  [[nodiscard]] bool streaming() const { return streaming_ && server_ != nullptr; }

 private:
  // The queue is bounded by the stream's own limit and, for a uid that is limited, by what
  // is left of its unread bytes.
  [[nodiscard]] bool stream_has_room(std::size_t bytes) const {
    return queued_bytes_ + bytes <= server_->limits_.stream_queue &&
           server_->uid_has_room(*this, bytes);
  }

  void enqueue(std::string item) {
    queued_bytes_ += item.size();
    queue_.push_back(std::move(item));
    update_pending_output();
  }

  // Writes what is queued in chunks of about 64 KiB; each chunk must be taken within the
  // write timeout. Once the queue is empty, items dropped meanwhile are told at once.
  void write_stream() {
    if (!streaming() || writing_) return;
    if (queue_.empty() && dropped_ > 0 && !finishing_) {
      enqueue(control::dropped_notice(dropped_));
      dropped_ = 0;
    }
    if (queue_.empty()) {
      if (finishing_) close();  // the last line is written: the stream has ended
      return;
    }
    constexpr std::size_t kChunk = 64u << 10;
    auto chunk = std::make_shared<std::string>(std::move(queue_.front()));
    queue_.pop_front();
    while (!queue_.empty() && chunk->size() + queue_.front().size() <= kChunk) {
      *chunk += queue_.front();
      queue_.pop_front();
    }
    queued_bytes_ -= chunk->size();
    in_flight_ = chunk->size();
    writing_ = true;
    update_pending_output();
    arm_deadline(server_->limits_.write_timeout, "did not read its stream");
    asio::async_write(
        socket_, asio::buffer(*chunk),
        [self = shared_from_this(), chunk](const boost::system::error_code& ec, std::size_t) {
          if (self->server_ == nullptr) return;
          self->cancel_deadline();
          self->writing_ = false;
          self->in_flight_ = 0;
          self->update_pending_output();
          if (ec) return self->close();
          self->write_stream();
        });
  }

  // A stream's client sends nothing: readability is its hang-up (or a protocol error), and
  // ends the stream either way.
  void watch_hangup() {
    socket_.async_wait(stream::socket::wait_read,
                       [self = shared_from_this()](const boost::system::error_code&) {
                         if (self->server_ != nullptr) self->close();
                       });
  }

  void update_pending_output() { set_pending_output(in_flight_ + queued_bytes_); }

  // Writes `line` whole within the write timeout, its bytes counted against the peer's
  // output until then; `done` runs unless the connection was closed meanwhile.
  template <typename Done>
  void write(const std::string& line, Done done) {
    auto buffer = std::make_shared<std::string>(line);
    set_pending_output(buffer->size());
    arm_deadline(server_->limits_.write_timeout, "did not read its reply");
    asio::async_write(socket_, asio::buffer(*buffer),
                      [self = shared_from_this(), buffer, done = std::move(done)](
                          const boost::system::error_code& ec, std::size_t) {
                        if (self->server_ == nullptr) return;
                        self->cancel_deadline();
                        self->set_pending_output(0);
                        done(ec);
                      });
  }

  void set_pending_output(std::size_t bytes) {
    if (server_ != nullptr) server_->account_output(*this, pending_output_, bytes);
    pending_output_ = bytes;
  }

  void close() {
    boost::system::error_code ignored;
    cancel_deadline();
    socket_.close(ignored);
    end_stream();
    if (server_ == nullptr) return;
    set_pending_output(0);
    server_->release(shared_from_this());
    server_ = nullptr;
  }

  ControlServer* server_;  // null once closed: the server may be gone
  stream::socket socket_;
  PeerCredentials peer_;
  bool admitted_;  // counted in the server's limits (a refused one is only told why)
  std::size_t pending_output_ = 0;
  asio::streambuf in_;
  asio::steady_timer deadline_;
  std::uint64_t deadline_epoch_ = 0;
  // A streamed reply: the items waiting, the bytes being written, the items dropped since
  // the last notice, and what feeds it.
  bool streaming_ = false;
  bool finishing_ = false;  // its last line is queued
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  std::size_t in_flight_ = 0;
  bool writing_ = false;
  bool write_posted_ = false;
  std::uint64_t dropped_ = 0;
  std::vector<std::shared_ptr<void>> kept_;
};

void ControlServer::Reply::operator()(const std::string& line) const {
  if (auto c = connection_.lock()) c->write_reply(line);
}

ControlServer::ReplyStream ControlServer::Reply::stream(const std::string& first) const {
  auto c = connection_.lock();
  if (!c || !c->begin_stream(first)) return ReplyStream();
  return ReplyStream(c);
}

void ControlServer::ReplyStream::push(std::string item) const {
  if (auto c = connection_.lock()) c->push_item(std::move(item));
}

void ControlServer::ReplyStream::keep(std::shared_ptr<void> resource) const {
  if (auto c = connection_.lock()) c->keep(std::move(resource));
}

void ControlServer::ReplyStream::finish(std::string last) const {
  if (auto c = connection_.lock()) c->finish_stream(std::move(last));
}

bool ControlServer::ReplyStream::open() const {
  const auto c = connection_.lock();
  return c && c->streaming();
}

ControlServer::ControlServer(asio::io_context& io, std::string path, ControlAccess access,
                             Handler handler, ControlLimits limits)
    : path_(std::move(path)),
      access_(access),
      handler_(std::move(handler)),
      limits_(limits),
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
  uids_.clear();
  admitted_ = 0;
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
  if (const auto why = access_.refusal(peer)) {
    log_throttled("access", "control: refused " + *why);
    auto refused = std::make_shared<Connection>(*this, std::move(socket), peer, false);
    connections_.insert(refused);
    refused->send_and_close(control::error_reply(control::kDenied, "permission denied: " + *why));
    return;
  }
  if (const auto refusal = refusal_by_limits(peer)) {
    log_throttled(refusal->kind, "control: refused " + peer.describe() + ": " + refusal->why);
    auto refused = std::make_shared<Connection>(*this, std::move(socket), peer, false);
    connections_.insert(refused);
    refused->send_and_close(control::error_reply(control::kFailed, refusal->why));
    return;
  }
  auto connection = std::make_shared<Connection>(*this, std::move(socket), peer, true);
  connections_.insert(connection);
  ++admitted_;
  if (!privileged(peer)) ++uids_[peer.uid].connections;
  connection->read_request();
}

bool ControlServer::privileged(const PeerCredentials& peer) const {
  return peer.uid == 0 || peer.uid == access_.daemon_uid;
}

std::optional<ControlServer::Refusal> ControlServer::refusal_by_limits(
    const PeerCredentials& peer) const {
  if (admitted_ >= limits_.connections) {
    return Refusal{
        "all", "all " + std::to_string(limits_.connections) + " control connections are in use"};
  }
  if (privileged(peer)) return std::nullopt;
  const std::size_t shared = limits_.connections - std::min(limits_.reserved, limits_.connections);
  if (admitted_ >= shared) {
    return Refusal{"reserved",
                   std::to_string(admitted_) + " control connections are in use; the last " +
                       std::to_string(limits_.connections - shared) +
                       " are kept for root and uid " + std::to_string(access_.daemon_uid)};
  }
  const auto use = uids_.find(peer.uid);
  if (use != uids_.end() && use->second.connections >= limits_.per_uid) {
    return Refusal{"per-uid", "uid " + std::to_string(peer.uid) + " already has " +
                                  std::to_string(use->second.connections) +
                                  " control connections open (the most one user may)"};
  }
  return std::nullopt;
}

std::optional<std::string> ControlServer::refusal_of_output(const Connection& c,
                                                            std::size_t bytes) const {
  if (!c.admitted() || privileged(c.peer())) return std::nullopt;
  const auto use = uids_.find(c.peer().uid);
  const std::size_t others = use == uids_.end() ? 0 : use->second.pending_output;
  if (others == 0 || others + bytes <= limits_.per_uid_output) return std::nullopt;
  return "uid " + std::to_string(c.peer().uid) + " has " + std::to_string(others) +
         " bytes of replies unread; a reply of " + std::to_string(bytes) +
         " bytes would pass the limit of " + std::to_string(limits_.per_uid_output) +
         ": read the replies you asked for";
}

bool ControlServer::uid_has_room(const Connection& c, std::size_t bytes) const {
  if (!c.admitted() || privileged(c.peer())) return true;
  const auto use = uids_.find(c.peer().uid);
  const std::size_t pending = use == uids_.end() ? 0 : use->second.pending_output;
  return pending + bytes <= limits_.per_uid_output;
}

void ControlServer::account_output(const Connection& c, std::size_t before, std::size_t after) {
  if (!c.admitted() || privileged(c.peer())) return;
  auto use = uids_.find(c.peer().uid);
  if (use == uids_.end()) return;
  use->second.pending_output = use->second.pending_output - before + after;
}

void ControlServer::release(const std::shared_ptr<Connection>& c) {
  if (connections_.erase(c) == 0 || !c->admitted()) return;
  --admitted_;
  if (privileged(c->peer())) return;
  auto use = uids_.find(c->peer().uid);
  if (use != uids_.end() && --use->second.connections == 0) uids_.erase(use);
}

}  // namespace confvisor::daemon
