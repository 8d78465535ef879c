// confvisord with /confvisor/source/etcd against a real etcd (tests/support/etcd_cluster):
// the real daemon and confvisorctl, the published document read with the worker library. The
// document follows puts, changes and deletes, one generation per revision; bad values and keys
// under /confvisor are refused and named while the last good stays and the workers run on; the
// watch survives the loss of its member and a compaction while it was away; a start while etcd
// is down publishes the last good file; `push` is a compare-and-swap, and signs in to a cluster
// with TLS and authentication; a SIGKILLed daemon's successor converges.
#define BOOST_TEST_MODULE etcd_daemon
#include <signal.h>
#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "confvisor/worker.hpp"
#include "tests/support/daemon_client.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/etcd_cluster.hpp"
#include "tests/support/process_wait.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/text_search.hpp"

using namespace confvisor;
using namespace confvisor::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string kRolloutWorker = CONFVISOR_ROLLOUT_WORKER;
const std::string kCheckWorker = CONFVISOR_CHECK_WORKER;

// A daemon of its own segment following the prefix "/t/SEGMENT/" of `etcd`, with one worker
// (by default a sleep) whose pid tells whether it kept running.
struct Setup {
  explicit Setup(EtcdCluster& cluster) : etcd(cluster) {}
  EtcdCluster& etcd;
  SegmentGuard seg{"etcd"};
  TempDir dir;
  std::string prefix = "/t/" + seg.name() + "/";
  std::string workers =
      R"([{"name": "w", "command": ["/bin/sleep", "600"], "stop_timeout": "1s"}])";
  std::string more_settings;  // e.g. `, "rollout": {...}`

  std::string write(const std::vector<std::string>& endpoints, const std::string& state_dir = "",
                    const std::string& app = R"("database": {"host": "file-db", "port": 5432})") {
    std::string urls;
    for (const std::string& url : endpoints) urls += (urls.empty() ? "\"" : ", \"") + url + "\"";
    const std::string config =
        R"({"confvisor": {"segment": ")" + seg.name() + R"(", "socket": ")" + dir.file("ctl.sock") +
        R"(", "state_dir": ")" + (state_dir.empty() ? dir.file("state") : state_dir) +
        R"(", "source": {"etcd": {"endpoints": [)" + urls + R"(], "prefix": ")" + prefix +
        R"("}}, "workers": )" + workers + more_settings + "},\n" + app + "}";
    return dir.write("app.json", config);
  }
  std::string write() { return write(etcd.client_urls()); }
  std::string key(const std::string& path) const { return prefix + path; }
  std::string last_good() const { return dir.file("state") + "/" + seg.name() + ".last-good.json"; }
};

// The generation readers see once its source names etcd revision `revision` (waited for on
// the segment's futex, 15 s at most).
Snapshot wait_for_revision(const std::string& segment, std::int64_t revision,
                           std::chrono::milliseconds timeout = 15s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string suffix = "@" + std::to_string(revision);
  std::optional<Reader> reader;
  for (;;) {
    try {
      if (!reader) reader.emplace(segment);
      const Snapshot& snap = reader->current();
      const std::string_view source = snap.source();
      if (source.ends_with(suffix)) return snap;
      if (std::chrono::steady_clock::now() >= deadline) {
        throw Error("segment " + segment + " did not reach etcd revision " +
                    std::to_string(revision) + " within the time; it has " + std::string(source));
      }
      reader->wait_for_change(100ms);
    } catch (const Error&) {
      if (std::chrono::steady_clock::now() >= deadline) throw;
      reader.reset();  // no segment yet
      std::this_thread::sleep_for(20ms);
    }
  }
}

json::value status_of(DaemonProcess& d, const Setup& s) {
  const RunResult r = confvisorctl(d, {"--socket", s.dir.file("ctl.sock"), "status", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code() == 0, r.output);
  return json::parse(r.output);
}

pid_t worker_pid(DaemonProcess& d, const Setup& s) {
  return static_cast<pid_t>(status_of(d, s).at("workers").at(0).at("pid").as_int64());
}

RunResult push(const std::string& file, const std::string& url, const std::string& key,
               std::optional<std::int64_t> if_revision = {}) {
  std::vector<std::string> argv{bin("confvisorctl"), "push", file, "--etcd", url, "--key", key};
  if (if_revision) {
    argv.push_back("--if-revision");
    argv.push_back(std::to_string(*if_revision));
  }
  return run(argv);
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_document_follows_puts_changes_and_deletes_one_generation_a_revision) {
  EtcdCluster etcd;
  Setup s(etcd);
  etcd.put(s.key("database/host"), R"("etcd-db")");
  const std::int64_t first = etcd.put(s.key("limits/qps"), "100");
  DaemonProcess d(s.dir, s.write());
  require_ready(d, 15s);
  Snapshot snap = wait_for_revision(s.seg.name(), first);
  BOOST_TEST(snap.get<std::string>("/database/host") == "etcd-db");
  BOOST_TEST(snap.get<std::int64_t>("/database/port") == 5432);  // the file's, kept
  BOOST_TEST(snap.get<std::int64_t>("/limits/qps") == 100);
  BOOST_TEST(std::string(snap.source()) ==
             "etcd://" + etcd.client_url(0).substr(7) + s.prefix + "@" + std::to_string(first));
  const std::uint64_t generation = snap.generation();

  const std::int64_t changed = etcd.put(s.key("limits/qps"), "200");
  snap = wait_for_revision(s.seg.name(), changed);
  BOOST_TEST(snap.get<std::int64_t>("/limits/qps") == 200);
  BOOST_TEST(snap.generation() == generation + 1);

  const std::int64_t deleted = etcd.remove(s.key("database/host"));
  snap = wait_for_revision(s.seg.name(), deleted);
  BOOST_TEST(snap.get<std::string>("/database/host") == "file-db");  // the file's again
  BOOST_TEST(snap.generation() == generation + 2);

  // Two puts in one transaction are one revision, and one generation.
  const RunResult txn =
      run({"/bin/sh", "-c",
           "printf '\\nput " + s.key("a") + " 1\\nput " + s.key("b") +
               " 2\\n\\n\\n' | ETCDCTL_API=3 etcdctl --endpoints=" + etcd.client_url(0) + " txn"});
  BOOST_TEST_REQUIRE(txn.exit_code() == 0, txn.output);
  snap = wait_for_revision(s.seg.name(), etcd.revision());
  BOOST_TEST(snap.get<std::int64_t>("/a") == 1);
  BOOST_TEST(snap.get<std::int64_t>("/b") == 2);
  BOOST_TEST(snap.generation() == generation + 3);

  // The last good file holds what readers see, mode 0600.
  struct stat st {};
  BOOST_TEST_REQUIRE(::stat(s.last_good().c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 07777) == 0600u);
  BOOST_TEST(json::parse(read_file(s.last_good())) == snap.json());
  const json::value status = status_of(d, s);
  BOOST_TEST(status.at_pointer("/etcd/applied_revision") == json::value(etcd.revision()));
  BOOST_TEST(status.at_pointer("/etcd/connection") == json::value("connected"));
  BOOST_TEST(status.at_pointer("/etcd/endpoint") == json::value(etcd.client_url(0)));
  BOOST_TEST(!status.at_pointer("/etcd/connected_since").is_null());
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(bad_values_and_keys_under_confvisor_are_refused_and_named) {
  EtcdCluster etcd;
  Setup s(etcd);
  const std::int64_t good = etcd.put(s.key("limits"), R"({"qps": 1})");
  DaemonProcess d(s.dir, s.write());
  require_ready(d, 15s);
  const Snapshot before = wait_for_revision(s.seg.name(), good);
  const pid_t worker = worker_pid(d, s);

  const std::int64_t bad = etcd.put(s.key("limits"), "{\"qps\": 2,\n \"burst\" 3}");
  const std::string named = "etcd key \"" + s.key("limits") + "\" (mod_revision " +
                            std::to_string(bad) + ", at /limits):2:10: syntax error";
  require_log(d, "etcd failed: generation " + std::to_string(before.generation()) +
                     " stays published: " + named);
  BOOST_TEST(contains(status_of(d, s).at_pointer("/etcd/last_error").as_string().c_str(), named));

  const std::int64_t root =
      etcd.put(s.key("confvisor/workers"), R"([{"name": "x", "command": ["/bin/sh"]}])");
  require_log(d, "etcd key \"" + s.key("confvisor/workers") + "\" (mod_revision " +
                     std::to_string(root) +
                     ", at /confvisor/workers): refused: nothing from etcd may land in /confvisor");
  Reader reader(s.seg.name());
  BOOST_TEST(reader.current().generation() == before.generation());  // the last good stays
  BOOST_TEST(reader.current().get<std::int64_t>("/limits/qps") == 1);
  BOOST_TEST(worker_pid(d, s) == worker);  // and the worker runs on
  BOOST_TEST(::kill(worker, 0) == 0);

  etcd.remove(s.key("confvisor/workers"));
  const std::int64_t fixed = etcd.put(s.key("limits"), R"({"qps": 3})");
  BOOST_TEST(wait_for_revision(s.seg.name(), fixed).get<std::int64_t>("/limits/qps") == 3);
  BOOST_TEST(worker_pid(d, s) == worker);
  d.stop(10s);
}

// etcd snapshots go through "rollout" as reloads do: each opens a verify window once the
// workers run, a value that crashes the worker is rolled back, its content is refused until
// etcd changes it, and the last good file only ever holds a document that passed.
BOOST_AUTO_TEST_CASE(an_etcd_value_that_crashes_its_worker_is_rolled_back_and_kept_out) {
  EtcdCluster etcd;
  Setup s(etcd);
  s.workers = R"([{"name": "api", "command": [")" + kRolloutWorker +
              R"("], "start_window": "100ms", "stop_timeout": "2s"}])";
  s.more_settings = R"(, "rollout": {"verify": "3s"})";
  const std::int64_t first = etcd.put(s.key("app"), R"({"v": 1})");
  DaemonProcess d(s.dir, s.write());
  require_ready(d, 15s);
  const std::uint64_t g = wait_for_revision(s.seg.name(), first).generation();
  const std::string gen = "generation " + std::to_string(g);

  // A good change is on trial for its window: the last good file still holds v 1 meanwhile.
  const std::int64_t second = etcd.put(s.key("app"), R"({"v": 2})");
  const json::value v2 = wait_for_revision(s.seg.name(), second).json();
  const json::value kept = json::parse(read_file(s.last_good()));
  const json::value window = status_of(d, s).at_pointer("/rollout/verifying");
  BOOST_TEST_REQUIRE(window.is_object(), json::serialize(window));
  BOOST_TEST(window.at("generation") == json::value(g + 1));
  BOOST_TEST(kept.at_pointer("/app/v") == json::value(1));
  require_log(d, "rollout ok: generation " + std::to_string(g + 1) + " passed", 10s);
  BOOST_TEST(json::parse(read_file(s.last_good())) == v2);

  // A value that crashes the worker: rolled back to v 2 within the window.
  const std::int64_t bad = etcd.put(s.key("app"), R"({"v": 3, "crash": true})");
  require_log(d,
              "rollout failed: generation " + std::to_string(g + 2) +
                  ", worker api[0] crashed (exit code 3) ",
              15s);
  require_log(d, "rolled back as generation " + std::to_string(g + 3) +
                     " (the document of generation " + std::to_string(g + 1) + ")");
  Reader reader(s.seg.name());
  BOOST_TEST(reader.current().generation() == g + 3);
  BOOST_TEST(reader.current().get<std::int64_t>("/app/v") == 2);
  BOOST_TEST(contains(std::string(reader.current().source()),
                      "rollback of generation " + std::to_string(g + 2)));
  BOOST_TEST(json::parse(read_file(s.last_good())) == v2);

  // etcd still holds the bad value: a reload merges it again and is refused, naming why.
  const RunResult r = confvisorctl(d, {"--socket", s.dir.file("ctl.sock"), "reload"});
  BOOST_TEST(r.exit_code() == 1, r.output);
  BOOST_TEST(contains(r.output, "this content failed its verify window as generation " +
                                    std::to_string(g + 2) + " (worker api[0] crashed"),
             r.output);
  BOOST_TEST(contains(r.output, "@" + std::to_string(bad)), r.output);
  BOOST_TEST(reader.current().generation() == g + 3);

  // Fixed in etcd: published, and on trial again.
  const std::int64_t fixed = etcd.put(s.key("app"), R"({"v": 4})");
  BOOST_TEST(wait_for_revision(s.seg.name(), fixed).get<std::int64_t>("/app/v") == 4);
  require_log(d, "rollout verifying: generation " + std::to_string(g + 4));
  BOOST_TEST(!contains(d.log(), gen + ", worker"));  // the first publish was never on trial
  d.stop(10s);
}

// A worker's check command runs on every snapshot from etcd as on a file: a refused value
// names the check's output and the etcd revision, and changes nothing.
BOOST_AUTO_TEST_CASE(a_workers_check_refuses_an_etcd_value_with_its_output) {
  EtcdCluster etcd;
  Setup s(etcd);
  s.workers = R"([{"name": "api", "command": [")" + kCheckWorker + R"("], "check": [")" +
              kCheckWorker + R"(", "--check-config", "{file}"], "stop_timeout": "1s"}])";
  const std::int64_t good = etcd.put(s.key("app"), R"({"port": 8080})");
  DaemonProcess d(s.dir, s.write());
  require_ready(d, 15s);
  const Snapshot before = wait_for_revision(s.seg.name(), good);
  const pid_t worker = worker_pid(d, s);

  const std::int64_t bad = etcd.put(s.key("app"), R"({"port": 70000})");
  require_log(
      d, "etcd failed: generation " + std::to_string(before.generation()) + " stays published: ");
  const std::string log = d.log();
  BOOST_TEST(contains(log, "check output: check_worker: /app/port: 70000 is not a port"),
             tail(log));
  BOOST_TEST(contains(status_of(d, s).at_pointer("/etcd/last_error").as_string().c_str(),
                      "@" + std::to_string(bad) + ": "));
  Reader reader(s.seg.name());
  BOOST_TEST(reader.current().generation() == before.generation());
  BOOST_TEST(worker_pid(d, s) == worker);

  const std::int64_t fixed = etcd.put(s.key("app"), R"({"port": 8081})");
  BOOST_TEST(wait_for_revision(s.seg.name(), fixed).get<std::int64_t>("/app/port") == 8081);
  BOOST_TEST(worker_pid(d, s) == worker);
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(the_watch_goes_on_through_another_member_when_its_member_dies) {
  EtcdCluster etcd({.members = 3});
  Setup s(etcd);
  etcd.put(s.key("n"), "0");
  DaemonProcess d(s.dir, s.write());
  require_ready(d, 15s);
  wait_for_revision(s.seg.name(), etcd.revision());
  const std::string watched = status_of(d, s).at_pointer("/etcd/endpoint").as_string().c_str();
  int member = -1;
  for (int i = 0; i < etcd.size(); ++i) {
    if (etcd.client_url(i) == watched) member = i;
  }
  BOOST_TEST_REQUIRE(member >= 0, watched);
  etcd.kill(member);
  // Every revision is seen in order, the last one with the whole state etcd has.
  for (int i = 1; i <= 5; ++i) etcd.put(s.key("n"), std::to_string(i));
  etcd.put(s.key("other"), R"("x")");
  const Snapshot snap = wait_for_revision(s.seg.name(), etcd.revision(), 20s);
  BOOST_TEST(snap.get<std::int64_t>("/n") == 5);
  BOOST_TEST(snap.get<std::string>("/other") == "x");
  BOOST_TEST(status_of(d, s).at_pointer("/etcd/endpoint").as_string() != watched);
  const std::string log = d.log();
  BOOST_TEST(count_lines(log, "etcd failed") == 0u, tail(log));
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(a_compaction_past_the_daemons_revision_while_it_is_away_means_a_full_read) {
  EtcdCluster etcd({.members = 3});
  Setup s(etcd);
  etcd.put(s.key("kept"), "1");
  etcd.put(s.key("deleted"), "1");
  // The daemon knows member 0 only: while it is dead, the daemon is disconnected.
  DaemonProcess d(s.dir, s.write({etcd.client_url(0)}));
  require_ready(d, 15s);
  wait_for_revision(s.seg.name(), etcd.revision());
  etcd.kill(0);
  etcd.put(s.key("kept"), "2", 1);
  etcd.remove(s.key("deleted"), 1);
  etcd.put(s.key("new"), "3", 1);
  const std::int64_t last = etcd.revision(1);
  etcd.compact(last, 1);
  etcd.restart(0);
  const Snapshot snap = wait_for_revision(s.seg.name(), last, 20s);
  BOOST_TEST(snap.get<std::int64_t>("/kept") == 2);
  BOOST_TEST(snap.get<std::int64_t>("/new") == 3);
  BOOST_TEST(snap.find("/deleted") == nullptr);
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(etcd_down_at_start_publishes_the_last_good_and_catches_up) {
  EtcdCluster etcd;
  Setup s(etcd);
  const std::int64_t revision = etcd.put(s.key("database/host"), R"("etcd-db")");
  {
    DaemonProcess d(s.dir, s.write());
    require_ready(d, 15s);
    wait_for_revision(s.seg.name(), revision);
    d.stop(10s);
  }
  // A machine that rebooted: no segment, and etcd unreachable.
  BOOST_TEST_REQUIRE(run({bin("confvisorctl"), "remove", "--segment", s.seg.name()}).exit_code() ==
                     0);
  etcd.kill(0);
  DaemonProcess d(s.dir, s.write());
  require_ready(d, 20s);  // the workers started
  require_log(d, "etcd unreachable at start (");
  require_log(d, "publishing the last good document " + s.last_good());
  Reader reader(s.seg.name());
  BOOST_TEST(reader.current().get<std::string>("/database/host") == "etcd-db");
  BOOST_TEST(contains(std::string(reader.current().source()), s.last_good()));
  json::value status = status_of(d, s);
  BOOST_TEST(status.at_pointer("/etcd/from_last_good") == json::value(true));
  BOOST_TEST(status.at_pointer("/workers/0/state") == json::value("RUNNING"));
  const RunResult human = confvisorctl(d, {"--socket", s.dir.file("ctl.sock"), "status"});
  BOOST_TEST(contains(human.output, "serving the last good file"), human.output);

  etcd.restart(0);
  const std::int64_t next = etcd.put(s.key("database/host"), R"("etcd-db2")");
  BOOST_TEST(wait_for_revision(s.seg.name(), next, 20s).get<std::string>("/database/host") ==
             "etcd-db2");
  status = status_of(d, s);
  BOOST_TEST(status.at_pointer("/etcd/from_last_good") == json::value(false));
  BOOST_TEST(status.at_pointer("/etcd/applied_revision") == json::value(next));
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(without_a_last_good_file_a_start_waits_for_etcd) {
  EtcdCluster etcd;
  Setup s(etcd);
  const std::int64_t revision = etcd.put(s.key("x"), "1");
  etcd.kill(0);
  DaemonProcess d(s.dir, s.write());
  require_log(d, "and no last good file " + s.last_good() + " yet: waiting for etcd");
  BOOST_TEST(status_of(d, s).at("workers").as_array().empty());  // nothing started
  etcd.restart(0);
  require_ready(d, 20s);
  BOOST_TEST(wait_for_revision(s.seg.name(), revision).get<std::int64_t>("/x") == 1);
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(a_state_dir_that_is_a_file_stops_the_start_with_a_clear_error) {
  EtcdCluster etcd;
  Setup s(etcd);
  const std::string file = s.dir.write("not-a-dir", "x");
  DaemonProcess d(s.dir, s.write(etcd.client_urls(), file));
  BOOST_TEST(exit_code(d.wait_exit(10s)) == 1);
  BOOST_TEST(contains(d.log(), "unable to start: state_dir " + file + ": not a directory"),
             d.log());
}

BOOST_AUTO_TEST_CASE(push_is_a_compare_and_swap_one_of_two_concurrent_pushes_wins) {
  EtcdCluster etcd;
  TempDir dir;
  const std::string url = etcd.client_url(0);
  const std::string key = "/t/push" + std::to_string(::getpid()) + "/limits";
  const std::string a = dir.write("a.json", "// qps for the shop\n{\"qps\": 1,}\n");
  const std::string b = dir.write("b.json", R"({"qps": 2})");

  const RunResult first = push(a, url, key);  // the key is absent: mod_revision 0
  BOOST_TEST_REQUIRE(first.exit_code() == 0, first.output);
  BOOST_TEST(contains(first.output, "push ok: " + key + " at revision "), first.output);
  const json::value stored = json::parse(etcd.etcdctl({"get", key, "--print-value-only"}));
  BOOST_TEST(stored == json::parse(R"({"qps": 1})"));  // compact JSON, comments gone
  const std::int64_t read = etcd.revision();

  // Both read the same revision; only one may write.
  std::vector<std::thread> pushes;
  std::vector<RunResult> results(2);
  for (int i = 0; i < 2; ++i) {
    pushes.emplace_back([&, i] { results[i] = push(i == 0 ? a : b, url, key, read); });
  }
  for (std::thread& t : pushes) t.join();
  const int wins = (results[0].exit_code() == 0) + (results[1].exit_code() == 0);
  BOOST_TEST(wins == 1, results[0].output << "\n" << results[1].output);
  const RunResult& lost = results[0].exit_code() == 0 ? results[1] : results[0];
  BOOST_TEST(lost.exit_code() == 1);
  BOOST_TEST(contains(lost.output, "push refused: " + key + " was changed at revision " +
                                       std::to_string(etcd.revision())),
             lost.output);

  // What the daemon would refuse is refused before anything is written.
  const std::string bad = dir.write("bad.json", "{\n  \"qps\": ,\n}");
  const RunResult syntax = push(bad, url, key);
  BOOST_TEST(syntax.exit_code() == 1);
  BOOST_TEST(contains(syntax.output, bad + ":2:10: syntax error"), syntax.output);
  const RunResult section = push(a, url, "/t/x/confvisor/workers");
  BOOST_TEST(section.exit_code() == 1);
  BOOST_TEST(contains(section.output, "would land in /confvisor"), section.output);
  BOOST_TEST(etcd.etcdctl({"get", "/t/x/confvisor/workers"}).empty());
}

BOOST_AUTO_TEST_CASE(push_to_a_cluster_with_tls_and_auth_uses_the_ca_and_the_password_file) {
  EtcdCluster etcd({.tls = true, .root_password = "s3cret"});
  TempDir dir;
  const std::string key = "/t/push-auth" + std::to_string(::getpid()) + "/limits";
  const std::string file = dir.write("a.json", R"({"qps": 3})");
  const std::string password = dir.write("pass", "s3cret\n");
  const std::string wrong = dir.write("wrong", "guess\n");
  ::chmod(password.c_str(), 0600);
  ::chmod(wrong.c_str(), 0600);
  auto push_with = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> argv{bin("confvisorctl"), "push",  file, "--etcd",
                                  etcd.client_url(0),  "--key", key};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run(argv);
  };
  const std::vector<std::string> ca{"--cacert", etcd.ca_file()};

  // The members' certificates are signed by the fixture's CA, which the system does not trust.
  const RunResult untrusted = push_with({"--user", "root", "--password-file", password});
  BOOST_TEST(untrusted.exit_code() == 1, untrusted.output);
  BOOST_TEST(contains(untrusted.output, "certificate verify failed"), untrusted.output);
  // Trusted, but not signed in, or with the wrong password: etcd refuses.
  const RunResult anonymous = push_with(ca);
  BOOST_TEST(anonymous.exit_code() == 1, anonymous.output);
  std::vector<std::string> guess = ca;
  guess.insert(guess.end(), {"--user", "root", "--password-file", wrong});
  const RunResult refused = push_with(guess);
  BOOST_TEST(refused.exit_code() == 1, refused.output);
  BOOST_TEST(contains(refused.output, "invalid user ID or password"), refused.output);
  BOOST_TEST(etcd.etcdctl({"get", key}).empty());

  std::vector<std::string> signed_in = ca;
  signed_in.insert(signed_in.end(), {"--user", "root", "--password-file", password});
  const RunResult ok = push_with(signed_in);
  BOOST_TEST_REQUIRE(ok.exit_code() == 0, ok.output);
  BOOST_TEST(json::parse(etcd.etcdctl({"get", key, "--print-value-only"})) ==
             json::parse(R"({"qps": 3})"));

  // Half a client certificate, or TLS files for plain http, are usage errors (exit 2).
  const RunResult half = push_with({"--cert", etcd.ca_file()});
  BOOST_TEST(half.exit_code() == 2, half.output);
  BOOST_TEST(contains(half.output, "needs both --cert and --key-file"), half.output);
  const RunResult plain = run({bin("confvisorctl"), "push", file, "--etcd", "http://127.0.0.1:1",
                               "--key", key, "--cacert", etcd.ca_file()});
  BOOST_TEST(plain.exit_code() == 2, plain.output);
  BOOST_TEST(contains(plain.output, "apply to https:// endpoints"), plain.output);
}

BOOST_AUTO_TEST_CASE(a_daemon_sigkilled_while_etcd_changes_is_followed_by_one_that_converges) {
  EtcdCluster etcd;
  Setup s(etcd);
  etcd.put(s.key("n"), "0");
  auto d = std::make_unique<DaemonProcess>(s.dir, s.write());
  require_ready(*d, 15s);
  wait_for_revision(s.seg.name(), etcd.revision());
  std::thread writer([&] {
    for (int i = 1; i <= 20; ++i) etcd.put(s.key("n"), std::to_string(i));
  });
  std::this_thread::sleep_for(50ms);  // somewhere in the middle of the writes
  d->signal(SIGKILL);
  d->wait_exit();
  writer.join();
  etcd.put(s.key("last"), "true");
  d = std::make_unique<DaemonProcess>(s.dir, s.write());
  require_ready(*d, 15s);
  const Snapshot snap = wait_for_revision(s.seg.name(), etcd.revision());
  BOOST_TEST(snap.get<std::int64_t>("/n") == 20);
  BOOST_TEST(snap.get<bool>("/last") == true);
  BOOST_TEST(json::parse(read_file(s.last_good())) == snap.json());
  d->stop(10s);
}
