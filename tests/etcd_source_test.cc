// The etcd source (daemon/etcd) against a real etcd started by the test (support/etcd_cluster):
// a Range paged and pinned to one revision, the watch's responses as snapshots, failover when
// the watched member is killed or stopped, compaction while disconnected, liveness, errors that
// name their endpoint, bounded responses, and the single-key client confvisorctl uses.
#define BOOST_TEST_MODULE etcd_source_test
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "common/base/error.hpp"
#include "daemon/etcd/gateway_json.hpp"
#include "daemon/etcd/kv_client.hpp"
#include "daemon/etcd/source.hpp"
#include "tests/support/etcd_cluster.hpp"
#include "tests/support/text_search.hpp"

namespace {

namespace etcd = confvisor::etcd;
using confvisor::test::EtcdCluster;
using confvisor::test::EtcdClusterOptions;
using namespace std::chrono_literals;

// Short bounds, so that every failover in this suite takes about a second.
etcd::SourceOptions options_for(const std::vector<std::string>& urls, const std::string& prefix) {
  etcd::SourceOptions o;
  for (const std::string& url : urls) o.endpoints.push_back(etcd::parse_endpoint(url));
  o.prefix = prefix;
  o.request_timeout = 700ms;
  o.watch_liveness = 1500ms;
  o.retry_initial = 20ms;
  o.retry_max = 200ms;
  return o;
}

// A Source on a private loop, with everything it delivered.
struct Watcher {
  explicit Watcher(etcd::SourceOptions options)
      : source(
            io, std::move(options), [this](const etcd::Snapshot& s) { snapshots.push_back(s); },
            [this](const etcd::SourceState& s) { states.push_back(s); }) {}

  // Runs the loop until `done` holds; false after `timeout`.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      const auto left = deadline - std::chrono::steady_clock::now();
      if (left <= 0s) return false;
      io.run_one_for(left);
    }
    return true;
  }
  void run_for(std::chrono::milliseconds d) {
    (void)run_until([] { return false; }, d);
  }
  [[nodiscard]] bool connected() const {
    return source.state().connection == etcd::Connection::connected;
  }
  [[nodiscard]] std::int64_t revision() const {
    return snapshots.empty() ? 0 : snapshots.back().revision;
  }
  void require_connected(std::chrono::milliseconds timeout = 10s) {
    BOOST_TEST_REQUIRE(run_until([&] { return connected(); }, timeout),
                       "not connected: " << describe());
  }
  [[nodiscard]] std::string describe() const {
    const auto& s = source.state();
    return std::string(etcd::connection_name(s.connection)) + " to " + s.endpoint +
           " at revision " + std::to_string(s.revision) + ", last error: " + s.last_error;
  }

  boost::asio::io_context io;
  std::vector<etcd::Snapshot> snapshots;
  std::vector<etcd::SourceState> states;
  etcd::Source source;
};

// What etcd holds under `prefix` at `revision` (0: now), read through etcdctl.
std::vector<etcd::KeyValue> etcd_kvs(EtcdCluster& cluster, const std::string& prefix,
                                     std::int64_t revision = 0) {
  std::vector<std::string> args = {"get", "-w", "json", "--prefix"};
  if (revision > 0) args.push_back("--rev=" + std::to_string(revision));
  args.insert(args.end(), {"--", prefix});
  const boost::json::value v = boost::json::parse(cluster.etcdctl(args));
  std::vector<etcd::KeyValue> kvs;
  if (const auto* list = v.as_object().if_contains("kvs")) {
    for (const auto& kv : list->as_array()) {
      const auto& o = kv.as_object();
      kvs.push_back({etcd::base64_decode(o.at("key").as_string()),
                     o.contains("value") ? etcd::base64_decode(o.at("value").as_string()) : "",
                     o.at("mod_revision").to_number<std::int64_t>()});
    }
  }
  return kvs;
}

// Every snapshot equals what etcd held at its revision, and revisions never go back.
void require_each_snapshot_is_etcds(EtcdCluster& cluster, const std::string& prefix,
                                    const Watcher& w) {
  std::int64_t last = 0;
  for (const etcd::Snapshot& s : w.snapshots) {
    BOOST_TEST(s.revision >= last);
    last = s.revision;
    BOOST_TEST((s.kvs == etcd_kvs(cluster, prefix, s.revision)),
               "snapshot at revision " << s.revision);
  }
}

// The members' URLs, member `first` first and the others in order: a source tries `first`.
std::vector<std::string> urls_from(const EtcdCluster& cluster, int first) {
  std::vector<std::string> urls = {cluster.client_url(first)};
  for (int i = 0; i < cluster.size(); ++i) {
    if (i != first) urls.push_back(cluster.client_url(i));
  }
  return urls;
}

bool any_state(const Watcher& w, const std::function<bool(const etcd::SourceState&)>& p) {
  return std::any_of(w.states.begin(), w.states.end(), p);
}

// One put a writer made: its revision (each put is its own), key and value.
struct Put {
  std::int64_t revision = 0;
  std::string key, value;
};

// `count` puts through the gateway to keys `stem`0..9 in turn, in a rhythm of single puts a
// millisecond apart and bursts of 25 back to back; value sizes vary from a few bytes to 20 KiB,
// and put number `big_at` is 100 KiB (a watch message far longer than one read).
std::vector<Put> write_puts(const etcd::SourceOptions& where, const std::string& stem, int count,
                            int big_at, std::atomic<int>& done) {
  std::vector<Put> puts;
  std::map<std::string, std::int64_t> mod_revisions;
  for (int i = 0; i < count; ++i) {
    const std::string key = stem + std::to_string(i % 10);
    std::size_t size = 1 + static_cast<std::size_t>(i * 37 % 200);
    if (i % 50 == 7) size = 4096 + static_cast<std::size_t>(i) * 32;
    if (i == big_at) size = 100 * 1024;
    std::string value =
        std::to_string(i) + ":" + std::string(size, static_cast<char>('a' + i % 26));
    const auto out = etcd::put_if_mod_revision(where, key, value, mod_revisions[key]);
    if (!out.succeeded) throw confvisor::Error("put " + key + " refused");
    mod_revisions[key] = out.current_mod_revision;
    puts.push_back({out.revision, key, std::move(value)});
    ++done;
    if (i % 50 >= 25) std::this_thread::sleep_for(1ms);
  }
  return puts;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_prefix_larger_than_one_page_is_read_at_one_revision) {
  EtcdCluster cluster;
  // Written through the gateway (one etcdctl process per key would take seconds).
  const auto writer = options_for({cluster.client_url(0)}, "");
  for (int i = 0; i < 25; ++i) {
    BOOST_TEST_REQUIRE(etcd::put_if_mod_revision(writer, "/app/k" + std::to_string(100 + i),
                                                 "v" + std::to_string(i), 0)
                           .succeeded);
  }
  cluster.put("/apple", "outside");
  cluster.put("/ap", "outside");
  const std::int64_t now = cluster.put("/app", "outside: the prefix is /app/");
  auto options = options_for({cluster.client_url(0)}, "/app/");
  options.page_keys = 10;
  Watcher w(options);
  w.source.start();
  BOOST_TEST_REQUIRE(w.run_until([&] { return !w.snapshots.empty(); }), w.describe());
  const etcd::Snapshot& s = w.snapshots.front();
  BOOST_TEST(s.revision == now);
  BOOST_TEST_REQUIRE(s.kvs.size() == 25u);
  for (int i = 0; i < 25; ++i) {
    BOOST_TEST(s.kvs[static_cast<std::size_t>(i)].key == "/app/k" + std::to_string(100 + i));
    BOOST_TEST(s.kvs[static_cast<std::size_t>(i)].value == "v" + std::to_string(i));
  }
  BOOST_TEST((s.kvs == etcd_kvs(cluster, "/app/")));
}

BOOST_AUTO_TEST_CASE(puts_changes_and_deletes_arrive_as_one_snapshot_per_watch_response) {
  EtcdCluster cluster;
  cluster.put("/svc/a", "1");
  Watcher w(options_for({cluster.client_url(0)}, "/svc/"));
  w.source.start();
  w.require_connected();
  BOOST_TEST_REQUIRE(w.snapshots.size() == 1u);

  std::vector<std::int64_t> revisions = {
      cluster.put("/svc/b", "2"), cluster.put("/svc/a", "changed"), cluster.remove("/svc/b")};
  cluster.put("/other", "not watched");
  cluster.put("/svc/c", "3");
  cluster.put("/svc/d", "4");
  // One revision that deletes three keys: one response, one snapshot.
  revisions.push_back(cluster.put("/svc/e", "5"));
  revisions.push_back(cluster.remove("/svc/c") + 0);
  const auto all = cluster.etcdctl({"del", "-w", "json", "--prefix", "--", "/svc/"});
  const std::int64_t final_revision =
      boost::json::parse(all).at("header").at("revision").to_number<std::int64_t>();
  BOOST_TEST_REQUIRE(w.run_until([&] { return w.revision() == final_revision; }), w.describe());
  BOOST_TEST(w.snapshots.back().kvs.empty());
  // The first snapshot is the Range; then one per revision that changed the prefix: b, a, -b,
  // c, d, e, -c, and the deletion of a, d and e in one.
  BOOST_TEST(w.snapshots.size() == 9u);
  for (std::int64_t r : revisions) {
    BOOST_TEST(std::any_of(w.snapshots.begin(), w.snapshots.end(),
                           [&](const auto& s) { return s.revision == r; }),
               "a snapshot at revision " << r);
  }
  require_each_snapshot_is_etcds(cluster, "/svc/", w);
  BOOST_TEST(w.source.state().revision == final_revision);
}

BOOST_AUTO_TEST_CASE(the_watch_continues_on_another_member_when_the_watched_one_is_killed) {
  EtcdCluster cluster({.members = 3});
  Watcher w(options_for(cluster.client_urls(), "/fleet/"));
  w.source.start();
  w.require_connected();
  const std::string watched = w.source.state().endpoint;
  BOOST_TEST(watched == cluster.client_url(0));
  cluster.put("/fleet/before", "1");
  cluster.kill(0);
  std::int64_t last = 0;
  for (int i = 0; i < 10; ++i)
    last = cluster.put("/fleet/k" + std::to_string(i), std::to_string(i));
  cluster.remove("/fleet/k3");
  last = cluster.put("/fleet/after", "done");
  BOOST_TEST_REQUIRE(w.run_until([&] { return w.revision() == last; }), w.describe());
  BOOST_TEST(w.connected());
  BOOST_TEST(w.source.state().endpoint != watched);
  BOOST_TEST(confvisor::test::contains(w.source.state().last_error, watched));
  BOOST_TEST((w.snapshots.back().kvs == etcd_kvs(cluster, "/fleet/")));
  // No revision skipped: every snapshot is etcd's state at its revision.
  require_each_snapshot_is_etcds(cluster, "/fleet/", w);
}

BOOST_AUTO_TEST_CASE(a_revision_compacted_while_the_endpoint_was_stopped_means_a_full_range) {
  EtcdCluster cluster({.members = 3});
  cluster.put("/cmp/gone", "deleted while away");
  cluster.put("/cmp/kept", "old");
  // The member stopped is a follower: no election slows the writes below.
  const int stopped = cluster.follower();
  const int other = (stopped + 1) % 3;
  auto options = options_for({cluster.client_url(stopped), cluster.client_url(other)}, "/cmp/");
  Watcher w(options);
  w.source.start();
  w.require_connected();
  const std::int64_t seen = w.revision();
  cluster.stop(stopped);
  cluster.remove("/cmp/gone", other);
  cluster.put("/cmp/kept", "new", other);
  cluster.put("/cmp/added", "1", other);
  const std::int64_t now = cluster.put("/other", "x", other);
  cluster.compact(now, other);
  // The loop has not run since: the source learns of all this only now.
  BOOST_TEST_REQUIRE(w.source.state().revision == seen);
  BOOST_TEST_REQUIRE(w.run_until([&] { return w.revision() >= now; }, 10s), w.describe());
  cluster.resume(stopped);
  BOOST_TEST(w.source.state().endpoint == cluster.client_url(other));
  BOOST_TEST(w.snapshots.back().revision == now);
  BOOST_TEST((w.snapshots.back().kvs == etcd_kvs(cluster, "/cmp/")));
  BOOST_TEST(w.snapshots.back().kvs.size() == 2u);
  // Nothing between: the history the watch would have replayed is gone.
  BOOST_TEST(w.snapshots.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_stopped_endpoint_times_out_and_the_next_one_serves) {
  EtcdCluster cluster({.members = 3});
  cluster.put("/stop/a", "1");
  const int stopped = cluster.follower();
  cluster.stop(stopped);
  Watcher w(options_for(urls_from(cluster, stopped), "/stop/"));
  // The loop stays free meanwhile: a timer ticks every 20 ms throughout.
  int ticks = 0;
  boost::asio::steady_timer ticker(w.io);
  std::function<void()> tick = [&] {
    ticker.expires_after(20ms);
    ticker.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      ++ticks;
      tick();
    });
  };
  tick();
  const auto started = std::chrono::steady_clock::now();
  w.source.start();
  w.require_connected(5s);
  const auto took = std::chrono::steady_clock::now() - started;
  ticker.cancel();
  BOOST_TEST(w.source.state().endpoint == urls_from(cluster, stopped)[1]);
  BOOST_TEST(confvisor::test::contains(w.source.state().last_error, cluster.client_url(stopped)));
  BOOST_TEST(confvisor::test::contains(w.source.state().last_error, "timed out"));
  BOOST_TEST(ticks >= std::chrono::duration_cast<std::chrono::milliseconds>(took).count() / 20 / 2);
  BOOST_TEST(w.snapshots.front().kvs.size() == 1u);
  cluster.resume(stopped);
}

BOOST_AUTO_TEST_CASE(progress_notifications_keep_an_idle_watch_and_a_silent_one_is_replaced) {
  EtcdCluster cluster({.members = 3});
  const int stopped = cluster.follower();
  auto options = options_for(urls_from(cluster, stopped), "/live/");
  options.watch_liveness = 1000ms;  // five progress notifications of the fixture's etcd
  Watcher w(options);
  w.source.start();
  w.require_connected();
  const auto since = w.source.state().connected_since;
  w.run_for(2500ms);  // idle, longer than the liveness timeout twice
  BOOST_TEST(w.connected());
  BOOST_TEST((w.source.state().connected_since == since));
  BOOST_TEST(
      !any_state(w, [](const auto& s) { return s.connection == etcd::Connection::disconnected; }));

  // Silent: the member is stopped, its connection stays open and nothing comes.
  cluster.stop(stopped);
  BOOST_TEST_REQUIRE(w.run_until([&] { return !w.connected(); }, 3s), w.describe());
  BOOST_TEST(confvisor::test::contains(w.source.state().last_error, "silent"));
  BOOST_TEST(confvisor::test::contains(w.source.state().last_error, cluster.client_url(stopped)));
  const std::int64_t r = cluster.put("/live/after", "1");
  BOOST_TEST_REQUIRE(w.run_until([&] { return w.revision() == r; }), w.describe());
  BOOST_TEST(w.source.state().endpoint != cluster.client_url(stopped));
  cluster.resume(stopped);
}

BOOST_AUTO_TEST_CASE(resync_reads_the_prefix_again_on_the_same_endpoint) {
  EtcdCluster cluster;
  cluster.put("/rs/a", "1");
  Watcher w(options_for({cluster.client_url(0)}, "/rs/"));
  w.source.start();
  w.require_connected();
  const std::int64_t r = cluster.put("/rs/b", "2");
  BOOST_TEST_REQUIRE(w.run_until([&] { return w.revision() == r; }));
  const std::size_t before = w.snapshots.size();
  w.source.resync();
  BOOST_TEST_REQUIRE(w.run_until([&] { return w.snapshots.size() == before + 1; }));
  BOOST_TEST(w.snapshots.back().revision == r);
  BOOST_TEST(w.snapshots.back().kvs.size() == 2u);
  BOOST_TEST(
      !any_state(w, [](const auto& s) { return s.connection == etcd::Connection::disconnected; }));
  const std::int64_t r2 = cluster.put("/rs/c", "3");
  BOOST_TEST_REQUIRE(w.run_until([&] { return w.revision() == r2; }), w.describe());
  w.source.stop();
  cluster.put("/rs/d", "4");
  const std::size_t after = w.snapshots.size();
  w.run_for(300ms);
  BOOST_TEST(w.snapshots.size() == after);
}

BOOST_AUTO_TEST_CASE(errors_name_the_endpoint_and_a_response_over_the_limit_is_refused) {
  EtcdCluster cluster;
  cluster.put("/big/value", std::string(4096, 'x'));
  // Nothing listens here (the discard port).
  const std::string refused = "http://127.0.0.1:9";
  // TLS to a plain-HTTP etcd.
  const std::string not_tls = "https://" + cluster.client_url(0).substr(7);
  auto options = options_for({refused, not_tls, cluster.client_url(0)}, "/big/");
  options.tls = etcd::Tls{};
  options.response_limit = 1024;
  Watcher w(options);
  w.source.start();
  auto error_with = [&](const std::string& a, const std::string& b) {
    return [&w, a, b] {
      return any_state(w, [&](const auto& s) {
        return confvisor::test::contains(s.last_error, a) &&
               confvisor::test::contains(s.last_error, b);
      });
    };
  };
  BOOST_TEST(w.run_until(error_with(refused, "connect: Connection refused"), 5s), w.describe());
  BOOST_TEST(w.run_until(error_with(not_tls, "TLS handshake"), 5s), w.describe());
  BOOST_TEST(w.run_until(error_with(cluster.client_url(0), "larger than 1024 bytes"), 5s),
             w.describe());
  BOOST_TEST(w.snapshots.empty());
  BOOST_TEST(!w.connected());
}

BOOST_AUTO_TEST_CASE(https_endpoints_are_verified_against_the_ca) {
  EtcdCluster cluster({.tls = true});
  cluster.put("/tls/a", "1");
  auto options = options_for({cluster.client_url(0)}, "/tls/");
  options.tls = etcd::Tls{.ca = cluster.ca_file()};
  Watcher w(options);
  w.source.start();
  w.require_connected();
  BOOST_TEST(w.snapshots.back().kvs.size() == 1u);
  const std::int64_t r = cluster.put("/tls/b", "2");
  BOOST_TEST_REQUIRE(w.run_until([&] { return w.revision() == r; }), w.describe());

  // Without the CA, the system's CAs do not know the fixture's: a verification failure.
  auto untrusted = options_for({cluster.client_url(0)}, "/tls/");
  untrusted.tls = etcd::Tls{};
  Watcher u(untrusted);
  u.source.start();
  BOOST_TEST(u.run_until([&] { return !u.source.state().last_error.empty(); }, 5s));
  BOOST_TEST(confvisor::test::contains(u.source.state().last_error, "TLS handshake"));
  BOOST_TEST(confvisor::test::contains(u.source.state().last_error, "certificate verify failed"));
}

BOOST_AUTO_TEST_CASE(a_token_etcd_no_longer_knows_is_replaced_and_a_bad_password_is_named) {
  EtcdCluster cluster({.root_password = "s3cret"});
  cluster.put("/auth/a", "1");
  auto options = options_for({cluster.client_url(0)}, "/auth/");
  options.auth = etcd::Auth{.user = "root", .password = "s3cret"};
  Watcher w(options);
  w.source.start();
  w.require_connected();
  BOOST_TEST(w.snapshots.back().kvs.size() == 1u);
  // A restarted member has forgotten every token it gave (etcd's simple tokens live in memory).
  cluster.kill(0);
  cluster.restart(0);
  const std::int64_t r = cluster.put("/auth/b", "2");
  w.source.resync();  // a Range with the old token first
  BOOST_TEST_REQUIRE(w.run_until([&] { return w.revision() == r && w.connected(); }), w.describe());
  BOOST_TEST(w.snapshots.back().kvs.size() == 2u);
  const std::int64_t r2 = cluster.put("/auth/c", "3");
  BOOST_TEST_REQUIRE(w.run_until([&] { return w.revision() == r2; }), w.describe());

  auto wrong = options;
  wrong.auth->password = "guess";
  Watcher u(wrong);
  u.source.start();
  BOOST_TEST(u.run_until([&] { return !u.source.state().last_error.empty(); }, 5s));
  BOOST_TEST(confvisor::test::contains(u.source.state().last_error, cluster.client_url(0)));
  BOOST_TEST(confvisor::test::contains(u.source.state().last_error, "invalid user ID or password"));
  BOOST_TEST(u.snapshots.empty());
}

BOOST_AUTO_TEST_CASE(put_if_mod_revision_refuses_a_stale_revision_and_names_the_current_one) {
  EtcdCluster cluster({.members = 3});
  const int stopped = cluster.follower();
  cluster.stop(stopped);  // the client tries the next endpoint after the timeout
  const auto where = options_for(urls_from(cluster, stopped), "");
  BOOST_TEST(!etcd::get_key(where, "/cfg/app").has_value());

  const auto created = etcd::put_if_mod_revision(where, "/cfg/app", "{\"v\":1}", 0);
  BOOST_TEST(created.succeeded);
  BOOST_TEST(created.current_mod_revision == created.revision);
  const auto again = etcd::put_if_mod_revision(where, "/cfg/app", "{\"v\":2}", 0);
  BOOST_TEST(!again.succeeded);
  BOOST_TEST(again.current_mod_revision == created.revision);

  // Two operators read the same revision; one wins, the other learns the winner's revision.
  const auto read = etcd::get_key(where, "/cfg/app");
  BOOST_TEST_REQUIRE(read.has_value());
  BOOST_TEST(read->value == "{\"v\":1}");
  BOOST_TEST(read->mod_revision == created.revision);
  const auto first = etcd::put_if_mod_revision(where, "/cfg/app", "{\"v\":3}", read->mod_revision);
  const auto second = etcd::put_if_mod_revision(where, "/cfg/app", "{\"v\":4}", read->mod_revision);
  BOOST_TEST(first.succeeded);
  BOOST_TEST(!second.succeeded);
  BOOST_TEST(second.current_mod_revision == first.revision);
  BOOST_TEST(etcd::get_key(where, "/cfg/app")->value == "{\"v\":3}");
  cluster.resume(stopped);

  // No endpoint answers: an Error naming each.
  cluster.kill(1);
  cluster.kill(2);
  cluster.kill(0);
  const auto names_every_endpoint = [&](const confvisor::Error& e) {
    const std::string m = e.what();
    return confvisor::test::contains(m, cluster.client_url(0)) &&
           confvisor::test::contains(m, cluster.client_url(2));
  };
  BOOST_CHECK_EXCEPTION((void)etcd::get_key(where, "/cfg/app"), confvisor::Error,
                        names_every_endpoint);
}

BOOST_AUTO_TEST_CASE(every_revision_of_a_long_run_of_puts_arrives_in_order_on_one_watch) {
  EtcdCluster cluster;
  const std::string prefix = "/many/";
  Watcher w(options_for({cluster.client_url(0)}, prefix));
  w.source.start();
  w.require_connected();
  const auto since = w.source.state().connected_since;
  const std::int64_t start = w.revision();

  // Two writers at once, so that etcd commits puts close together and their watch messages
  // share TCP segments.
  const auto where = options_for({cluster.client_url(0)}, "");
  std::atomic<int> done{0};
  std::vector<Put> a, b;
  std::string failures;  // a writer's Error, reported once both have ended
  std::mutex failures_mutex;
  auto writer = [&](std::vector<Put>& out, const std::string& stem, int count, int big_at) {
    return std::thread([&, into = &out, stem, count, big_at] {
      try {
        *into = write_puts(where, prefix + stem, count, big_at, done);
      } catch (const confvisor::Error& e) {
        std::lock_guard lock(failures_mutex);
        failures += std::string(e.what()) + "; ";
        done += count;  // the loop below stops waiting for this writer
      }
    });
  };
  std::thread writer_a = writer(a, "a", 300, 180);
  std::thread writer_b = writer(b, "b", 200, -1);
  (void)w.run_until([&] { return done >= 200; }, 15s);
  // The loop does not read for a while: the messages meanwhile arrive together.
  std::this_thread::sleep_for(300ms);
  writer_a.join();
  writer_b.join();
  BOOST_TEST_REQUIRE(failures.empty(), failures);
  std::vector<Put> puts = a;
  puts.insert(puts.end(), b.begin(), b.end());
  std::sort(puts.begin(), puts.end(),
            [](const Put& x, const Put& y) { return x.revision < y.revision; });
  BOOST_TEST_REQUIRE(puts.size() == 500u);
  const std::int64_t last = puts.back().revision;
  BOOST_TEST(puts.front().revision == start + 1);
  BOOST_TEST(last == start + 500);
  BOOST_TEST_REQUIRE(w.run_until([&] { return w.revision() == last; }, 10s), w.describe());

  // One watch throughout: never disconnected, never read again.
  BOOST_TEST(
      !any_state(w, [](const auto& s) { return s.connection == etcd::Connection::disconnected; }));
  BOOST_TEST((w.source.state().connected_since == since));
  // Each snapshot is the puts up to its revision, in order: no event lost or reordered.
  std::map<std::string, etcd::KeyValue> model;
  std::size_t next = 0;
  std::int64_t previous = start;
  for (std::size_t i = 1; i < w.snapshots.size(); ++i) {
    const etcd::Snapshot& s = w.snapshots[i];
    BOOST_TEST_REQUIRE(s.revision > previous);
    previous = s.revision;
    for (; next < puts.size() && puts[next].revision <= s.revision; ++next) {
      model[puts[next].key] = {puts[next].key, puts[next].value, puts[next].revision};
    }
    std::vector<etcd::KeyValue> expected;
    for (const auto& [key, kv] : model) expected.push_back(kv);
    BOOST_TEST_REQUIRE((s.kvs == expected), "snapshot at revision " << s.revision);
  }
  BOOST_TEST(w.snapshots.back().revision == last);
  BOOST_TEST((w.snapshots.back().kvs == etcd_kvs(cluster, prefix)));
}

BOOST_AUTO_TEST_CASE(once_etcd_answers_again_the_source_catches_up_within_a_second_or_two) {
  EtcdCluster cluster;
  const std::int64_t r = cluster.put("/back/a", "1");
  cluster.kill(0);
  // The default cap of the backoff (the daemon's too): 1 s. From 16 ms, uncapped, the
  // attempts would come at 16 ms x (2^k - 1): at 4.08 s, just before etcd is back, and then
  // only at 8.18 s.
  etcd::SourceOptions options;
  options.retry_initial = 16ms;
  options.endpoints.push_back(etcd::parse_endpoint(cluster.client_url(0)));
  options.prefix = "/back/";
  boost::asio::io_context io;
  std::atomic<std::int64_t> revision{0};
  std::atomic<bool> connected{false};
  etcd::Source source(
      io, options, [&](const etcd::Snapshot& s) { revision = s.revision; },
      [&](const etcd::SourceState& s) { connected = s.connection == etcd::Connection::connected; });
  source.start();
  // The loop runs on its own thread, as the daemon's does while etcd is away and comes back.
  std::thread loop([&] { io.run(); });
  std::this_thread::sleep_for(4200ms);
  cluster.restart(0);
  const auto back = std::chrono::steady_clock::now();
  while (!(connected && revision == r) && std::chrono::steady_clock::now() - back < 10s) {
    std::this_thread::sleep_for(10ms);
  }
  const auto took = std::chrono::steady_clock::now() - back;
  boost::asio::post(io, [&] { source.stop(); });
  loop.join();
  BOOST_TEST(revision == r);
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(took).count() < 2000);
}
