// The etcd source: every key under a prefix, kept current on the daemon's io_context through
// etcd's v3 JSON gateway, delivered as whole snapshots at one revision each.
//
// How it follows etcd (the guarantees of etcd's own API, kept end to end):
//   1. A Range of the prefix pinned to one revision R, paged by `page_keys` if large; the
//      snapshot at R is delivered.
//   2. A Watch of the prefix from R+1 with progress notifications. Each watch response that
//      changes something is applied as one unit and delivered as one snapshot at its revision.
//      A progress notification only advances state().revision.
//   3. A dropped stream, an error, a timeout or a watch silent for longer than
//      `watch_liveness` moves to the next endpoint (with backoff) and resumes the watch from
//      the last revision + 1. A compacted start revision or a cancelled watch means a full
//      Range again (step 1): never a jump past events not seen.
// Nothing blocks the loop: every request has a deadline, every response a size bound.
//
// The Source logs itself, one line per change of Connection (not per retry), so its owner
// need not; on_state is for status.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/etcd/endpoint.hpp"

namespace confvisor::etcd {

// Files in PEM form. `ca` verifies the server (empty: the system's default CAs); `cert` and
// `key` are the client's certificate and key, both or neither.
struct Tls {
  std::string ca{}, cert{}, key{};
};

// etcd's user and password (the daemon reads the password from its file). The token etcd
// gives for them is refreshed whenever etcd says it is no longer valid.
struct Auth {
  std::string user{};
  std::string password{};
};

struct SourceOptions {
  std::vector<Endpoint> endpoints;  // tried in order, the next one after a failure
  std::string prefix;               // every key that starts with it; empty: every key
  std::optional<Tls> tls;           // used for https endpoints
  std::optional<Auth> auth;
  // Bounds each request from connect to the last byte of the response, and a watch from
  // connect to its "created" response.
  std::chrono::milliseconds request_timeout{5000};
  // A watch silent for longer than this (no event and no progress notification) is replaced
  // on the next endpoint. etcd sends progress notifications every
  // --experimental-watch-progress-notify-interval (10 min by default in etcd 3.4), so this must
  // be longer than that interval, or the etcd cluster must be run with a shorter one.
  std::chrono::milliseconds watch_liveness{std::chrono::minutes(11)};
  // Backoff between attempts after a failure: doubles from retry_initial up to retry_max, back
  // to retry_initial once a watch is running. The cap bounds how late an etcd that answers
  // again is noticed (etcd's own clients retry about as often); an attempt costs etcd one
  // refused connection or one small request.
  std::chrono::milliseconds retry_initial{100};
  std::chrono::milliseconds retry_max{std::chrono::seconds(1)};
  // Keys per Range page, and the largest response body (or one watch message) accepted.
  std::int64_t page_keys = 1000;
  std::size_t response_limit = std::size_t{64} << 20;
};

struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t mod_revision = 0;
  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

// Every key under the prefix as of `revision`, sorted by key.
struct Snapshot {
  std::int64_t revision = 0;
  std::vector<KeyValue> kvs;
};

// connecting: no watch has run yet; the first attempt is under way. (A resync() keeps the
// connection as it is: the endpoint in use stays.)
// connected: a watch is running on `endpoint`.
// disconnected: the last attempt failed (last_error says why); retrying with backoff.
enum class Connection { connecting, connected, disconnected };
[[nodiscard]] std::string_view connection_name(Connection c);  // "connecting", ...

struct SourceState {
  Connection connection = Connection::connecting;
  std::string endpoint;  // Endpoint::text() of the one in use or being tried
  std::optional<std::chrono::system_clock::time_point> connected_since;
  std::int64_t revision = 0;  // the revision the last snapshot (or progress) is current at
  std::string last_error;     // names the endpoint; kept after a recovery, for status
};

class Source {
 public:
  // on_snapshot: the whole prefix at one revision: after the first Range, after every watch
  // response that changed something (each response applied as one unit), after a resync.
  // Never a revision older than the last delivered one, never a jump past events not seen.
  // on_state: whenever SourceState changes (connected, endpoint switched, error), for status.
  // Both run on `io`; neither may destroy the Source. Nothing runs before start().
  Source(boost::asio::io_context& io, SourceOptions options,
         std::function<void(const Snapshot&)> on_snapshot,
         std::function<void(const SourceState&)> on_state);
  ~Source();
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  // Range pinned to one revision R, then Watch from R+1 with progress notifications.
  void start();
  // A full Range again (SIGHUP / reload), then the watch from there. Not counted as a
  // failure: the endpoint in use stays.
  void resync();
  // Cancels everything; no callback runs after it. The destructor does too.
  void stop();
  [[nodiscard]] const SourceState& state() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace confvisor::etcd
