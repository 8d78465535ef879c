// The start order ("after") and "on_fatal", as an operator sees them: the config's refusals at
// their JSON pointers (in process, and through `confvisord --check`), then the real confvisord
// with real worker processes. The workers record their own starts and stops by appending
// lines to one file, so the order is what they saw, not what the daemon logged; a dependency
// appends its line before it says READY=1 (libsystemd's sd_notify, through
// tests/support/notify_worker), so a dependent's line after it shows it started only once
// the dependency was ready.
//
// Every worker carries CONFVISOR_TEST_MARK=<the test's segment name>, so /proc tells which
// processes are the test's: none may be left once the daemon has exited.
#define BOOST_TEST_MODULE start_order
#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon/config/model.hpp"
#include "tests/support/config_documents.hpp"
#include "tests/support/daemon_client.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/proc_scan.hpp"
#include "tests/support/process_wait.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/text_search.hpp"

using namespace confvisor::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr const char* kMark = "CONFVISOR_TEST_MARK";

// ---- The config.

std::string workers_section(std::string_view workers) {
  return section(R"("workers": [)" + std::string(workers) + "]");
}

// ---- The daemon and its workers.

// One test's world: a segment, a temp dir, a control socket in it, and a config of workers
// that carry the test's mark. Whatever still carries it when the test ends is killed.
struct Setup {
  SegmentGuard seg{"order"};
  TempDir dir;

  Setup() = default;
  Setup(const Setup&) = delete;
  Setup& operator=(const Setup&) = delete;
  ~Setup() { kill_pids_with_env(kMark, seg.name()); }

  [[nodiscard]] std::string file(const std::string& name) const { return dir.path() + "/" + name; }
  [[nodiscard]] std::string config_path() const { return file("app.json"); }
  // The lines the workers appended to $T/order, in order.
  [[nodiscard]] std::vector<std::string> order() const {
    return lines_of(read_file(file("order")));
  }

  // A worker with short timings and env {CONFVISOR_TEST_MARK, T=the temp dir}; `extra` adds
  // or overrides keys.
  [[nodiscard]] json::object worker(const std::string& name, const std::string& script,
                                    const json::object& extra = {}) const {
    json::object w{{"name", name},
                   {"command", json::array{"/bin/sh", "-c", script}},
                   {"start_window", "100ms"},
                   {"stop_timeout", "2s"},
                   {"backoff", json::object{{"initial", "50ms"}, {"max", "50ms"}}},
                   {"env", json::object{{kMark, seg.name()}, {"T", dir.path()}}}};
    for (const auto& [key, value] : extra) w[key] = value;
    return w;
  }

  std::string write_config(const std::vector<json::object>& workers) const {
    json::array list;
    for (const auto& w : workers) list.emplace_back(w);
    json::object doc{{"confvisor", json::object{{"segment", seg.name()},
                                                {"socket", file("ctl.sock")},
                                                {"workers", std::move(list)}}}};
    return dir.write("app.json", json::serialize(doc) + "\n");
  }
};

// A worker that appends "NAME[INSTANCE] started" to $T/order, then, once it is stopped,
// "NAME[INSTANCE] stopped" after `linger` (a shell's trap; its sleep dies with the group).
std::string recorder(const std::string& linger = "0") {
  return "trap 'sleep " + linger +
         "; echo \"$CONFVISOR_WORKER[$CONFVISOR_INSTANCE] stopped\" >> \"$T/order\"; exit 0' "
         "TERM; echo \"$CONFVISOR_WORKER[$CONFVISOR_INSTANCE] started\" >> \"$T/order\"; "
         "while :; do sleep 100 & wait $!; done";
}

// A ready: notify worker that becomes ready only once $T/GATE exists (looked for every 20 ms
// by the worker itself), appends "NAME[INSTANCE] ready" to $T/order, then says READY=1.
std::string notifier(const std::string& gate = "") {
  std::string wait =
      gate.empty() ? "" : "while [ ! -e \"$T/" + gate + "\" ]; do sleep 0.02; done; ";
  return wait + "echo \"$CONFVISOR_WORKER[$CONFVISOR_INSTANCE] ready\" >> \"$T/order\"; exec " +
         std::string(CONFVISOR_NOTIFY_WORKER);
}

json::array names(std::initializer_list<const char*> list) {
  json::array out;
  for (const char* n : list) out.emplace_back(n);
  return out;
}

RunResult ctl(DaemonProcess& d, const Setup& s, std::vector<std::string> args) {
  args.insert(args.begin(), {"--config", s.config_path()});
  return confvisorctl(d, args);
}

json::object status(DaemonProcess& d, const Setup& s) {
  const RunResult r = ctl(d, s, {"status", "--json"});
  return json::parse(r.output).as_object();
}

// The status of instance `instance` of worker `name`.
json::object instance_of(const json::object& status, const std::string& name,
                         std::int64_t instance = 0) {
  for (const json::value& v : status.at("workers").as_array()) {
    const json::object& i = v.as_object();
    if (i.at("name").as_string() == name && i.at("instance").as_int64() == instance) return i;
  }
  BOOST_FAIL("no " << name << ":" << instance << " in status " << json::serialize(status));
  return {};
}

// Waits until `name`:`instance` is in `state`; throws with the log after 10 s.
json::object require_state(DaemonProcess& d, const Setup& s, const std::string& name,
                           const std::string& state, std::int64_t instance = 0) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    // The daemon may not answer yet, just started. Exit 5: a worker is FATAL.
    const RunResult r = ctl(d, s, {"status", "--json"});
    if (r.exit_code() != 0 && r.exit_code() != 5) {
      if (std::chrono::steady_clock::now() > deadline) d.fail("status: " + r.output);
      std::this_thread::sleep_for(20ms);
      continue;
    }
    json::object i = instance_of(json::parse(r.output).as_object(), name, instance);
    if (i.at("state").as_string() == state) return i;
    if (std::chrono::steady_clock::now() > deadline) {
      d.fail(name + ":" + std::to_string(instance) + " is " + json::serialize(i) + ", not " +
             state);
    }
    std::this_thread::sleep_for(20ms);
  }
}

std::size_t position(const std::vector<std::string>& lines, const std::string& line) {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i] == line) return i;
  }
  BOOST_FAIL("no line \"" << line << "\" in the workers' record:\n" << joined(lines));
  return 0;
}

// After the daemon exited: nothing carrying the test's mark is alive.
void check_no_worker_left(const Setup& s) {
  const auto left = wait_no_pids_with_env(kMark, s.seg.name(), 1s);
  BOOST_TEST(left.empty(), "worker processes outlived confvisord: " << describe_pids(left));
}

void stop_and_check(DaemonProcess& d, const Setup& s) {
  d.signal(SIGTERM);
  const int st = d.wait_exit(15s);
  BOOST_TEST(exit_code(st) == 0, "confvisord exit status; its log:\n" << tail(d.log()));
  check_no_worker_left(s);
}

}  // namespace

// ---------------------------------------------------------------- the config

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(after_and_on_fatal_default_to_none_and_stay) {
  const auto w = worker_of("");
  BOOST_TEST(w.after.empty());
  BOOST_TEST((w.on_fatal == confvisor::config::FatalAction::stay));
  BOOST_TEST((worker_of(R"("on_fatal": "exit")").on_fatal == confvisor::config::FatalAction::exit));
}

BOOST_AUTO_TEST_CASE(after_names_workers_of_the_list_in_any_order) {
  const auto settings = settings_of(workers_section(R"(
      {"name": "web", "command": ["/bin/true"], "after": ["db", "cache"]},
      {"name": "db", "command": ["/bin/true"]},
      {"name": "cache", "command": ["/bin/true"], "after": ["db"]})"));
  BOOST_TEST(settings.workers.at(0).after == (std::vector<std::string>{"db", "cache"}),
             boost::test_tools::per_element());
  BOOST_TEST(settings.workers.at(2).after == std::vector<std::string>{"db"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(an_unknown_name_is_refused_at_its_entry_with_the_nearest_name) {
  const Lines expected{
      R"(t.json: /confvisor/workers/1/after/1: no worker named "dbb" in /confvisor/workers (did you mean "db"?))",
      R"(t.json: /confvisor/workers/2/after/0: no worker named "zzzzzz" in /confvisor/workers (workers: db, web, api))",
  };
  BOOST_TEST(errors_of(workers_section(R"(
      {"name": "db", "command": ["/bin/true"]},
      {"name": "web", "command": ["/bin/true"], "after": ["db", "dbb"]},
      {"name": "api", "command": ["/bin/true"], "after": ["zzzzzz"]})")) == expected,
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_worker_naming_itself_is_refused) {
  BOOST_TEST(
      error_of(workers_section(R"(
      {"name": "db", "command": ["/bin/true"]},
      {"name": "web", "command": ["/bin/true"], "after": ["db", "web"]})")) ==
      R"(t.json: /confvisor/workers/1/after/1: "web" is this worker itself: a worker cannot start after itself)");
}

BOOST_AUTO_TEST_CASE(a_cycle_is_refused_once_naming_every_worker_on_it) {
  // a -> b -> c -> a, and d -> e -> d beside a worker outside both that starts after them.
  const Lines expected{
      "t.json: /confvisor/workers/2/after/0: the start order makes a cycle: a -> b -> c -> a "
      "(each starts after the next): no worker of it could ever start",
      "t.json: /confvisor/workers/4/after/0: the start order makes a cycle: d -> e -> d "
      "(each starts after the next): no worker of it could ever start",
  };
  BOOST_TEST(errors_of(workers_section(R"(
      {"name": "a", "command": ["/bin/true"], "after": ["b"]},
      {"name": "b", "command": ["/bin/true"], "after": ["c"]},
      {"name": "c", "command": ["/bin/true"], "after": ["a"]},
      {"name": "d", "command": ["/bin/true"], "after": ["e"]},
      {"name": "e", "command": ["/bin/true"], "after": ["d"]},
      {"name": "f", "command": ["/bin/true"], "after": ["a", "d"]})")) == expected,
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_diamond_is_no_cycle) {
  BOOST_TEST(errors_of(workers_section(R"(
      {"name": "top", "command": ["/bin/true"], "after": ["left", "right"]},
      {"name": "left", "command": ["/bin/true"], "after": ["base"]},
      {"name": "right", "command": ["/bin/true"], "after": ["base"]},
      {"name": "base", "command": ["/bin/true"]})"))
                 .empty());
}

BOOST_AUTO_TEST_CASE(bad_entries_are_refused_at_their_pointers) {
  const Lines expected{
      "t.json: /confvisor/workers/1/after/0: expected a string, got number 5",
      R"(t.json: /confvisor/workers/1/after/2: "db" is listed twice: /confvisor/workers/1/after/1 has it too)",
      R"(t.json: /confvisor/workers/2/after: expected an array, got "db")",
  };
  BOOST_TEST(errors_of(workers_section(R"(
      {"name": "db", "command": ["/bin/true"]},
      {"name": "web", "command": ["/bin/true"], "after": [5, "db", "db"]},
      {"name": "api", "command": ["/bin/true"], "after": "db"})")) == expected,
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(on_fatal_is_stay_or_exit_and_not_with_a_retry) {
  BOOST_TEST(error_of(one_worker(R"("on_fatal": "restart")")) ==
             R"(t.json: /confvisor/workers/0/on_fatal: expected one of stay, exit; got "restart")");
  BOOST_TEST(error_of(one_worker(R"("on_fatal": "exit", "fatal_retry_after": "1m")")) ==
             "t.json: /confvisor/workers/0/on_fatal: \"exit\" ends the daemon once the worker is "
             "FATAL, so its fatal_retry_after would never come: set one or the other");
}

// The same refusal from the real binary, which a unit's ExecStartPre runs: every error, at
// its pointer, exit 1, and a reload that would bring a cycle changes nothing.
BOOST_AUTO_TEST_CASE(check_and_reload_refuse_a_cycle) {
  Setup s;
  const std::string path = s.write_config(
      {s.worker("a", recorder(), {{"after", names({"b"})}}), s.worker("b", recorder())});
  DaemonProcess d(s.dir, path);
  require_ready(d, 10s);
  const json::object before = status(d, s);

  s.write_config({s.worker("a", recorder(), {{"after", names({"b"})}}),
                  s.worker("b", recorder(), {{"after", names({"a"})}})});
  const RunResult check = run({bin("confvisord"), "--check", "--config", path});
  BOOST_TEST(check.exit_code() == 1);
  BOOST_TEST(contains(check.output, path + ": /confvisor/workers/1/after/0: the start order "
                                           "makes a cycle: a -> b -> a"),
             check.output);

  const RunResult reload = ctl(d, s, {"reload"});
  BOOST_TEST(reload.exit_code() == 1);
  BOOST_TEST(contains(reload.output, "/confvisor/workers/1/after/0: the start order makes a cycle"),
             reload.output);
  const json::object after = status(d, s);
  BOOST_TEST(after.at("generation") == before.at("generation"));
  for (const char* name : {"a", "b"}) {
    BOOST_TEST(instance_of(after, name).at("pid") == instance_of(before, name).at("pid"));
  }
  stop_and_check(d, s);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- supervision

BOOST_AUTO_TEST_SUITE(supervision)

// web (2 instances) starts after db (2 instances, notify) and cache (notify), though listed
// first; they stop the other way round on SIGTERM, web's slow stop included.
BOOST_AUTO_TEST_CASE(dependents_start_once_every_instance_is_ready_and_stop_first) {
  Setup s;
  // db and cache are notify_worker, which record their "ready" line only.
  s.write_config(
      {s.worker("web", recorder("0.3"), {{"instances", 2}, {"after", names({"db", "cache"})}}),
       s.worker("db", notifier("db.go"), {{"instances", 2}, {"ready", "notify"}}),
       s.worker("cache", notifier(), {{"ready", "notify"}})});
  DaemonProcess d(s.dir, s.config_path());
  // db is held back by its gate: web waits, and says for whom.
  require_state(d, s, "cache", "RUNNING");
  const json::object web = require_state(d, s, "web", "WAITING", 1);
  BOOST_TEST(web.at("pid").is_null());
  BOOST_TEST(web.at("waiting_for") == json::parse(R"(["db"])"), json::serialize(web));
  const RunResult table = ctl(d, s, {"status"});
  BOOST_TEST(contains(table.output, "WAITING for db"), table.output);
  BOOST_TEST(s.order() == std::vector<std::string>{"cache[0] ready"},
             boost::test_tools::per_element());

  s.dir.write("db.go", "");
  require_ready(d, 10s);
  require_state(d, s, "web", "RUNNING", 0);
  require_state(d, s, "web", "RUNNING", 1);
  BOOST_TEST_REQUIRE(wait_for_file(s.file("order"), 1s));
  auto lines = s.order();
  const std::size_t first_web =
      std::min(position(lines, "web[0] started"), position(lines, "web[1] started"));
  for (const char* dep : {"db[0] ready", "db[1] ready", "cache[0] ready"}) {
    BOOST_TEST(position(lines, dep) < first_web, dep << " in\n" << joined(lines));
  }

  // db's instances are notify_worker, which dies of SIGTERM at once: web's record of its stop
  // (0.3 s after its SIGTERM) comes before db's exit only if db's stop waited for it.
  d.signal(SIGTERM);
  BOOST_TEST(exit_code(d.wait_exit(15s)) == 0, tail(d.log()));
  check_no_worker_left(s);
  lines = s.order();
  const std::string log = d.log();
  const auto log_lines_of = lines_of(log);
  auto at = [&](const std::string& needle) {
    for (std::size_t i = 0; i < log_lines_of.size(); ++i) {
      if (contains(log_lines_of[i], needle)) return i;
    }
    BOOST_FAIL("no log line with " << needle << "\n" << tail(log));
    return std::size_t{0};
  };
  const std::size_t web_stopped = std::max(at("worker web[0] (generation 1) stopped"),
                                           at("worker web[1] (generation 1) stopped"));
  for (const char* dep :
       {"worker db[0] (generation 1) stopping", "worker db[1] (generation 1) stopping",
        "worker cache[0] (generation 1) stopping"}) {
    BOOST_TEST(at(dep) > web_stopped, dep);
  }
  BOOST_TEST(position(lines, "web[0] stopped") > position(lines, "web[0] started"));
  BOOST_TEST(position(lines, "web[1] stopped") > position(lines, "web[1] started"));
}

// A dependency that goes FATAL keeps its dependents WAITING, visible in status; the daemon
// still gets ready (they cannot start until an operator acts), `start` of a dependent says why
// it cannot, and `start` of the dependency, once it can run, lets them start.
BOOST_AUTO_TEST_CASE(a_fatal_dependency_keeps_dependents_waiting_until_it_is_started) {
  Setup s;
  // db is ready only when it says so: however slow its failing start, it is never ready.
  s.write_config({s.worker("db", "[ -e \"$T/db.ok\" ] || exit 1; " + notifier(),
                           {{"ready", "notify"},
                            {"restart_limit", json::object{{"count", 1}, {"period", "10s"}}}}),
                  s.worker("web", recorder(), {{"after", names({"db"})}}),
                  s.worker("api", recorder(), {{"after", names({"web"})}})});
  DaemonProcess d(s.dir, s.config_path());
  require_ready(d, 10s);
  const json::object now = status(d, s);
  BOOST_TEST(instance_of(now, "db").at("state") == "FATAL");
  BOOST_TEST(instance_of(now, "web").at("state") == "WAITING");
  BOOST_TEST(instance_of(now, "web").at("waiting_for") == json::parse(R"(["db"])"));
  BOOST_TEST(instance_of(now, "api").at("waiting_for") == json::parse(R"(["web"])"));
  const RunResult table = ctl(d, s, {"status"});
  BOOST_TEST(contains(table.output, "WAITING for db"), table.output);
  BOOST_TEST(contains(table.output, "WAITING for web"), table.output);
  BOOST_TEST(contains(d.log(),
                      "worker web[0] (generation 1) waiting for db to be ready before it "
                      "starts"));

  const RunResult refused = ctl(d, s, {"start", "web"});
  BOOST_TEST(refused.exit_code() == 1);
  BOOST_TEST(contains(refused.output, "web:0 is WAITING for db"), refused.output);
  BOOST_TEST(!fs::exists(s.file("order")));  // nothing of web or api ever ran

  s.dir.write("db.ok", "");
  const RunResult started = ctl(d, s, {"start", "db"});
  BOOST_TEST(started.exit_code() == 0, started.output);
  require_state(d, s, "api", "RUNNING");
  BOOST_TEST(
      s.order() == (std::vector<std::string>{"db[0] ready", "web[0] started", "api[0] started"}),
      boost::test_tools::per_element());

  // Only starts wait: a running dependent keeps running when its dependency is stopped.
  const json::object before = status(d, s);
  BOOST_TEST(ctl(d, s, {"stop", "db"}).exit_code() == 0);
  const json::object after = status(d, s);
  BOOST_TEST(instance_of(after, "db").at("state") == "STOPPED");
  BOOST_TEST(instance_of(after, "web").at("state") == "RUNNING");
  BOOST_TEST(instance_of(after, "web").at("pid") == instance_of(before, "web").at("pid"));
  stop_and_check(d, s);
}

// A reload that adds `after`: the running worker it is added to keeps running (no restart),
// a new worker that starts after a new dependency waits for it.
BOOST_AUTO_TEST_CASE(a_reload_adding_after_applies_it_to_the_workers_it_starts) {
  Setup s;
  s.write_config({s.worker("web", recorder())});
  DaemonProcess d(s.dir, s.config_path());
  require_ready(d, 10s);
  const json::value web_pid = instance_of(status(d, s), "web").at("pid");

  s.write_config({s.worker("web", recorder(), {{"after", names({"db"})}}),
                  s.worker("db", notifier("db.go"), {{"ready", "notify"}}),
                  s.worker("api", recorder(), {{"after", names({"db", "web"})}})});
  const RunResult reload = ctl(d, s, {"reload"});
  BOOST_TEST_REQUIRE(reload.exit_code() == 0, reload.output);
  BOOST_TEST(!contains(reload.output, "restarting"), reload.output);
  const json::object api = require_state(d, s, "api", "WAITING");
  BOOST_TEST(api.at("waiting_for") == json::parse(R"(["db"])"), json::serialize(api));
  const json::object web = instance_of(status(d, s), "web");
  BOOST_TEST(web.at("state") == "RUNNING");
  BOOST_TEST(web.at("pid") == web_pid);

  s.dir.write("db.go", "");
  require_state(d, s, "api", "RUNNING");
  const auto lines = s.order();
  BOOST_TEST(position(lines, "db[0] ready") < position(lines, "api[0] started"));
  BOOST_TEST(instance_of(status(d, s), "web").at("pid") == web_pid);
  stop_and_check(d, s);
}

// A reload that removes a dependent and its dependency together stops them in order.
BOOST_AUTO_TEST_CASE(a_reload_removing_both_stops_the_dependent_first) {
  Setup s;
  s.write_config({s.worker("keep", recorder()), s.worker("db", recorder()),
                  s.worker("web", recorder("0.3"), {{"after", names({"db"})}})});
  DaemonProcess d(s.dir, s.config_path());
  require_ready(d, 10s);
  s.write_config({s.worker("keep", recorder())});
  BOOST_TEST_REQUIRE(ctl(d, s, {"reload"}).exit_code() == 0);
  BOOST_TEST_REQUIRE(wait_for_log(d, "worker db[0] (generation 2) stopped", 10s), tail(d.log()));
  const auto lines = s.order();
  BOOST_TEST(position(lines, "web[0] stopped") < position(lines, "db[0] stopped"), joined(lines));
  stop_and_check(d, s);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- on_fatal

BOOST_AUTO_TEST_SUITE(on_fatal)

// The daemon stops every worker (the dependent first), tells the service manager, and exits 3;
// nothing of any worker is left, in its cgroup or out of it.
BOOST_AUTO_TEST_CASE(exit_stops_every_worker_in_order_and_exits_3) {
  Setup s;
  s.write_config({s.worker("base", recorder()),
                  s.worker("web", recorder("0.3"), {{"after", names({"base"})}}),
                  s.worker("job", "[ -e \"$T/job.fail\" ] && exit 1; " + recorder(),
                           {{"on_fatal", "exit"},
                            {"restart_limit", json::object{{"count", 1}, {"period", "10s"}}}})});
  DaemonProcess d(s.dir, s.config_path());
  require_ready(d, 10s);
  std::vector<std::string> cgroups;
  const json::object before = status(d, s);
  for (const json::value& v : before.at("workers").as_array()) {
    if (!v.at("cgroup").is_null()) cgroups.emplace_back(v.at("cgroup").as_string());
  }

  s.dir.write("job.fail", "");
  const pid_t job = static_cast<pid_t>(instance_of(status(d, s), "job").at("pid").as_int64());
  BOOST_TEST_REQUIRE(job > 1);
  ::kill(job, SIGKILL);  // fails, is restarted once, fails again: FATAL
  const int st = d.wait_exit(15s);
  BOOST_TEST(exit_code(st) == 3, "confvisord exit status; its log:\n" << tail(d.log()));
  check_no_worker_left(s);
  for (const std::string& cgroup : cgroups) {
    BOOST_TEST(!fs::exists(cgroup), cgroup << " is left");
  }

  const std::string log = d.log();
  BOOST_TEST(count_lines(log,
                         "worker job[0] (generation 1) is FATAL and its on_fatal is exit: "
                         "stopping every worker, then exiting with code 3") == 1u,
             tail(log));
  d.drain_notifications();
  bool told = false;
  for (const std::string& n : d.notifications()) {
    told = told || (contains(n, "STOPPING=1") && contains(n, "STATUS=worker job[0]") &&
                    contains(n, "is FATAL"));
  }
  BOOST_TEST(told, "no STOPPING=1 naming job[0]");
  const auto lines = s.order();
  BOOST_TEST(position(lines, "web[0] stopped") < position(lines, "base[0] stopped"), joined(lines));
}

// With the default, a FATAL worker leaves the daemon and the other workers running.
BOOST_AUTO_TEST_CASE(stay_leaves_the_daemon_running) {
  Setup s;
  s.write_config({s.worker("base", recorder()),
                  s.worker("job", "exit 1",
                           {{"restart_limit", json::object{{"count", 1}, {"period", "10s"}}}})});
  DaemonProcess d(s.dir, s.config_path());
  require_ready(d, 10s);
  require_state(d, s, "job", "FATAL");
  d.watch(300ms);  // it stays up
  BOOST_TEST(instance_of(status(d, s), "base").at("state") == "RUNNING");
  stop_and_check(d, s);
}

BOOST_AUTO_TEST_SUITE_END()
