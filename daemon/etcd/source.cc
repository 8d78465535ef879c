#include "daemon/etcd/source.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>

#include "common/base/log.hpp"
#include "daemon/etcd/gateway.hpp"

namespace confvisor::etcd {
namespace asio = boost::asio;

std::string_view connection_name(Connection c) {
  switch (c) {
    case Connection::connecting:
      return "connecting";
    case Connection::connected:
      return "connected";
    case Connection::disconnected:
      return "disconnected";
  }
  return "unknown";
}

namespace {

bool same_state(const SourceState& a, const SourceState& b) {
  return a.connection == b.connection && a.endpoint == b.endpoint &&
         a.connected_since == b.connected_since && a.revision == b.revision &&
         a.last_error == b.last_error;
}

std::string millis(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

}  // namespace

// The state machine runs as one coroutine (run) that owns a reference to this object, so
// that the Source can be destroyed while it is suspended: stop() closes what it waits on and
// it ends without touching the callbacks.
struct Source::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, SourceOptions o, std::function<void(const Snapshot&)> snapshot,
       std::function<void(const SourceState&)> state_changed)
      : io(io),
        options(std::move(o)),
        on_snapshot(std::move(snapshot)),
        on_state(std::move(state_changed)),
        gateway(io.get_executor(), options),
        retry_timer(io),
        backoff(options.retry_initial),
        range_key(options.prefix.empty() ? std::string(1, '\0') : options.prefix),
        range_end(prefix_range_end(options.prefix)) {}

  asio::awaitable<void> run();
  asio::awaitable<void> full_range(const Endpoint& endpoint);
  asio::awaitable<void> watch(const Endpoint& endpoint);
  asio::awaitable<void> wait_before_retry();
  // Applies one watch response; false if it changed nothing.
  bool apply(const std::vector<Event>& events);
  void deliver();
  void failed(const std::string& error);
  void connected();
  void change(const std::function<void(SourceState&)>& edit);
  void interrupt();

  asio::io_context& io;
  const SourceOptions options;
  std::function<void(const Snapshot&)> on_snapshot;
  std::function<void(const SourceState&)> on_state;
  Gateway gateway;
  asio::steady_timer retry_timer;
  std::chrono::milliseconds backoff;
  const std::string range_key, range_end;

  SourceState state;
  std::map<std::string, KeyValue> keys;  // the prefix as of `revision`
  std::int64_t revision = 0;             // 0: no Range has completed yet
  std::size_t endpoint_index = 0;
  bool need_range = true;
  bool started = false, stopped = false, resync_requested = false;
};

void Source::Impl::change(const std::function<void(SourceState&)>& edit) {
  SourceState next = state;
  edit(next);
  if (same_state(next, state)) return;
  const Connection before = state.connection;
  state = std::move(next);
  if (state.connection != before) {
    if (state.connection == Connection::connected) {
      log_info("etcd: watching " + options.prefix + " on " + state.endpoint + " from revision " +
               std::to_string(state.revision + 1));
    } else if (state.connection == Connection::disconnected) {
      log_warning("etcd: disconnected: " + state.last_error +
                  "; retrying every endpoint with backoff up to " + millis(options.retry_max));
    }
  }
  if (!stopped && on_state) on_state(state);
}

void Source::Impl::interrupt() {
  gateway.interrupt();
  retry_timer.cancel();
}

void Source::Impl::deliver() {
  Snapshot snapshot;
  snapshot.revision = revision;
  snapshot.kvs.reserve(keys.size());
  for (const auto& [key, kv] : keys) snapshot.kvs.push_back(kv);
  change([&](SourceState& s) { s.revision = revision; });
  if (!stopped && on_snapshot) on_snapshot(snapshot);
}

void Source::Impl::failed(const std::string& error) {
  endpoint_index = (endpoint_index + 1) % options.endpoints.size();
  change([&](SourceState& s) {
    s.connection = Connection::disconnected;
    s.connected_since.reset();
    s.last_error = error;
  });
}

void Source::Impl::connected() {
  backoff = options.retry_initial;
  change([&](SourceState& s) {
    if (s.connection != Connection::connected) s.connected_since = std::chrono::system_clock::now();
    s.connection = Connection::connected;
  });
}

asio::awaitable<void> Source::Impl::wait_before_retry() {
  retry_timer.expires_after(backoff);
  co_await retry_timer.async_wait(asio::as_tuple(asio::use_awaitable));
  backoff = std::min(backoff * 2, options.retry_max);
}

asio::awaitable<void> Source::Impl::run() {
  const auto self = shared_from_this();
  while (!stopped) {
    const Endpoint endpoint = options.endpoints[endpoint_index];
    change([&](SourceState& s) { s.endpoint = endpoint.text(); });
    resync_requested = false;
    std::string error;
    try {
      if (need_range) co_await full_range(endpoint);
      if (!need_range && !stopped) co_await watch(endpoint);
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (stopped) break;
    if (error.empty() || resync_requested) continue;
    failed(error);
    co_await wait_before_retry();
  }
}

asio::awaitable<void> Source::Impl::full_range(const Endpoint& endpoint) {
  std::map<std::string, KeyValue> fresh;
  std::int64_t pinned = 0;  // R: every page is read at the first page's revision
  std::string key = range_key;
  for (;;) {
    const std::string body = range_request(key, range_end, pinned, options.page_keys);
    std::string response;
    try {
      response = co_await gateway.post(endpoint, "/v3/kv/range", body);
    } catch (const GatewayFailure& f) {
      // R was compacted between two pages: start again at the current revision.
      if (pinned == 0 || !f.gateway || !is_compacted_error(*f.gateway)) throw;
      log_info("etcd: " + endpoint.text() + ": revision " + std::to_string(pinned) +
               " compacted while paging; reading the prefix again");
      fresh.clear();
      pinned = 0;
      key = range_key;
      continue;
    }
    RangePage page = decode_range_response(response);
    if (pinned == 0) pinned = page.revision;
    for (KeyValue& kv : page.kvs) {
      if (kv.key < key || (range_end != std::string(1, '\0') && kv.key >= range_end)) {
        throw Error("etcd " + endpoint.text() + ": the range response has a key outside the range");
      }
      std::string k = kv.key;
      fresh.insert_or_assign(std::move(k), std::move(kv));
    }
    if (!page.more) break;
    if (page.kvs.empty())
      throw Error("etcd " + endpoint.text() + ": a range page with more=true and no keys");
    key = fresh.rbegin()->first + '\0';
  }
  if (pinned < revision) {
    throw Error("etcd " + endpoint.text() + ": a range at revision " + std::to_string(pinned) +
                ", older than revision " + std::to_string(revision) + " already applied");
  }
  keys = std::move(fresh);
  revision = pinned;
  need_range = false;
  deliver();
}

bool Source::Impl::apply(const std::vector<Event>& events) {
  bool changed = false;
  for (const Event& e : events) {
    // A resumed watch starts after `revision`; anything older was applied already.
    if (e.kv.mod_revision <= revision) continue;
    changed = true;
    if (e.type == EventType::put) {
      keys.insert_or_assign(e.kv.key, e.kv);
    } else {
      keys.erase(e.kv.key);
    }
  }
  if (changed) revision = events.back().kv.mod_revision;
  return changed;
}

asio::awaitable<void> Source::Impl::watch(const Endpoint& endpoint) {
  WatchStream stream(gateway, endpoint);
  const auto created_by = Clock::now() + options.request_timeout;
  co_await stream.open(watch_create_request(range_key, range_end, revision + 1), created_by);
  bool running = false;
  while (!stopped && !need_range) {
    const auto deadline = running ? Clock::now() + options.watch_liveness : created_by;
    std::string line;
    try {
      line = co_await stream.next(deadline);
    } catch (const Error& e) {
      if (!running || stopped || resync_requested || Clock::now() < deadline) throw;
      throw Error("etcd " + endpoint.text() + ": the watch was silent for more than " +
                  millis(options.watch_liveness) + " (no event, no progress notification)");
    }
    WatchMessage m = decode_watch_message(line);
    switch (m.kind) {
      case WatchMessage::Kind::created:
        running = true;
        connected();
        break;
      case WatchMessage::Kind::events:
        if (apply(m.events)) deliver();
        break;
      case WatchMessage::Kind::progress:
        if (m.revision > revision) {
          revision = m.revision;
          change([&](SourceState& s) { s.revision = revision; });
        }
        break;
      case WatchMessage::Kind::canceled:
        need_range = true;
        if (m.compact_revision > 0) {
          log_warning("etcd: " + endpoint.text() + ": revision " + std::to_string(revision + 1) +
                      " is compacted (compact revision " + std::to_string(m.compact_revision) +
                      "); reading the whole prefix again");
          co_return;
        }
        throw Error("etcd " + endpoint.text() + ": the watch was cancelled" +
                    (m.cancel_reason.empty() ? std::string() : ": " + m.cancel_reason));
      case WatchMessage::Kind::error:
        if (is_auth_token_error(m.error)) gateway.interrupt();
        throw GatewayFailure("etcd " + endpoint.text() + ": /v3/watch: " + m.error.message,
                             m.error);
    }
  }
}

Source::Source(asio::io_context& io, SourceOptions options,
               std::function<void(const Snapshot&)> on_snapshot,
               std::function<void(const SourceState&)> on_state) {
  if (options.endpoints.empty()) throw Error("etcd: no endpoints");
  impl_ =
      std::make_shared<Impl>(io, std::move(options), std::move(on_snapshot), std::move(on_state));
  impl_->state.endpoint = impl_->options.endpoints.front().text();
}

Source::~Source() {
  stop();
}

void Source::start() {
  if (impl_->started) return;
  impl_->started = true;
  log_info("etcd: reading " + impl_->options.prefix + " from " + impl_->state.endpoint);
  asio::co_spawn(impl_->io, impl_->run(), [](const std::exception_ptr& e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      log_error(std::string("etcd: the source stopped: ") + x.what());
    }
  });
}

void Source::resync() {
  if (!impl_->started || impl_->stopped) return;
  impl_->need_range = true;
  impl_->resync_requested = true;
  impl_->interrupt();
}

void Source::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->interrupt();
}

const SourceState& Source::state() const {
  return impl_->state;
}

}  // namespace confvisor::etcd
