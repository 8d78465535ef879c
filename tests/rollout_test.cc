// The verified rollout on the real daemon, with rollout_worker, a C++ worker that a value in
// the config breaks: it crashes on /app/crash, hangs before READY=1 on /app/hang, and stops its
// watchdog pings on /app/stop_pings. For the verify window after a reload, each of those
// republishes the last good document as a new generation, says why in the log, STATUS=,
// status and history, and refuses the same content until it changes; "keep" only reports; a
// reload inside the window supersedes it; nothing happens once the window is over; a daemon
// SIGKILLed inside a window leaves no worker behind and its successor publishes its file; a
// daemon restarted on a file whose content failed keeps the generation readers see instead.
// Windows are 1 or 2 s: every wait below is for an event, bounded by a timeout.
#define BOOST_TEST_MODULE rollout
#include <signal.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

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

const std::string kWorker = CONFVISOR_ROLLOUT_WORKER;

// One daemon's files: its config app.json and its socket.
struct Setup {
  SegmentGuard seg{"rollout"};
  TempDir dir{"rollout"};
  // The "rollout" object, and keys added to the worker "api".
  std::string rollout = R"({"verify": "2s"})";
  std::string worker;

  [[nodiscard]] std::string socket() const { return dir.path() + "/ctl.sock"; }
  [[nodiscard]] std::string path() const { return dir.path() + "/app.json"; }
  [[nodiscard]] std::string state_dir() const { return dir.path() + "/state"; }
  [[nodiscard]] std::string marks() const { return state_dir() + "/" + seg.name() + ".bad.json"; }
  // The config with `app` as what workers read.
  std::string write(const std::string& app) const {
    return dir.write("app.json",
                     "{\"confvisor\": {\"segment\": \"" + seg.name() + "\", \"socket\": \"" +
                         socket() + "\", \"state_dir\": \"" + state_dir() + "\", \"rollout\": " +
                         rollout + ",\n \"workers\": [{\"name\": \"api\", \"command\": [\"" +
                         kWorker + "\"], \"start_window\": \"100ms\", \"stop_timeout\": \"2s\"" +
                         worker + "}]},\n \"app\": " + app + "}\n");
  }
};

RunResult ctl(DaemonProcess& d, const Setup& s, std::vector<std::string> args) {
  return confvisorctl_at(d, s.socket(), std::move(args));
}

json::value status_of(DaemonProcess& d, const Setup& s) {
  return status_at(d, s.socket());
}

json::value history_of(DaemonProcess& d, const Setup& s) {
  const RunResult r = ctl(d, s, {"history", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code() == 0, r.output);
  return json::parse(r.output);
}

// The entry of `generation` in history --json.
json::value history_entry(DaemonProcess& d, const Setup& s, std::uint64_t generation) {
  const json::value history = history_of(d, s);
  for (const json::value& entry : history.as_array()) {
    if (entry.at("generation") == generation) return entry;
  }
  BOOST_FAIL("generation " << generation << " is not in history");
  return nullptr;
}

std::string live(DaemonProcess& d, const Setup& s, const std::string& pointer) {
  const RunResult r = ctl(d, s, {"get", pointer});
  BOOST_TEST_REQUIRE(r.exit_code() == 0, r.output);
  return r.output.substr(0, r.output.find('\n'));
}

pid_t api_pid(DaemonProcess& d, const Setup& s) {
  const json::value status = status_of(d, s);
  const json::value& pid = status.at("workers").at(0).at("pid");
  return pid.is_null() ? 0 : pid.to_number<pid_t>();
}

void reload_ok(DaemonProcess& d, const Setup& s, std::uint64_t generation) {
  const RunResult r = ctl(d, s, {"reload"});
  BOOST_TEST_REQUIRE(r.exit_code() == 0, r.output << tail(d.log()));
  BOOST_TEST_REQUIRE(contains(r.output, "generation " + std::to_string(generation)), r.output);
}

// Whether the daemon sent a notification containing `needle` (confvisorctl drains them).
bool notified(DaemonProcess& d, const std::string& needle) {
  d.drain_notifications();
  for (const std::string& n : d.notifications()) {
    if (contains(n, needle)) return true;
  }
  return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_worker_crashing_on_the_new_value_rolls_it_back_within_the_window) {
  Setup s;
  s.write(R"({"v": 1})");
  DaemonProcess d(s.dir, s.path());
  require_ready(d);
  BOOST_TEST_REQUIRE(api_pid(d, s) > 0);

  s.write(R"({"v": 2, "crash": true})");
  reload_ok(d, s, 2);
  require_log(d, "rollout failed: generation 2, worker api[0] crashed (exit code 3) ", 10s);
  const std::string line = log_lines(d.log(), "rollout failed: generation 2").front();
  BOOST_TEST(contains(line,
                      "verify window: rolled back as generation 3 (the document of "
                      "generation 1)"),
             line);

  const json::value status = status_of(d, s);
  BOOST_TEST(status.at("generation") == 3);
  BOOST_TEST(contains(std::string(status.at("source").as_string()),
                      "rollback of generation 2 (worker api[0] crashed (exit code 3)) to "
                      "generation 1 from " +
                          s.path()),
             status.at("source"));
  const json::value& rollout = status.at("rollout");
  BOOST_TEST(rollout.at("verify") == "2s");
  BOOST_TEST(rollout.at("on_failure") == "rollback");
  BOOST_TEST(rollout.at("verifying").is_null());  // a rollback opens no window
  BOOST_TEST(rollout.at("last_failure").at("generation") == 2);
  BOOST_TEST(rollout.at("last_failure").at("failure").at("worker") == "api");
  BOOST_TEST(rollout.at("last_failure").at("failure").at("instance") == 0);
  BOOST_TEST(rollout.at("last_failure").at("failure").at("signal") == "crashed");
  BOOST_TEST(rollout.at("last_failure").at("rolled_back_as") == 3);
  BOOST_TEST(rollout.at("bad").at(0).at("generation") == 2);
  BOOST_TEST(status.at("last_reload").at("result") == "ok");
  BOOST_TEST(live(d, s, "/app/v") == "1");
  BOOST_TEST(notified(d, "STATUS=generation 3 published;"));
  BOOST_TEST(notified(d,
                      "generation 2 failed its verify window (worker api[0] crashed (exit "
                      "code 3)), rolled back as generation 3"));

  // History marks the generation; status and history say it for people too.
  const json::value h2 = history_entry(d, s, 2);
  BOOST_TEST(h2.at("rollout").at("verdict") == "failed");
  BOOST_TEST(h2.at("rollout").at("rolled_back_as") == 3);
  BOOST_TEST(history_entry(d, s, 3).at("rollout").is_null());
  const RunResult history = ctl(d, s, {"history"});
  BOOST_TEST(contains(history.output, "BAD, rolled back as 3: worker api[0] crashed (exit code 3)"),
             history.output);
  const RunResult text = ctl(d, s, {"status"});
  BOOST_TEST(contains(text.output, "generation 2 failed at "), text.output);
  BOOST_TEST(contains(text.output, "rolled back as generation 3 (the document of generation 1)"),
             text.output);
  BOOST_TEST(contains(text.output, "reloads refuse the content of generation 2"), text.output);
  BOOST_TEST(contains(text.output, "the live config differs from " + s.path() +
                                       " (generation 2 failed its verify window and was rolled "
                                       "back; reloads refuse that content until the file changes)"),
             text.output);

  // The instance restarted on the good document.
  require_log(d, "rollout_worker: generation 3", 10s);

  // The same content again is refused, naming the generation and the cause.
  RunResult r = ctl(d, s, {"reload"});
  BOOST_TEST(r.exit_code() == 1, r.output);
  BOOST_TEST(contains(r.output,
                      "generation 3 stays published: this content failed its verify "
                      "window as generation 2 (worker api[0] crashed (exit code 3))"),
             r.output);
  BOOST_TEST(contains(d.log(), "reload failed: generation 3 stays published: this content failed"),
             tail(d.log()));
  BOOST_TEST(live(d, s, "/app/v") == "1");

  // Changed content is published, and watched again.
  s.write(R"({"v": 4})");
  reload_ok(d, s, 4);
  require_log(d, "rollout verifying: generation 4 for 2s", 5s);
  BOOST_TEST(live(d, s, "/app/v") == "4");
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(an_instance_restarted_by_the_reload_that_never_gets_ready_rolls_it_back) {
  Setup s;
  s.rollout = R"({"verify": "1s"})";
  s.worker = R"(, "ready": "notify", "on_reload": "restart")";
  s.write(R"({"v": 1})");
  DaemonProcess d(s.dir, s.path());
  require_ready(d);

  s.write(R"({"v": 2, "hang": true})");
  reload_ok(d, s, 2);
  require_log(d, "rollout failed: generation 2, worker api[0] was not ready (no READY=1 from pid ",
              10s);
  BOOST_TEST(contains(log_lines(d.log(), "rollout failed: generation 2").front(),
                      "rolled back as generation 3 (the document of generation 1)"));
  // The rollback restarts the hung instance too (on_reload restart), and it gets ready.
  require_log(d, "worker api[0] (generation 3) running", 10s);
  BOOST_TEST(status_of(d, s).at("workers").at(0).at("state") == "RUNNING");
  BOOST_TEST(live(d, s, "/app/v") == "1");
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(a_watchdog_timeout_under_the_new_generation_rolls_it_back) {
  Setup s;
  s.worker = R"(, "ready": "notify", "watchdog": "300ms")";
  s.write(R"({"v": 1})");
  DaemonProcess d(s.dir, s.path());
  require_ready(d);

  s.write(R"({"v": 2, "stop_pings": true})");
  reload_ok(d, s, 2);
  require_log(d,
              "rollout failed: generation 2, worker api[0] missed its watchdog (no WATCHDOG=1 "
              "for 300ms, killed by SIGKILL)",
              10s);
  BOOST_TEST(status_of(d, s).at("generation") == 3);
  BOOST_TEST(live(d, s, "/app/v") == "1");
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(on_failure_keep_only_reports) {
  Setup s;
  s.rollout = R"({"verify": "2s", "on_failure": "keep"})";
  s.write(R"({"v": 1})");
  DaemonProcess d(s.dir, s.path());
  require_ready(d);

  s.write(R"({"v": 2, "crash": true})");
  reload_ok(d, s, 2);
  require_log(d, "rollout failed: generation 2, worker api[0] crashed (exit code 3) ", 10s);
  BOOST_TEST(contains(log_lines(d.log(), "rollout failed: generation 2").front(),
                      "kept (on_failure keep), generation 2 stays published"));
  const json::value status = status_of(d, s);
  BOOST_TEST(status.at("generation") == 2);
  BOOST_TEST(status.at("rollout").at("last_failure").at("action") == "keep");
  BOOST_TEST(status.at("rollout").at("last_failure").at("rolled_back_as").is_null());
  BOOST_TEST(status.at("rollout").at("bad").as_array().empty());
  BOOST_TEST(live(d, s, "/app/v") == "2");
  BOOST_TEST(notified(d,
                      "generation 2 failed its verify window (worker api[0] crashed (exit "
                      "code 3)), kept (on_failure keep)"));
  BOOST_TEST(history_entry(d, s, 2).at("rollout").at("verdict") == "failed");
  BOOST_TEST(!contains(d.log(), "rollback ok"), tail(d.log()));
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(a_reload_inside_the_window_supersedes_it_and_a_failure_goes_back_to_the_good) {
  Setup s;
  s.rollout = R"({"verify": "2s"})";
  s.write(R"({"v": 1})");
  DaemonProcess d(s.dir, s.path());
  require_ready(d);

  s.write(R"({"v": 2})");
  reload_ok(d, s, 2);
  s.write(R"({"v": 3, "crash": true})");
  reload_ok(d, s, 3);
  require_log(d, "rollout superseded: generation 2 by generation 3 ", 5s);
  require_log(d, "rollout failed: generation 3, worker api[0] crashed (exit code 3) ", 10s);
  // Generation 2 was never verified: the rollback goes back to generation 1, the last good.
  BOOST_TEST(contains(log_lines(d.log(), "rollout failed: generation 3").front(),
                      "rolled back as generation 4 (the document of generation 1)"));
  BOOST_TEST(live(d, s, "/app/v") == "1");
  BOOST_TEST(history_entry(d, s, 2).at("rollout").at("verdict") == "superseded");
  BOOST_TEST(history_entry(d, s, 2).at("rollout").at("superseded_by") == 3);
  BOOST_TEST(count_lines(d.log(), "rollout failed") == 1u, tail(d.log()));
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(a_crash_after_the_window_has_ended_rolls_nothing_back) {
  Setup s;
  s.rollout = R"({"verify": "1s"})";
  s.write(R"({"v": 1})");
  DaemonProcess d(s.dir, s.path());
  require_ready(d);

  s.write(R"({"v": 2})");
  reload_ok(d, s, 2);
  require_log(d, "rollout ok: generation 2 passed its 1s verify window", 5s);
  const pid_t worker = api_pid(d, s);
  BOOST_TEST_REQUIRE(worker > 0);
  BOOST_TEST_REQUIRE(::kill(worker, SIGKILL) == 0);
  require_log(d, "worker api[0] (generation 2) failed (killed by SIGKILL); restarting", 5s);
  // The status request is answered after the failure went through the loop.
  const json::value status = status_of(d, s);
  BOOST_TEST(status.at("generation") == 2);
  BOOST_TEST(status.at("rollout").at("last_failure").is_null());
  BOOST_TEST(history_entry(d, s, 2).at("rollout").at("verdict") == "passed");
  BOOST_TEST(!contains(d.log(), "rollout failed"), tail(d.log()));
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(
    a_daemon_killed_inside_a_window_leaves_no_worker_and_its_successor_publishes_the_file) {
  Setup s;
  s.rollout = R"({"verify": "1m"})";
  s.write(R"({"v": 1})");
  pid_t worker = 0;
  {
    DaemonProcess d(s.dir, s.path());
    require_ready(d);
    s.write(R"({"v": 2})");
    reload_ok(d, s, 2);
    require_log(d, "rollout verifying: generation 2 for 1m", 5s);
    BOOST_TEST(status_of(d, s).at("rollout").at("verifying").at("generation") == 2);
    worker = api_pid(d, s);
    BOOST_TEST_REQUIRE(worker > 0);
    BOOST_TEST_REQUIRE(d.signal(SIGKILL));
    d.wait_exit(5s);
  }
  BOOST_TEST(wait_dead(worker, 5s), "worker pid " << worker << " outlived its daemon");

  DaemonProcess next(s.dir, s.path());
  require_ready(next);
  BOOST_TEST(contains(next.log(), "publish skipped: generation 2 already holds this config"),
             tail(next.log()));
  const json::value status = status_of(next, s);
  BOOST_TEST(status.at("generation") == 2);
  BOOST_TEST(status.at("rollout").at("verifying").is_null());
  BOOST_TEST(live(next, s, "/app/v") == "2");
  next.stop(10s);
}

BOOST_AUTO_TEST_CASE(a_restarted_daemon_still_refuses_the_content_that_failed) {
  Setup s;
  s.write(R"({"v": 1})");
  {
    DaemonProcess d(s.dir, s.path());
    require_ready(d);
    s.write(R"({"v": 2, "crash": true})");
    reload_ok(d, s, 2);
    require_log(d, "rollout failed: generation 2, worker api[0] crashed", 10s);
    struct stat st {};
    BOOST_TEST_REQUIRE(::stat(s.marks().c_str(), &st) == 0, s.marks());
    BOOST_TEST((st.st_mode & 0777) == 0600u);
    BOOST_TEST(contains(read_file(s.marks()), R"("generation":2)"), read_file(s.marks()));
    d.stop(10s);
  }
  // The file still holds what crashed the worker: the next daemon keeps generation 3 (the
  // rollback) and its worker runs on it.
  DaemonProcess next(s.dir, s.path());
  require_ready(next);
  BOOST_TEST(contains(next.log(), "1 mark(s) of bad content restored from " + s.marks()),
             tail(next.log()));
  BOOST_TEST(contains(next.log(), "start: generation 3 stays published: " + s.path() +
                                      ": this content failed its verify window as generation 2"),
             tail(next.log()));
  const json::value status = status_of(next, s);
  BOOST_TEST(status.at("generation") == 3);
  BOOST_TEST(status.at("last_reload").at("result") == "failed");
  BOOST_TEST(live(next, s, "/app/v") == "1");
  BOOST_TEST(api_pid(next, s) > 0);
  BOOST_TEST(ctl(next, s, {"reload"}).exit_code() == 1);
  s.write(R"({"v": 4})");
  reload_ok(next, s, 4);
  require_log(next, "rollout verifying: generation 4 for 2s", 5s);
  next.stop(10s);

  // A marks file that is not ours is reported, and the daemon starts all the same.
  s.dir.write("state/" + s.seg.name() + ".bad.json", "[{\"sha256\": 1}]");
  DaemonProcess third(s.dir, s.path());
  require_ready(third);
  BOOST_TEST(contains(third.log(), "are not restored (/0: expected {"), tail(third.log()));
  third.stop(10s);
}
