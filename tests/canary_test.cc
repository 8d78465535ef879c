// The canary on the real daemon: "api" runs three instances of ack_worker, the first of which
// is the canary ("rollout": {"canary": {"worker": "api", "instances": 1}}). A reload's
// generation goes to /dev/shm/confvisor.NAME.canary first, which only api[0] reads; once its
// window passes, the main segment gets it under the same number and every instance applies
// it. A canary that crashes on it or rejects it stops it there: the main segment and the
// other instances never see it, the canary segment gets the good document back, and the
// content is refused until it changes. Windows are 1 s; every wait is for an event.
#define BOOST_TEST_MODULE canary
#include <signal.h>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "common/segment/name.hpp"
#include "confvisor/worker.hpp"
#include "tests/support/daemon_client.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/proc_scan.hpp"
#include "tests/support/process_wait.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/text_search.hpp"

using namespace confvisor;
using namespace confvisor::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string kAckWorker = CONFVISOR_ACK_WORKER;

struct Setup {
  SegmentGuard seg{"canary"};
  TempDir dir{"canary"};
  std::string rollout = R"({"verify": "1s", "canary": {"worker": "api", "instances": 1}})";

  [[nodiscard]] std::string socket() const { return dir.path() + "/ctl.sock"; }
  [[nodiscard]] std::string path() const { return dir.path() + "/app.json"; }
  [[nodiscard]] std::string canary() const { return canary_segment(seg.name()); }

  void write(const std::string& app) const {
    dir.write("app.json", "{\"confvisor\": {\"segment\": \"" + seg.name() + "\", \"socket\": \"" +
                              socket() + "\", \"mode\": \"0644\", \"state_dir\": \"" + dir.path() +
                              "/state\", \"rollout\": " + rollout +
                              ", \"workers\": [{\"name\": \"api\", \"instances\": 3, " +
                              "\"command\": [\"" + kAckWorker +
                              "\"], \"start_window\": \"50ms\", \"stop_timeout\": \"2s\", " +
                              "\"acks\": true}]},\n \"app\": " + app + "}\n");
  }
};

RunResult ctl(DaemonProcess& d, const Setup& s, std::vector<std::string> args) {
  return confvisorctl_at(d, s.socket(), std::move(args));
}

json::value status_of(DaemonProcess& d, const Setup& s) {
  return status_at(d, s.socket());
}

// What a reader of `segment` sees: its generation and /app.
std::pair<std::uint64_t, std::string> seen_in(const std::string& segment) {
  Reader reader(segment);
  const Snapshot& snap = reader.current();
  const json::value* app = snap.find("/app");
  return {snap.generation(), app != nullptr ? json::serialize(*app) : ""};
}

// Every instance has applied generation `g`, by the daemon's log.
void require_applied(DaemonProcess& d, std::uint64_t g, std::vector<const char*> labels) {
  for (const char* label : labels) {
    require_log(d, std::string("worker ") + label + " (generation " + std::to_string(g) +
                       ") applied generation " + std::to_string(g));
  }
}

pid_t pid_of(DaemonProcess& d, const Setup& s, int instance) {
  const json::value status = status_of(d, s);
  for (const json::value& w : status.at("workers").as_array()) {
    if (w.at("instance") == instance && !w.at("pid").is_null())
      return w.at("pid").to_number<pid_t>();
  }
  return 0;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_generation_passes_its_canary_and_then_reaches_every_instance) {
  Setup s;
  s.write(R"({"v": 1})");
  DaemonProcess d(s.dir, s.path());
  require_ready(d);
  require_applied(d, 1, {"api[0]", "api[1]", "api[2]"});
  // Both segments hold the first generation; only api[0] reads the canary one.
  BOOST_TEST((seen_in(s.seg.name()) == std::pair<std::uint64_t, std::string>{1, R"({"v":1})"}));
  BOOST_TEST((seen_in(s.canary()) == std::pair<std::uint64_t, std::string>{1, R"({"v":1})"}));
  BOOST_TEST(proc_environ(pid_of(d, s, 0))["CONFVISOR_SEGMENT"] == s.canary());
  BOOST_TEST(proc_environ(pid_of(d, s, 1))["CONFVISOR_SEGMENT"] == s.seg.name());
  const json::value canary = status_of(d, s).at("rollout").at("canary");
  BOOST_TEST(canary.at("segment") == s.canary().c_str());
  BOOST_TEST(canary.at("worker") == "api");

  s.write(R"({"v": 2})");
  const RunResult r = ctl(d, s, {"reload"});
  BOOST_TEST_REQUIRE(r.exit_code() == 0, r.output << tail(d.log()));
  BOOST_TEST(contains(r.output, "reload ok: generation 2 published to the canary"), r.output);
  // The window on the canary is open: the others still read generation 1.
  BOOST_TEST((seen_in(s.canary()) == std::pair<std::uint64_t, std::string>{2, R"({"v":2})"}));
  BOOST_TEST((seen_in(s.seg.name()) == std::pair<std::uint64_t, std::string>{1, R"({"v":1})"}));
  const json::value during = status_of(d, s);
  BOOST_TEST(during.at("generation") == 1);
  BOOST_TEST(during.at("rollout").at("verifying").at("stage") == "canary");
  BOOST_TEST(during.at("rollout").at("verifying").at("generation") == 2);
  require_applied(d, 2, {"api[0]"});
  BOOST_TEST(!contains(d.log(), "worker api[1] (generation 2) applied generation 2"));

  require_log(d, "rollout canary ok: generation 2 passed its 1s verify window", 10s);
  require_applied(d, 2, {"api[1]", "api[2]"});
  BOOST_TEST((seen_in(s.seg.name()) == std::pair<std::uint64_t, std::string>{2, R"({"v":2})"}));
  require_log(d, "rollout ok: generation 2 passed its 1s verify window", 10s);

  // `reload --wait` waits through both windows' publishes: every instance applied it.
  s.write(R"({"v": 3})");
  const RunResult waited = ctl(d, s, {"reload", "--wait", "--timeout", "10s"});
  BOOST_TEST(waited.exit_code() == 0, waited.output << tail(d.log()));
  BOOST_TEST(contains(waited.output, "generation 3 applied by 3 of 3 reporting instance(s)"),
             waited.output);
  BOOST_TEST((seen_in(s.seg.name()) == std::pair<std::uint64_t, std::string>{3, R"({"v":3})"}));
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(a_canary_that_crashes_on_the_new_value_keeps_it_from_the_others) {
  Setup s;
  s.write(R"({"v": 1})");
  DaemonProcess d(s.dir, s.path());
  require_ready(d);
  require_applied(d, 1, {"api[0]", "api[1]", "api[2]"});

  s.write(R"({"v": 2, "instances": {"0": "crash"}})");
  const RunResult r = ctl(d, s, {"reload", "--wait", "--timeout", "10s"});
  BOOST_TEST(r.exit_code() == 1, r.output);
  BOOST_TEST(contains(r.output, "api:0 crashed: exit code 70"), r.output);
  BOOST_TEST(contains(r.output,
                      "api:1 never got generation 2: its canary failed: worker api[0] "
                      "crashed (exit code 70)"),
             r.output);
  BOOST_TEST(contains(r.output, "generation 2 failed its verify window"), r.output);
  require_log(d,
              "rollout failed: generation 2 on the canary, worker api[0] crashed (exit code 70)");
  const std::string line = log_lines(d.log(), "rollout failed: generation 2").front();
  BOOST_TEST(contains(line, "the other instances never read it, generation 1 stays published"),
             line);
  BOOST_TEST(contains(line, "rolled back as generation 3 in /dev/shm/confvisor." + s.canary()),
             line);

  // The main segment never had it; the canary segment has the good document again.
  BOOST_TEST((seen_in(s.seg.name()) == std::pair<std::uint64_t, std::string>{1, R"({"v":1})"}));
  BOOST_TEST((seen_in(s.canary()) == std::pair<std::uint64_t, std::string>{3, R"({"v":1})"}));
  BOOST_TEST(!contains(d.log(), "worker api[1] (generation 2) applied generation 2"));
  require_applied(d, 3, {"api[0]"});  // restarted, on the good document
  const json::value status = status_of(d, s);
  BOOST_TEST(status.at("generation") == 1);
  BOOST_TEST(status.at("rollout").at("last_failure").at("stage") == "canary");
  BOOST_TEST(status.at("rollout").at("last_failure").at("rolled_back_as") == 3);

  // The same content is refused; changed, it goes to the canary again under a new number.
  const RunResult again = ctl(d, s, {"reload"});
  BOOST_TEST(again.exit_code() == 1, again.output);
  BOOST_TEST(contains(again.output, "failed its verify window as generation 2"), again.output);
  s.write(R"({"v": 4})");
  const RunResult fixed = ctl(d, s, {"reload", "--wait", "--timeout", "10s"});
  BOOST_TEST(fixed.exit_code() == 0, fixed.output << tail(d.log()));
  BOOST_TEST(contains(fixed.output, "generation 4 applied by 3 of 3"), fixed.output);
  BOOST_TEST((seen_in(s.seg.name()) == std::pair<std::uint64_t, std::string>{4, R"({"v":4})"}));
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(a_rejection_by_the_canary_stops_the_generation_and_keep_leaves_it_there) {
  Setup s;
  s.rollout =
      R"({"verify": "1s", "on_failure": "keep", "canary": {"worker": "api", "instances": 1}})";
  s.write(R"({"v": 1})");
  DaemonProcess d(s.dir, s.path());
  require_ready(d);
  require_applied(d, 1, {"api[0]", "api[1]", "api[2]"});

  s.write(R"({"v": 2, "mode": "reject", "reason": "v 2 is too new"})");
  const RunResult r = ctl(d, s, {"reload", "--wait", "--timeout", "10s"});
  BOOST_TEST(r.exit_code() == 1, r.output);
  BOOST_TEST(contains(r.output, "api:0 rejected generation 2: v 2 is too new"), r.output);
  BOOST_TEST(contains(r.output, "api:2 never got generation 2"), r.output);
  require_log(d, "rollout failed: generation 2 on the canary, worker api[0] rejected it: v 2 is");
  const std::string line = log_lines(d.log(), "rollout failed: generation 2").front();
  BOOST_TEST(contains(line, "kept (on_failure keep)"), line);
  // Kept on the canary, never promoted: the window is over and nothing follows.
  BOOST_TEST((seen_in(s.canary()).first == 2u));
  BOOST_TEST((seen_in(s.seg.name()) == std::pair<std::uint64_t, std::string>{1, R"({"v":1})"}));
  BOOST_TEST(status_of(d, s).at("rollout").at("verifying").is_null());

  // A config back to what every instance reads gives the canary segment that document again.
  s.write(R"({"v": 1})");
  const RunResult back = ctl(d, s, {"reload"});
  BOOST_TEST(back.exit_code() == 0, back.output);
  BOOST_TEST(contains(back.output, "unchanged"), back.output);
  BOOST_TEST((seen_in(s.canary()).second == R"({"v":1})"));
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(a_daemon_killed_while_a_canary_runs_leaves_nothing_and_its_successor_syncs) {
  Setup s;
  s.rollout = R"({"verify": "30s", "canary": {"worker": "api", "instances": 1}})";
  s.write(R"({"v": 1})");
  std::vector<pid_t> instances;
  {
    DaemonProcess d(s.dir, s.path());
    require_ready(d);
    require_applied(d, 1, {"api[0]", "api[1]", "api[2]"});
    for (int i = 0; i < 3; ++i) instances.push_back(pid_of(d, s, i));
    s.write(R"({"v": 2})");
    BOOST_TEST_REQUIRE(ctl(d, s, {"reload"}).exit_code() == 0);
    require_applied(d, 2, {"api[0]"});
    d.signal(SIGKILL);
    d.wait_exit();
  }
  for (pid_t pid : instances) BOOST_TEST(wait_dead(pid, 5s), "instance " << pid << " survived");
  // The successor publishes what its file holds, unverified, and the canary segment follows.
  DaemonProcess next(s.dir, s.path());
  require_ready(next);
  const auto main_seen = seen_in(s.seg.name());
  BOOST_TEST(main_seen.second == R"({"v":2})");
  BOOST_TEST((seen_in(s.canary()).second == R"({"v":2})"));
  BOOST_TEST(seen_in(s.canary()).first == main_seen.first);
  next.stop(10s);
}

BOOST_AUTO_TEST_CASE(a_canary_is_checked_against_the_workers) {
  Setup s;
  s.rollout = R"({"verify": "1s", "canary": {"worker": "apj", "instances": 1}})";
  s.write(R"({"v": 1})");
  RunResult r = run({bin("confvisord"), "--config", s.path(), "--check"});
  BOOST_TEST(r.exit_code() != 0, r.output);
  BOOST_TEST(contains(r.output,
                      "/confvisor/rollout/canary/worker: no worker named \"apj\" in "
                      "/confvisor/workers (did you mean \"api\"?)"),
             r.output);
  s.rollout = R"({"verify": "1s", "canary": {"worker": "api", "instances": 4}})";
  s.write(R"({"v": 1})");
  r = run({bin("confvisord"), "--config", s.path(), "--check"});
  BOOST_TEST(r.exit_code() != 0, r.output);
  BOOST_TEST(contains(r.output,
                      "/confvisor/rollout/canary/instances: 4 canary instance(s) of "
                      "\"api\", which runs 3: at most that many"),
             r.output);
}
