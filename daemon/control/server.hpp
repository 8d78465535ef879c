// The daemon's control socket: a Unix stream listener on the event loop. Each connection is
// checked against ControlAccess by its peer credentials, then reads request lines one at a
// time and hands each to the handler; the next line is read once the reply has been written,
// so replies come in request order and a slow command (restart) holds only its own client.
//
// No client can lock the others out (ControlLimits): a request line must arrive within the
// read timeout and a reply must be taken within the write timeout, or the connection is
// closed; one uid other than root and the daemon's own holds a bounded number of
// connections and of unread reply bytes; and the last slots are kept for root and the
// daemon's user, so an operator always gets in while others exhaust the rest.
//
// A streamed reply (control/protocol.hpp) is the last reply of its connection; it ends when
// the client hangs up or, for one with an end (`reload` with "wait"), after its last line. It holds
// the connection's slot while it runs, and its items wait in a queue of at most stream_queue bytes
// (and, for a uid other than root and the daemon's, within what is left of its unread reply bytes);
// an item that does not fit is dropped and counted, never waited for, so a slow or stopped client
// costs the daemon nothing but that queue. The write timeout holds for each write of a stream: a
// client that takes nothing for that long is disconnected. The read timeout does not: the client
// sends nothing more, and its hang-up ends the stream.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "common/base/log_throttle.hpp"
#include "daemon/control/peer_credentials.hpp"
#include "daemon/control/protocol.hpp"

namespace confvisor::daemon {

// The README's control socket section documents these defaults.
struct ControlLimits {
  std::size_t connections = 64;  // open at once, in all
  std::size_t reserved = 8;      // of those, only for root and the daemon's own user
  std::size_t per_uid = 16;      // open at once for one uid other than those two
  // Unsent reply bytes one such uid may have pending; a reply past it is refused, unless it
  // is the uid's only one (a client that reads always gets its answer, however large).
  std::size_t per_uid_output = 4u << 20;
  // From the moment the daemon waits for a request until its whole line has arrived:
  // covers idle connections and clients that dribble a byte at a time.
  std::chrono::milliseconds read_timeout{10'000};
  // From the moment a reply is ready until the client has taken all of it.
  std::chrono::milliseconds write_timeout{10'000};
  // Bytes of a stream's items waiting behind the one being written.
  std::size_t stream_queue = 256u << 10;
};

class ControlServer {
  class Connection;  // below, private

 public:
  // A streamed reply under way: pushes its items, and keeps what feeds it alive until it
  // ends. A handle: copies name the same stream; one whose connection has gone does nothing.
  class ReplyStream {
   public:
    ReplyStream() = default;
    // Queues one item (a control::stream_reply line), or drops and counts it if the queue is
    // full. Never blocks and never writes at once: it may be called from any handler.
    void push(std::string item) const;
    // Holds `resource` until the stream ends (a subscription that feeds it).
    void keep(std::shared_ptr<void> resource) const;
    // Ends the stream with `last` (a control::ok_reply or error_reply line, which is never
    // dropped), then closes the connection once it is written. Nothing is pushed after it.
    void finish(std::string last) const;
    [[nodiscard]] bool open() const;

   private:
    friend class ControlServer;
    explicit ReplyStream(std::weak_ptr<Connection> connection)
        : connection_(std::move(connection)) {}
    std::weak_ptr<Connection> connection_;
  };

  // How a handler answers its request: once, by a reply line or by the first line of a
  // stream, from the loop, at any later time (an answer to a connection that has gone is
  // dropped).
  class Reply {
   public:
    void operator()(const std::string& line) const;
    // Sends `first` (a control::stream_reply line, written whole however long) and returns
    // the stream its items follow in. If `first` is refused by the output limits, the client
    // gets that error instead and the stream is closed from the start.
    [[nodiscard]] ReplyStream stream(const std::string& first) const;

   private:
    friend class ControlServer;
    explicit Reply(std::weak_ptr<Connection> connection) : connection_(std::move(connection)) {}
    std::weak_ptr<Connection> connection_;
  };

  using Handler = std::function<void(const control::Request&, const PeerCredentials&, Reply)>;

  // Binds `path` (mode 0660, group access.group), creating its directory if missing and
  // replacing a stale socket a crashed daemon left. Throws Error if a live daemon answers on
  // it or the path is something else.
  ControlServer(boost::asio::io_context& io, std::string path, ControlAccess access,
                Handler handler, ControlLimits limits = {});
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Stops accepting, drops every connection and removes the socket file.
  void close();
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  friend class Connection;

  // What one uid other than root and the daemon's holds.
  struct UidUse {
    std::size_t connections = 0;
    std::size_t pending_output = 0;
  };

  void accept();
  void admit(boost::asio::local::stream_protocol::socket socket);
  [[nodiscard]] bool privileged(const PeerCredentials& peer) const;
  // A limit a connection would pass: its kind (for the log's throttle) and why.
  struct Refusal {
    const char* kind;
    std::string why;
  };
  // Nullopt if `peer` may have one more connection.
  [[nodiscard]] std::optional<Refusal> refusal_by_limits(const PeerCredentials& peer) const;
  // Why `c` may not have a reply of `bytes` pending; nullopt if it may.
  [[nodiscard]] std::optional<std::string> refusal_of_output(const Connection& c,
                                                             std::size_t bytes) const;
  // Whether `c`'s uid may have `bytes` more of stream items pending.
  [[nodiscard]] bool uid_has_room(const Connection& c, std::size_t bytes) const;
  void account_output(const Connection& c, std::size_t before, std::size_t after);
  void release(const std::shared_ptr<Connection>& c);
  // Refusals and timeouts: at most one line a second of each `kind`, with how many were
  // left out since.
  void log_throttled(const std::string& kind, const std::string& line) {
    throttle_.warning(kind, line);
  }

  std::string path_;
  ControlAccess access_;
  Handler handler_;
  ControlLimits limits_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  boost::asio::steady_timer retry_;                    // after a failed accept
  std::set<std::shared_ptr<Connection>> connections_;  // admitted, and refused until told why
  std::size_t admitted_ = 0;
  std::map<uid_t, UidUse> uids_;  // unprivileged uids with an admitted connection
  LogThrottle throttle_;
  bool closed_ = false;
};

}  // namespace confvisor::daemon
