// Workers report what they applied, on the real daemon: ack_worker (the C++ API) and
// ack_worker_c (the C API) apply, reject or crash on a value of the config; status shows
// each instance's applied generation or its rejection; `reload --wait` exits 0 only when
// every reporting instance applied the new generation, and names those that rejected it,
// crashed or did not answer (a SIGSTOPped one); a report from a process that is no instance
// is ignored and logged; outside confvisord a report is a no-op. And the report format.
#define BOOST_TEST_MODULE acks
#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "common/ack/report_message.hpp"
#include "common/base/error.hpp"
#include "tests/support/daemon_client.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/process_wait.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/text_search.hpp"

using namespace confvisor;
using namespace confvisor::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string kAckWorker = CONFVISOR_ACK_WORKER;
const std::string kAckWorkerC = CONFVISOR_ACK_WORKER_C;

// One daemon: "api" (2 instances of ack_worker), "capi" (ack_worker_c), both with "acks",
// and "plain", which does not report; `app` is what they read.
struct Setup {
  SegmentGuard seg{"acks"};
  TempDir dir{"acks"};
  [[nodiscard]] std::string socket() const { return dir.path() + "/ctl.sock"; }
  [[nodiscard]] std::string path() const { return dir.path() + "/app.json"; }

  void write(const std::string& app) const {
    const std::string keys = R"(, "start_window": "50ms", "stop_timeout": "2s", "acks": true)";
    dir.write("app.json",
              "{\"confvisor\": {\"segment\": \"" + seg.name() + "\", \"socket\": \"" + socket() +
                  "\", \"mode\": \"0644\", \"workers\": [" +
                  "{\"name\": \"api\", \"instances\": 2, \"command\": [\"" + kAckWorker + "\"]" +
                  keys + "}, {\"name\": \"capi\", \"command\": [\"" + kAckWorkerC + "\"]" + keys +
                  "}, {\"name\": \"plain\", \"command\": [\"/bin/sleep\", \"1000\"], "
                  "\"start_window\": \"50ms\"}]},\n \"app\": " +
                  app + "}\n");
  }
};

RunResult ctl(DaemonProcess& d, const Setup& s, std::vector<std::string> args) {
  return confvisorctl_at(d, s.socket(), std::move(args));
}

json::array workers_of(DaemonProcess& d, const Setup& s) {
  const RunResult r = ctl(d, s, {"status", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code() == 0, r.output);
  return json::parse(r.output).at("workers").as_array();
}

json::value acks_of(DaemonProcess& d, const Setup& s, const std::string& name, int instance) {
  for (const json::value& w : workers_of(d, s)) {
    if (w.at("name") == name.c_str() && w.at("instance") == instance) return w.at("acks");
  }
  BOOST_FAIL("no instance " + name + ":" + std::to_string(instance));
  return nullptr;
}

pid_t pid_of(DaemonProcess& d, const Setup& s, const std::string& name, int instance) {
  for (const json::value& w : workers_of(d, s)) {
    if (w.at("name") == name.c_str() && w.at("instance") == instance)
      return w.at("pid").to_number<pid_t>();
  }
  return 0;
}

// Every reporting instance has applied generation `g`, by the daemon's log.
void require_applied(DaemonProcess& d, std::uint64_t g) {
  const std::string gen = std::to_string(g);
  for (const char* label : {"api[0]", "api[1]", "capi[0]"}) {
    require_log(
        d, std::string("worker ") + label + " (generation " + gen + ") applied generation " + gen);
  }
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::string ack_address(DaemonProcess& d, const Setup& s) {
  return ack_socket_address(s.seg.name(), d.pid());
}

}  // namespace

BOOST_AUTO_TEST_CASE(status_shows_what_each_instance_applied_and_reload_wait_exits_0) {
  Setup s;
  s.write(R"({"n": 1})");
  DaemonProcess d(s.dir, s.path());
  require_ready(d);
  require_applied(d, 1);
  BOOST_TEST(acks_of(d, s, "api", 1).at("applied") == 1);
  BOOST_TEST(acks_of(d, s, "plain", 0).is_null());
  const RunResult text = ctl(d, s, {"status"});
  BOOST_TEST(contains(text.output, "APPLIED"), text.output);
  BOOST_TEST(contains(text.output, "not reporting"), text.output);

  s.write(R"({"n": 2})");
  const RunResult r = ctl(d, s, {"reload", "--wait"});
  BOOST_TEST(r.exit_code() == 0, r.output);
  BOOST_TEST(contains(r.output, "reload ok: generation 2"), r.output);
  BOOST_TEST(contains(r.output,
                      "generation 2 applied by 3 of 3 reporting instance(s); not reporting: plain"),
             r.output);
  // The wait ended once the last report came: by then every one has it.
  BOOST_TEST(acks_of(d, s, "api", 0).at("applied") == 2);
  BOOST_TEST(acks_of(d, s, "capi", 0).at("applied") == 2);

  // A reload that changes nothing has nothing to wait for.
  const RunResult same = ctl(d, s, {"reload", "--wait", "--json"});
  BOOST_TEST(same.exit_code() == 0, same.output);
  BOOST_TEST(contains(same.output, R"("result":"unchanged")"), same.output);
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(a_rejection_is_shown_with_its_reason_and_fails_the_wait) {
  Setup s;
  s.write(R"({"n": 1})");
  DaemonProcess d(s.dir, s.path());
  require_ready(d);
  require_applied(d, 1);

  s.write(R"({"mode": "reject", "instances": {"0": "apply"}, "reason": "port 0 is no port"})");
  const RunResult r = ctl(d, s, {"reload", "--wait"});
  BOOST_TEST(r.exit_code() == 1, r.output);
  BOOST_TEST(contains(r.output, "reload ok: generation 2"), r.output);
  BOOST_TEST(contains(r.output, "api:1 rejected generation 2: port 0 is no port"), r.output);
  BOOST_TEST(contains(r.output, "capi:0 rejected generation 2: /app/mode is reject (C)"), r.output);
  BOOST_TEST(!contains(r.output, "reload --wait: api:0 "), r.output);
  BOOST_TEST(contains(r.output, "generation 2 applied by 1 of 3"), r.output);

  const json::value rejected = acks_of(d, s, "api", 1);
  BOOST_TEST(rejected.at("applied") == 1);  // what it still runs with
  BOOST_TEST(rejected.at("rejected").at("generation") == 2);
  BOOST_TEST(rejected.at("rejected").at("reason") == "port 0 is no port");
  const RunResult text = ctl(d, s, {"status"});
  BOOST_TEST(contains(text.output, "1, rejected 2"), text.output);
  BOOST_TEST(contains(text.output, "api:1 rejected generation 2: port 0 is no port"), text.output);
  BOOST_TEST(contains(d.log(), "worker api[1] (generation 2) rejected generation 2: port 0"));
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(reload_wait_names_an_instance_that_crashed_on_the_new_generation) {
  Setup s;
  s.write(R"({"n": 1})");
  DaemonProcess d(s.dir, s.path());
  require_ready(d);
  require_applied(d, 1);

  s.write(R"({"instances": {"0": "crash"}})");
  const RunResult r = ctl(d, s, {"reload", "--wait", "--json"});
  BOOST_TEST(r.exit_code() == 1, r.output);
  BOOST_TEST(contains(r.output, "api:0 crashed: exit code 70"), r.output);
  BOOST_TEST(!contains(r.output, "reload --wait: api:1 "), r.output);
  BOOST_TEST(contains(r.output, R"("outcome":"crashed")"), r.output);
  BOOST_TEST(contains(r.output, R"("applied":false)"), r.output);
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(reload_wait_names_a_stopped_instance_that_does_not_answer_in_time) {
  Setup s;
  s.write(R"({"n": 1})");
  DaemonProcess d(s.dir, s.path());
  require_ready(d);
  require_applied(d, 1);
  const pid_t stopped = pid_of(d, s, "api", 1);
  BOOST_TEST_REQUIRE(stopped > 0);
  BOOST_TEST_REQUIRE(::kill(stopped, SIGSTOP) == 0);

  s.write(R"({"n": 2})");
  const RunResult r = ctl(d, s, {"reload", "--wait", "--timeout", "700ms"});
  ::kill(stopped, SIGCONT);
  BOOST_TEST(r.exit_code() == 1, r.output);
  BOOST_TEST(contains(r.output, "api:1 did not answer in time: no report within 700ms"), r.output);
  BOOST_TEST(contains(r.output, "generation 2 applied by 2 of 3"), r.output);
  // Woken, it reports, late: status has it.
  require_log(d, "worker api[1] (generation 2) applied generation 2");
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(a_waiter_that_hangs_up_is_dropped_and_many_may_wait) {
  Setup s;
  s.write(R"({"n": 1})");
  DaemonProcess d(s.dir, s.path());
  require_ready(d);
  require_applied(d, 1);
  const pid_t stopped = pid_of(d, s, "api", 1);
  BOOST_TEST_REQUIRE(::kill(stopped, SIGSTOP) == 0);

  // The client is killed while it waits: its wait ends with it, not when the report comes.
  s.write(R"({"n": 2})");
  const RunResult killed =
      confvisorctl(d, {"--socket", s.socket(), "reload", "--wait", "--timeout", "20s"},
                   {"/usr/bin/timeout", "-s", "KILL", "0.5"});
  BOOST_TEST(killed.exit_code() == 128 + SIGKILL, killed.output);
  ::kill(stopped, SIGCONT);
  require_log(d, "worker api[1] (generation 2) applied generation 2");
  BOOST_TEST(!contains(d.log(), "reload --wait for generation 2 ended"), tail(d.log()));

  // Two clients that reload and wait at once are both answered.
  s.write(R"({"n": 3})");
  Child other({bin("confvisorctl"), "--socket", s.socket(), "reload", "--wait"},
              {"CONFVISOR_SEGMENT"});
  const RunResult r = ctl(d, s, {"reload", "--wait"});
  BOOST_TEST(r.exit_code() == 0, r.output);
  BOOST_TEST(exit_code(other.wait()) == 0);
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(a_daemon_that_stops_ends_the_waits_with_why) {
  Setup s;
  s.write(R"({"n": 1})");
  DaemonProcess d(s.dir, s.path());
  require_ready(d);
  require_applied(d, 1);
  const pid_t stopped = pid_of(d, s, "api", 1);
  BOOST_TEST_REQUIRE(::kill(stopped, SIGSTOP) == 0);

  s.write(R"({"n": 2})");
  const std::string out = s.dir.path() + "/wait.out";
  Child waiting(
      {bin("confvisorctl"), "--socket", s.socket(), "reload", "--wait", "--timeout", "20s"},
      ChildOptions{.env = {"CONFVISOR_SEGMENT"}, .output_file = out});
  require_log(d, "worker api[0] (generation 2) applied generation 2");
  BOOST_TEST_REQUIRE(d.signal(SIGTERM));
  BOOST_TEST(exit_code(waiting.wait()) == 1, read_file(out));
  ::kill(stopped, SIGCONT);
  BOOST_TEST(contains(read_file(out), "api:1 had not answered: confvisord is stopping on SIGTERM"),
             read_file(out));
  BOOST_TEST(exit_code(d.wait_exit(15s)) == 0, tail(d.log()));
}

BOOST_AUTO_TEST_CASE(a_restart_clears_what_an_instance_applied_until_it_reports_again) {
  Setup s;
  s.write(R"({"n": 1})");
  DaemonProcess d(s.dir, s.path());
  require_ready(d);
  require_applied(d, 1);

  s.write(R"({"mode": "silent"})");
  BOOST_TEST_REQUIRE(ctl(d, s, {"reload"}).exit_code() == 0);
  BOOST_TEST(acks_of(d, s, "api", 0).at("applied") == 1);  // it still runs with 1
  BOOST_TEST_REQUIRE(ctl(d, s, {"restart", "api:0"}).exit_code() == 0);
  BOOST_TEST(acks_of(d, s, "api", 0).at("applied").is_null());
  BOOST_TEST(acks_of(d, s, "api", 1).at("applied") == 1);
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(a_report_from_a_process_that_is_no_instance_is_ignored_and_logged) {
  Setup s;
  s.write(R"({"n": 1})");
  DaemonProcess d(s.dir, s.path());
  require_ready(d);
  require_applied(d, 1);

  // A process of the same user that knows the address: it is still no instance.
  const RunResult spoof =
      run({kAckWorker, "--once", s.seg.name()}, {"CONFVISOR_ACK_SOCKET=" + ack_address(d, s)});
  BOOST_TEST(spoof.exit_code() == 0, spoof.output);
  require_log(d, "which is no process of a worker instance: ignored");
  BOOST_TEST(acks_of(d, s, "api", 0).at("applied") == 1);

  // A flood is logged at most once a second, however many come.
  for (int n = 0; n < 20; ++n) {
    (void)run({kAckWorker, "--once", s.seg.name()}, {"CONFVISOR_ACK_SOCKET=" + ack_address(d, s)});
  }
  BOOST_TEST(count_of(d.log(), "which is no process of a worker instance") < 10u);
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(outside_confvisord_a_report_is_a_no_op) {
  Setup s;
  s.write(R"({"n": 1})");
  DaemonProcess d(s.dir, s.path());
  require_ready(d);
  const RunResult r = run({kAckWorker, "--once", s.seg.name()}, {"CONFVISOR_ACK_SOCKET"});
  BOOST_TEST(r.exit_code() == 0, r.output);
  BOOST_TEST(contains(r.output, "unsupervised"), r.output);
  // And a daemon that is gone costs a dropped report, not a hang.
  const RunResult gone =
      run({kAckWorker, "--once", s.seg.name()}, {"CONFVISOR_ACK_SOCKET=@confvisor/nobody/ack/1"});
  BOOST_TEST(gone.exit_code() == 0, gone.output);
  BOOST_TEST(contains(gone.output, "dropped"), gone.output);
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(the_report_format_round_trips_and_refuses_what_is_malformed) {
  const ReportMessage rejected{7, false, "line one\nline two"};
  const std::string packet = encode_report(rejected);
  BOOST_TEST(packet ==
             "CONFVISOR_ACK=1\nGENERATION=7\nOUTCOME=rejected\nREASON=line one line two\n");
  const ReportMessage back = parse_report(packet);
  BOOST_TEST(back.generation == 7u);
  BOOST_TEST(!back.applied);
  BOOST_TEST(back.reason == "line one line two");
  BOOST_TEST(parse_report(encode_report({3, true, ""})).applied);
  BOOST_TEST(encode_report({1, false, std::string(2000, 'x')}).size() <= kMaxReportMessage);

  const auto error = [](const std::string& text) {
    try {
      (void)parse_report(text);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  BOOST_TEST(error("") == "empty");
  BOOST_TEST(error("CONFVISOR_ACK=2\nGENERATION=1\nOUTCOME=applied\n") ==
             "format version 2 is not spoken here (version 1 is)");
  BOOST_TEST(error("GENERATION=1\n") == "the first line is not CONFVISOR_ACK=VERSION");
  BOOST_TEST(error("CONFVISOR_ACK=1\nGENERATION=0\nOUTCOME=applied\n") ==
             "GENERATION must be a positive number, got \"0\"");
  BOOST_TEST(error("CONFVISOR_ACK=1\nGENERATION=1\nGENERATION=2\nOUTCOME=applied\n") ==
             "key GENERATION given twice");
  BOOST_TEST(error("CONFVISOR_ACK=1\nGENERATION=1\nOUTCOME=maybe\n") ==
             "OUTCOME must be applied or rejected");
  BOOST_TEST(error("CONFVISOR_ACK=1\nGENERATION=1\nOUTCOME=applied\nREASON=x\n") ==
             "REASON is given on an applied report");
  BOOST_TEST(error("CONFVISOR_ACK=1\nGENERATION=1\nWORKER=api\n") == "unknown key \"WORKER\"");
  BOOST_TEST(error(std::string(kMaxReportMessage + 1, 'x')) == "longer than 1024 bytes");
}
