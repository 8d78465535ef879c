// Validation of the whole document before it is published, on the real daemon: a JSON Schema
// ("schema" in the confvisor section) and workers' own check commands ("check"), with
// check_worker, a C++ worker whose --check-config mode refuses a port out of range. A refused
// reload must name every error, keep the last good generation published and the workers
// running, and a check must never stall the loop or outlive the daemon.
#define BOOST_TEST_MODULE validation
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

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
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kCheckWorker = CONFVISOR_CHECK_WORKER;

// One daemon's files: its config app.json, a schema beside it, its socket.
struct Setup {
  SegmentGuard seg{"val"};
  TempDir dir{"validation"};
  [[nodiscard]] std::string socket() const { return dir.path() + "/ctl.sock"; }
  [[nodiscard]] std::string path() const { return dir.path() + "/app.json"; }
  [[nodiscard]] std::string schema_path() const { return dir.path() + "/app.schema.json"; }

  // The config: one worker "api" running check_worker, `worker` added to its keys, `settings`
  // to the section's, and `app` as what workers read.
  std::string write(const std::string& app, const std::string& settings = "",
                    const std::string& worker = "") const {
    return dir.write("app.json",
                     "{\"confvisor\": {\"segment\": \"" + seg.name() + "\", \"socket\": \"" +
                         socket() + "\", \"mode\": \"0644\"" + settings +
                         ",\n \"workers\": [{\"name\": \"api\", \"command\": [\"" + kCheckWorker +
                         "\"], \"start_window\": \"100ms\", \"stop_timeout\": "
                         "\"5s\"" +
                         worker + "}]},\n \"app\": " + app + "}\n");
  }
  [[nodiscard]] std::string with_schema() const {
    return ", \"schema\": \"" + schema_path() + "\"";
  }
  void write_schema(const std::string& text) const { dir.write("app.schema.json", text); }
};

// The keys of a worker whose check is check_worker's own, with `extra`.
std::string checked(const std::string& extra = "") {
  return ", \"check\": [\"" + kCheckWorker + "\", \"--check-config\", \"{file}\"]" + extra;
}

RunResult ctl(DaemonProcess& d, const Setup& s, std::vector<std::string> args) {
  args.insert(args.begin(), {"--socket", s.socket()});
  return confvisorctl(d, args);
}

json::object status_of(DaemonProcess& d, const Setup& s) {
  const RunResult r = ctl(d, s, {"status", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code() == 0, r.output);
  return json::parse(r.output).as_object();
}

pid_t api_pid(DaemonProcess& d, const Setup& s) {
  const json::value status = status_of(d, s);  // held: `pid` refers into it
  const json::value& pid = status.at("workers").as_array().at(0).at("pid");
  return pid.is_null() ? 0 : pid.to_number<pid_t>();
}

std::string live_port(DaemonProcess& d, const Setup& s) {
  const RunResult r = ctl(d, s, {"get", "/app/port"});
  BOOST_TEST_REQUIRE(r.exit_code() == 0, r.output);
  return r.output;
}

// The path a check_worker printed ("... file PATH mode M").
std::string checked_file(const std::string& output) {
  const auto at = output.find(" file ");
  BOOST_TEST_REQUIRE(at != std::string::npos, output);
  return output.substr(at + 6, output.find(' ', at + 6) - (at + 6));
}

// Live processes whose command line contains `needle`.
std::vector<pid_t> processes_with(const std::string& needle) {
  std::vector<pid_t> found;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = read_file(entry.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    const std::string stat = read_file(entry.path() / "stat");
    const auto close = stat.rfind(')');
    if (close != std::string::npos && stat.size() > close + 2 && stat[close + 2] == 'Z') continue;
    if (contains(cmdline, needle)) found.push_back(static_cast<pid_t>(std::stoi(name)));
  }
  return found;
}

bool gone_within(pid_t pid, std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    const auto close = stat.rfind(')');
    if (stat.empty() || (close != std::string::npos && stat[close + 2] == 'Z')) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

const char* kPortSchema = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["app"],
  "properties": {
    "app": {
      "type": "object",
      "required": ["port", "name"],
      "properties": {
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "name": {"type": "string", "minLength": 1},
        "tags": {"type": "array", "items": {"type": "string"}}
      }
    }
  }
})";

}  // namespace

BOOST_AUTO_TEST_CASE(a_reload_the_schema_refuses_names_every_error_and_changes_nothing) {
  Setup s;
  s.write_schema(kPortSchema);
  s.write(R"({"port": 8080, "name": "api", "tags": ["a"]})", s.with_schema());
  DaemonProcess d(s.dir, s.path());
  require_ready(d);
  const pid_t worker = api_pid(d, s);
  BOOST_TEST_REQUIRE(worker > 0);

  s.write(R"({"port": "8081", "name": "", "tags": ["a", 2]})", s.with_schema());
  const RunResult r = ctl(d, s, {"reload"});
  BOOST_TEST(r.exit_code() == 1, r.output);
  BOOST_TEST(contains(r.output, s.path() + ": /app/port: schema: type: got \"8081\""), r.output);
  BOOST_TEST(contains(r.output, s.path() + ": /app/name: schema: minLength: "), r.output);
  BOOST_TEST(contains(r.output, s.path() + ": /app/tags/1: schema: type: got number 2"), r.output);
  // Only the errors themselves: not the parents' "a child failed".
  BOOST_TEST(!contains(r.output, "associated with property"), r.output);
  BOOST_TEST(contains(d.log(), "reload failed: generation 1 stays published"), tail(d.log()));
  BOOST_TEST(contains(live_port(d, s), "8080"));
  BOOST_TEST(api_pid(d, s) == worker);
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(a_schema_applies_with_the_reload_that_ships_it_and_is_read_at_each) {
  Setup s;
  s.write(R"({"port": 8080, "name": "api"})");
  DaemonProcess d(s.dir, s.path());
  require_ready(d);

  // The reload that first names the schema is validated against it.
  s.write_schema(kPortSchema);
  s.write(R"({"port": 0, "name": "api"})", s.with_schema());
  RunResult r = ctl(d, s, {"reload"});
  BOOST_TEST(r.exit_code() == 1, r.output);
  BOOST_TEST(contains(r.output, "/app/port: schema: minimum: "), r.output);

  // An edited schema file counts from the next reload on, with no change to the config.
  s.write_schema(R"({"properties": {"app": {"properties": {"port": {"minimum": 0}}}}})");
  r = ctl(d, s, {"reload"});
  BOOST_TEST(r.exit_code() == 0, r.output);
  BOOST_TEST(contains(live_port(d, s), "0"));

  // A rollback is validated against the schema file as it is now, not as it was.
  s.write(R"({"port": 5, "name": "api"})", s.with_schema());
  r = ctl(d, s, {"reload"});
  BOOST_TEST_REQUIRE(r.exit_code() == 0, r.output);
  s.write_schema(R"({"properties": {"app": {"properties": {"port": {"minimum": 1}}}}})");
  r = ctl(d, s, {"rollback", "2"});
  BOOST_TEST(r.exit_code() == 1, r.output);
  BOOST_TEST(contains(r.output,
                      "generation 2: /app/port: schema: minimum: expected number greater than or "
                      "equal to 1, got number 0"),
             r.output);
  BOOST_TEST(contains(live_port(d, s), "5"));

  // A broken schema refuses the reload with its own place, and the last good stays.
  s.write_schema("{\n  \"type\": \"object\",\n  \"properties\": {]\n}");
  s.write(R"({"port": 1, "name": "api"})", s.with_schema());
  r = ctl(d, s, {"reload"});
  BOOST_TEST(r.exit_code() == 1, r.output);
  BOOST_TEST(contains(r.output, "/confvisor/schema: the schema cannot be used"), r.output);
  BOOST_TEST(contains(r.output, s.schema_path() + ":3:18: syntax error at ']'"), r.output);
  BOOST_TEST(contains(live_port(d, s), "5"));
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(check_refuses_a_schema_that_cannot_be_used_with_its_reason) {
  Setup s;
  auto check_with = [&](const std::string& schema) {
    s.write_schema(schema);
    s.write(R"({"port": 1, "name": "api"})", s.with_schema());
    return run({bin("confvisord"), "--check", "--config", s.path()});
  };
  RunResult r = check_with(R"({"$ref": "http://example.com/app.schema.json"})");
  BOOST_TEST(r.exit_code() == 1, r.output);
  BOOST_TEST(contains(r.output, s.schema_path() + ": invalid schema: fetching of remote JSON "
                                                  "References not enabled"),
             r.output);
  r = check_with(R"({"properties": {"app": {"$ref": "#/definitions/nope"}}})");
  BOOST_TEST(r.exit_code() == 1, r.output);
  BOOST_TEST(contains(r.output, s.schema_path() + ": invalid schema: "), r.output);
  r = check_with(R"({"$schema": "https://json-schema.org/draft/2020-12/schema"})");
  BOOST_TEST(r.exit_code() == 1, r.output);
  BOOST_TEST(contains(r.output, "is not supported: confvisord validates with drafts 4 and 7"),
             r.output);
  r = check_with(R"({"properties": {"app": {"required": ["missing"]}}})");
  BOOST_TEST(r.exit_code() == 1, r.output);
  BOOST_TEST(contains(r.output, s.path() + ": /app: schema: required: missing required property "
                                           "'missing'"),
             r.output);

  // std::regex recurses per character: a long string against a pattern must neither crash
  // the daemon nor pass unchecked.
  s.write_schema(R"({"properties": {"app": {"properties": {"name": {"pattern": "^(a|b)*$"}}}}})");
  s.write(R"({"port": 1, "name": ")" + std::string(60000, 'a') + "c\"}", s.with_schema());
  r = run({bin("confvisord"), "--check", "--config", s.path()});
  BOOST_TEST(r.exit_code() == 1, r.output);
  BOOST_TEST(contains(r.output, s.path() + ": /app/name: schema: pattern: failed to match"),
             r.output);
  s.write(R"({"port": 1, "name": ")" + std::string(70000, 'a') + "\"}", s.with_schema());
  r = run({bin("confvisord"), "--check", "--config", s.path()});
  BOOST_TEST(r.exit_code() == 1, r.output);
  BOOST_TEST(contains(r.output, s.path() + ": /app/name: schema: pattern: a string of 70000 bytes, "
                                           "longer than the 65536"),
             r.output);

  // A FIFO is refused unread: --check never waits for a writer.
  fs::remove(s.schema_path());
  BOOST_TEST_REQUIRE(::mkfifo(s.schema_path().c_str(), 0600) == 0);
  s.write(R"({"port": 1, "name": "api"})", s.with_schema());
  r = run({"/usr/bin/timeout", "10", bin("confvisord"), "--check", "--config", s.path()});
  BOOST_TEST(r.exit_code() == 1, r.output);
  BOOST_TEST(contains(r.output, s.schema_path() + ": not a regular file (a FIFO) (the schema)"),
             r.output);
}

BOOST_AUTO_TEST_CASE(check_runs_the_workers_checks_only_when_asked_to) {
  Setup s;
  s.write(R"({"port": 0})", "", checked());
  // Plain --check runs no program.
  RunResult r = run({bin("confvisord"), "--check", "--config", s.path()});
  BOOST_TEST(r.exit_code() == 0, r.output);
  r = run({bin("confvisord"), "--check", "--run-checks", "--config", s.path()});
  BOOST_TEST(r.exit_code() == 1, r.output);
  BOOST_TEST(contains(r.output, s.path() + ": /confvisor/workers/0/check: worker \"api\": check "
                                           "ended with exit code 1"),
             r.output);
  BOOST_TEST(contains(r.output, "check output: check_worker: /app/port: 0 is not a port"),
             r.output);
  BOOST_TEST(!fs::exists(fs::path(checked_file(r.output)).parent_path()), r.output);
  s.write(R"({"port": 1})", "", checked());
  r = run({bin("confvisord"), "--check", "--run-checks", "--config", s.path()});
  BOOST_TEST(r.exit_code() == 0, r.output);
  r = run({bin("confvisord"), "--run-checks", "--config", s.path()});
  BOOST_TEST(r.exit_code() == 2, r.output);
}

BOOST_AUTO_TEST_CASE(a_failing_check_refuses_the_reload_with_its_output_run_as_the_worker) {
  const passwd* nobody = ::getpwnam("nobody");
  const bool as_root = ::geteuid() == 0 && nobody != nullptr;
  const std::string user = as_root ? ", \"user\": \"nobody\"" : "";
  Setup s;
  s.write(R"({"port": 8080})", "", checked(user));
  DaemonProcess d(s.dir, s.path());
  require_ready(d);
  const pid_t worker = api_pid(d, s);
  require_log(d, "api[0]: generation 1: port 8080");

  s.write(R"({"port": 70000})", "", checked(user));
  const RunResult r = ctl(d, s, {"reload"});
  BOOST_TEST(r.exit_code() == 1, r.output);
  BOOST_TEST(contains(r.output, s.path() + ": /confvisor/workers/0/check: worker \"api\": check "
                                           "ended with exit code 1"),
             r.output);
  BOOST_TEST(contains(r.output,
                      "worker \"api\" check output: check_worker: /app/port: 70000 is "
                      "not a port (1 to 65535)"),
             r.output);
  if (as_root) {
    BOOST_TEST(contains(r.output, "check_worker: uid " + std::to_string(nobody->pw_uid) + " gid " +
                                      std::to_string(nobody->pw_gid) + " file "),
               r.output);
    BOOST_TEST(contains(r.output, " mode 0400"), r.output);
  } else {
    BOOST_TEST(contains(r.output, " mode 0600"), r.output);
  }
  // The private copy is gone, with its directory.
  const std::string copy = checked_file(r.output);
  BOOST_TEST(!fs::exists(copy), copy);
  BOOST_TEST(!fs::exists(fs::path(copy).parent_path()), copy);
  BOOST_TEST(contains(live_port(d, s), "8080"));
  BOOST_TEST(api_pid(d, s) == worker);

  // A config the check accepts goes live, and the running worker reads it.
  s.write(R"({"port": 9090})", "", checked(user));
  const RunResult ok = ctl(d, s, {"reload"});
  BOOST_TEST(ok.exit_code() == 0, ok.output);
  require_log(d, "api[0]: generation 2: port 9090");
  BOOST_TEST(api_pid(d, s) == worker);
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(a_hung_check_times_out_while_the_daemon_answers_and_sighups_coalesce) {
  Setup s;
  const std::string hang = checked(", \"check_timeout\": \"1500ms\"");
  s.write(R"({"port": 8080})", "", hang);
  DaemonProcess d(s.dir, s.path());
  require_ready(d);

  s.write(R"({"port": 8081, "check": "hang"})", "", hang);
  d.signal(SIGHUP);
  require_log(d, "reload checking: generation 1 stays published while the checks of api run");
  // The loop goes on: status answers at once and shows the check.
  const auto before = Clock::now();
  const json::object status = status_of(d, s);
  BOOST_TEST((Clock::now() - before) < 1s);
  BOOST_TEST(status.at("checking").at("running").as_array().size() == 1u, status);
  // More reloads asked for while it hangs (a SIGHUP, a SIGHUP, confvisorctl): one follows,
  // of the file as it is then, and answers confvisorctl with its outcome.
  s.write(R"({"port": 8082})", "", hang);
  d.signal(SIGHUP);
  require_log(d, "it follows once they end", 10s, 1);
  d.signal(SIGHUP);
  require_log(d, "it follows once they end", 10s, 2);
  const RunResult follow_up = ctl(d, s, {"reload"});
  BOOST_TEST(follow_up.exit_code() == 0, follow_up.output);
  BOOST_TEST(count_lines(d.log(), "it follows once they end") == 3u, tail(d.log()));

  require_log(d, "check timed out after 1500ms (check_timeout)");
  require_log(d, "reload ok: generation 2");
  BOOST_TEST(count_lines(d.log(), "check of api: started") == 2u, tail(d.log()));
  BOOST_TEST(contains(live_port(d, s), "8082"));
  BOOST_TEST(processes_with(kCheckWorker + " --check-config").empty());
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(what_a_check_leaves_running_is_killed) {
  Setup s;
  const std::string pid_file = s.dir.file("linger.pid");
  s.write(R"({"port": 8080})", "", checked());
  DaemonProcess d(s.dir, s.path());
  require_ready(d);
  const bool cgroup = contains(json::serialize(status_of(d, s).at("process_tracking")), "cgroup");

  s.write(R"({"port": 8080, "check": "linger", "linger_pid_file": ")" + pid_file + "\"}", "",
          checked());
  const RunResult r = ctl(d, s, {"reload"});
  BOOST_TEST(r.exit_code() == 1, r.output);
  BOOST_TEST(contains(r.output, "check output: check_worker: left a grandchild behind"), r.output);
  const pid_t grandchild = pid_from_file(pid_file);
  if (cgroup) {
    // It left the check's process group and session: only the cgroup still holds it.
    BOOST_TEST(gone_within(grandchild, 5s), "pid " << grandchild << " still runs");
  } else {
    BOOST_TEST_MESSAGE(
        "subreaper mode: a grandchild that left the check's session runs until "
        "the daemon stops");
  }
  d.stop(10s);
  BOOST_TEST(gone_within(grandchild, 5s), "pid " << grandchild << " outlived the daemon");
}

BOOST_AUTO_TEST_CASE(sigterm_during_a_check_exits_cleanly_and_leaves_nothing) {
  Setup s;
  s.write(R"({"port": 8080})", "", checked());
  DaemonProcess d(s.dir, s.path());
  require_ready(d);
  s.write(R"({"port": 8081, "check": "hang"})", "", checked());
  d.signal(SIGHUP);
  require_log(d, "check of api: started pid");
  const std::string line = log_lines(d.log(), "check of api: started pid").back();
  const pid_t check = static_cast<pid_t>(std::atol(line.c_str() + line.find(" pid ") + 5));
  const std::string copy = line.substr(line.find("--check-config ") + 15);
  BOOST_TEST_REQUIRE(fs::exists(copy), copy);

  d.stop(10s);  // exit code 0, within the bound
  BOOST_TEST(contains(d.log(), "is dropped while its checks run (stopping on SIGTERM)"),
             tail(d.log()));
  BOOST_TEST(gone_within(check, 5s), "check pid " << check << " outlived the daemon");
  BOOST_TEST(!fs::exists(fs::path(copy).parent_path()), copy);
}
