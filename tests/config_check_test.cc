// What a new user meets first: a command found in the worker's PATH, a --check (and a
// reload) that refuses a worker that can never start, supervisord's key names answered with
// confvisor's, config/example.json running clean through reloads, and the schema reaching
// editors and validators. Validation is driven in process on real files; the rest runs the
// real confvisord and confvisorctl.
#define BOOST_TEST_MODULE config_check
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <sstream>
#include <thread>

#include "daemon/config/command_path.hpp"
#include "daemon/config/model.hpp"
#include "tests/support/daemon_client.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/process_wait.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/text_search.hpp"

using namespace confvisor::test;
using namespace confvisor::config;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace json = boost::json;
using Lines = std::vector<std::string>;
using Clock = std::chrono::steady_clock;

namespace {

// The errors of a document with one worker: {"name": "w", BODY}.
Lines errors_of_worker(const std::string& body) {
  return load_config_text(
             R"({"confvisor": {"segment": "t", "workers": [{"name": "w", )" + body + "}]}}",
             "t.json")
      .errors;
}

std::string quoted(const std::string& s) {
  return json::serialize(json::value(s));
}

// A file of `mode` in `dir`.
std::string make_file(const TempDir& dir, const std::string& name, fs::perms mode,
                      const std::string& content = "#!/bin/sh\nexit 0\n") {
  const std::string path = dir.write(name, content);
  fs::permissions(path, mode);
  return path;
}

// The first directory of the base PATH with an executable NAME: where execvp finds it.
std::string in_base_path(const std::string& name) {
  std::string_view rest = kBasePath;
  while (!rest.empty()) {
    const std::size_t colon = std::min(rest.find(':'), rest.size());
    const std::string candidate = std::string(rest.substr(0, colon)) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    rest.remove_prefix(std::min(colon + 1, rest.size()));
  }
  return "";
}

// The worker of a valid one-worker document.
WorkerSpec worker_of(const std::string& body) {
  const LoadResult result = load_config_text(
      R"({"confvisor": {"segment": "t", "workers": [{"name": "w", )" + body + "}]}}", "t.json");
  BOOST_TEST_REQUIRE(
      result.config.has_value(),
      "not valid: " << body << ": " << (result.errors.empty() ? "" : result.errors[0]));
  return result.config->settings.workers.at(0);
}

}  // namespace

// ---------------------------------------------------------------- PATH resolution

BOOST_AUTO_TEST_SUITE(command_in_path)

BOOST_AUTO_TEST_CASE(a_bare_name_is_found_in_the_base_path) {
  const std::string sleep = in_base_path("sleep");
  BOOST_TEST_REQUIRE(!sleep.empty());
  BOOST_TEST(errors_of_worker(R"("command": ["sleep", "60"])") == Lines{},
             boost::test_tools::per_element());
  const WorkerSpec w = worker_of(R"("command": ["sleep", "60"])");
  BOOST_TEST(resolve_program(w, search_path_of(w), credentials_of(w)) == sleep);
  BOOST_TEST(search_path_of(w) == kBasePath);
}

BOOST_AUTO_TEST_CASE(a_bare_name_missing_from_path_is_refused_at_its_pointer) {
  BOOST_TEST(
      errors_of_worker(R"("command": ["confvisor-no-such-program", "-x"])") ==
          Lines{
              R"(t.json: /confvisor/workers/0/command/0: no "confvisor-no-such-program" in PATH ")" +
              std::string(kBasePath) + R"(": No such file or directory)"},
      boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(env_path_is_searched_in_order_skipping_what_cannot_run) {
  TempDir dir;
  for (const char* sub : {"a", "b", "c", "c/tool"}) fs::create_directory(dir.path() + "/" + sub);
  make_file(dir, "a/tool", fs::perms(0644));
  const std::string runnable = make_file(dir, "b/tool", fs::perms(0755));
  const std::string a = dir.path() + "/a", b = dir.path() + "/b", c = dir.path() + "/c";
  // execvp's rule: a candidate that exists but cannot run is skipped, not an error.
  const std::string path = a + ":" + c + ":" + b;
  const WorkerSpec w = worker_of(R"("command": ["tool"], "env": {"PATH": )" + quoted(path) + "}");
  BOOST_TEST(search_path_of(w) == path);
  BOOST_TEST(resolve_program(w, search_path_of(w), credentials_of(w)) == runnable);
  // Without a runnable one the error says Permission denied and names the first it found.
  const std::string no_runnable = a + ":" + c;
  BOOST_TEST(
      errors_of_worker(R"("command": ["tool"], "env": {"PATH": )" + quoted(no_runnable) + "}") ==
          Lines{R"(t.json: /confvisor/workers/0/command/0: no runnable "tool" in PATH )" +
                quoted(no_runnable) + " (" + a + "/tool: not executable: Permission denied)"},
      boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_relative_path_with_a_slash_is_relative_to_cwd) {
  TempDir dir;
  fs::create_directory(dir.path() + "/bin");
  const std::string tool = make_file(dir, "bin/tool", fs::perms(0755));
  const WorkerSpec w = worker_of(R"("command": ["bin/tool"], "cwd": )" + quoted(dir.path()));
  BOOST_TEST(resolve_program(w, search_path_of(w), credentials_of(w)) == tool);
  // A relative PATH entry is relative to cwd too, as for execvp in the worker.
  const WorkerSpec by_path =
      worker_of(R"("command": ["tool"], "env": {"PATH": "bin"}, "cwd": )" + quoted(dir.path()));
  BOOST_TEST(resolve_program(by_path, search_path_of(by_path), credentials_of(by_path)) == tool);
  BOOST_TEST(errors_of_worker(R"("command": ["confvisor-no-dir/tool"])") ==
                 Lines{"t.json: /confvisor/workers/0/command/0: confvisor-no-dir/tool: No such "
                       "file or directory"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- what can never start

BOOST_AUTO_TEST_SUITE(never_starts)

BOOST_AUTO_TEST_CASE(a_command_missing_a_directory_or_not_executable_is_refused) {
  TempDir dir;
  const std::string plain = make_file(dir, "plain", fs::perms(0644));
  const std::string fifo = dir.path() + "/fifo";
  BOOST_TEST_REQUIRE(::mkfifo(fifo.c_str(), 0755) == 0);
  const std::string missing = dir.path() + "/missing";
  const std::string pointer = "t.json: /confvisor/workers/0/command/0: ";
  BOOST_TEST(errors_of_worker(R"("command": [)" + quoted(missing) + "]") ==
             Lines{pointer + missing + ": No such file or directory"});
  BOOST_TEST(errors_of_worker(R"("command": [)" + quoted(dir.path()) + "]") ==
             Lines{pointer + dir.path() + " is a directory, not a program"});
  BOOST_TEST(errors_of_worker(R"("command": [)" + quoted(plain) + "]") ==
             Lines{pointer + plain + ": not executable: Permission denied"});
  BOOST_TEST(errors_of_worker(R"("command": [)" + quoted(fifo) + "]") ==
             Lines{pointer + fifo + " is not a regular file"});
}

BOOST_AUTO_TEST_CASE(a_cwd_missing_or_not_a_directory_is_refused) {
  TempDir dir;
  const std::string file = make_file(dir, "file", fs::perms(0644));
  const std::string pointer = "t.json: /confvisor/workers/0/cwd: ";
  BOOST_TEST(
      errors_of_worker(R"("command": ["/bin/true"], "cwd": )" + quoted(dir.path() + "/no")) ==
      Lines{pointer + "no such directory: No such file or directory"});
  BOOST_TEST(errors_of_worker(R"("command": ["/bin/true"], "cwd": )" + quoted(file)) ==
             Lines{pointer + file + " is not a directory"});
  BOOST_TEST(errors_of_worker(R"("command": ["/bin/true"], "cwd": )" + quoted(dir.path())) ==
             Lines{});
}

// Checked against the mode bits for a user other than the daemon's: a directory only its
// owner may enter hides its programs from user nobody, and cannot be its cwd.
BOOST_AUTO_TEST_CASE(the_check_is_made_as_the_workers_user) {
  TempDir dir;
  const std::string closed = dir.path() + "/closed";
  fs::create_directory(closed);
  fs::permissions(closed, fs::perms(0700));
  const std::string hidden = make_file(dir, "closed/tool", fs::perms(0755));
  const std::string owner_only = make_file(dir, "owner-only", fs::perms(0700));
  const std::string open = make_file(dir, "open", fs::perms(0755));
  fs::permissions(dir.path(), fs::perms(0755));
  const std::string as_nobody = R"("user": "nobody", "group": "nogroup", "command": [)";
  const std::string pointer = "t.json: /confvisor/workers/0/";
  BOOST_TEST(errors_of_worker(as_nobody + quoted(hidden) + "]") ==
             Lines{pointer + "command/0: " + hidden +
                   ": user nobody may not execute it: Permission denied"});
  BOOST_TEST(errors_of_worker(as_nobody + quoted(owner_only) + "]") ==
             Lines{pointer + "command/0: " + owner_only +
                   ": user nobody may not execute it: Permission denied"});
  BOOST_TEST(errors_of_worker(as_nobody + quoted(open) + "], \"cwd\": " + quoted(closed)) ==
             Lines{pointer + "cwd: user nobody may not enter it: Permission denied"});
  BOOST_TEST(errors_of_worker(as_nobody + quoted(open) + "], \"cwd\": " + quoted(dir.path())) ==
             Lines{});
  // The same files are fine for the daemon's own user, who owns them.
  BOOST_TEST(errors_of_worker(R"("command": [)" + quoted(hidden) +
                              "], \"cwd\": " + quoted(closed)) == Lines{});
}

BOOST_AUTO_TEST_CASE(check_prints_every_worker_that_cannot_start_and_exits_1) {
  TempDir dir;
  const std::string file = dir.write("app.json", R"({"confvisor": {"segment": "t", "workers": [
    {"name": "a", "command": ["confvisor-no-such-program"]},
    {"name": "b", "command": ["sleep", "1"], "cwd": "/confvisor-no-such-dir"},
    {"name": "c", "command": ["sleep", "1"]}]}})");
  const RunResult bad = run({bin("confvisord"), "--config", file, "--check"});
  BOOST_TEST(bad.exit_code() == 1, bad.output);
  BOOST_TEST(
      contains(bad.output,
               file + ": /confvisor/workers/0/command/0: no \"confvisor-no-such-program\" in PATH"),
      bad.output);
  BOOST_TEST(contains(bad.output, file + ": /confvisor/workers/1/cwd: no such directory"),
             bad.output);
  BOOST_TEST(contains(bad.output, "2 error(s)"), bad.output);
  const std::string good = dir.write("good.json", R"({"confvisor": {"segment": "t", "workers": [
    {"name": "c", "command": ["sleep", "1"]}]}})");
  const RunResult ok = run({bin("confvisord"), "--config", good, "--check"});
  BOOST_TEST(ok.exit_code() == 0, ok.output);
  BOOST_TEST(contains(ok.output, good + ": ok"), ok.output);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- supervisord's names

BOOST_AUTO_TEST_SUITE(supervisord_names)

BOOST_AUTO_TEST_CASE(a_supervisord_key_is_answered_with_confvisors) {
  const std::string pointer = "t.json: /confvisor/workers/0/";
  const std::string body = R"("command": ["/bin/true"], )";
  BOOST_TEST(
      errors_of_worker(body + R"("numprocs": 2)") ==
      Lines{
          pointer +
          R"(numprocs: unknown key "numprocs" (supervisord's name): confvisor calls it "instances")"});
  BOOST_TEST(
      errors_of_worker(body + R"("directory": "/srv")") ==
      Lines{
          pointer +
          R"(directory: unknown key "directory" (supervisord's name): confvisor calls it "cwd", an absolute path)"});
  BOOST_TEST(
      errors_of_worker(body + R"("startsecs": 1)") ==
      Lines{
          pointer +
          R"(startsecs: unknown key "startsecs" (supervisord's name): confvisor calls it "start_window", a duration like "1s")"});
  BOOST_TEST(
      errors_of_worker(body + R"("redirect_stderr": true)") ==
      Lines{
          pointer +
          R"(redirect_stderr: unknown key "redirect_stderr" (supervisord's name): confvisor has none: stdout and stderr both go to confvisord's log (the journal under systemd), each line prefixed NAME[INSTANCE])"});
  for (const char* key : {"autorestart", "stopwaitsecs", "stopsignal", "environment",
                          "startretries", "exitcodes", "priority", "autostart", "stdout_logfile"}) {
    const Lines errors = errors_of_worker(body + "\"" + key + "\": 1");
    BOOST_TEST_REQUIRE(errors.size() == 1u);
    BOOST_TEST(contains(errors[0], "(supervisord's name): confvisor "), errors[0]);
  }
  // Outside a worker it is just an unknown key.
  const Lines section =
      load_config_text(R"({"confvisor": {"segment": "t", "numprocs": 2}})", "t.json").errors;
  BOOST_TEST_REQUIRE(section.size() == 1u);
  BOOST_TEST(!contains(section[0], "supervisord"), section[0]);
}

BOOST_AUTO_TEST_CASE(a_command_string_gets_the_array_it_means) {
  const std::string pointer =
      "t.json: /confvisor/workers/0/command: expected an array of strings "
      "(the program and its arguments, run without a shell), got ";
  BOOST_TEST(
      errors_of_worker(R"("command": "python3 -m  http.server 8081")") ==
      Lines{pointer +
            R"("python3 -m  http.server 8081": write ["python3", "-m", "http.server", "8081"])"});
  BOOST_TEST(
      errors_of_worker(R"("command": "run.sh > /tmp/log")") ==
      Lines{pointer + R"("run.sh > /tmp/log": write ["/bin/sh", "-c", "run.sh > /tmp/log"])"});
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- the real daemon

BOOST_AUTO_TEST_SUITE(real_daemon)

// The daemon's world for one test: a segment, a temp dir, a socket in it.
struct Setup {
  SegmentGuard seg{"chk"};
  TempDir dir;
  [[nodiscard]] std::string socket() const { return dir.path() + "/ctl.sock"; }
};

RunResult ctl(DaemonProcess& d, const Setup& s, std::vector<std::string> args) {
  args.insert(args.begin(), {"--socket", s.socket()});
  return confvisorctl(d, args);
}

void stop(DaemonProcess& d) {
  d.signal(SIGTERM);
  const int status = d.wait_exit(20s);
  BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0), "exit status; log:\n"
                                                                  << tail(d.log()));
}

std::string config(const Setup& s, const std::string& workers, int version = 1) {
  return R"({"confvisor": {"segment": ")" + s.seg.name() + R"(", "socket": ")" + s.socket() +
         R"(", "workers": [)" + workers + R"(]}, "app": {"version": )" + std::to_string(version) +
         "}}";
}

BOOST_AUTO_TEST_CASE(a_bare_name_runs_and_status_shows_the_file) {
  Setup s;
  const std::string sleep = in_base_path("sleep");
  const std::string file = s.dir.write(
      "app.json",
      config(s, R"({"name": "nap", "command": ["sleep", "600"], "start_window": "100ms"})"));
  DaemonProcess d(s.dir, file);
  require_ready(d, 15s);
  BOOST_TEST(count_lines(d.log(), "worker nap[0] (generation 1) started: pid ") == 1u, d.log());
  BOOST_TEST(count_lines(d.log(), " (" + sleep + ")") == 1u, d.log());
  const RunResult status = ctl(d, s, {"status", "--json"});
  BOOST_TEST_REQUIRE(status.exit_code() == 0, status.output);
  const json::value v = json::parse(status.output);
  BOOST_TEST(v.at("workers").at(0).at("state").as_string() == "RUNNING");
  BOOST_TEST(v.at("workers").at(0).at("program").as_string() == sleep);
  const RunResult table = ctl(d, s, {"status"});
  BOOST_TEST(contains(table.output, "PROGRAM"), table.output);
  BOOST_TEST(contains(table.output, sleep), table.output);
  stop(d);
}

BOOST_AUTO_TEST_CASE(a_reload_with_a_worker_that_cannot_start_changes_nothing) {
  Setup s;
  const std::string good =
      config(s, R"({"name": "nap", "command": ["sleep", "600"], "start_window": "100ms"})");
  const std::string file = s.dir.write("app.json", good);
  DaemonProcess d(s.dir, file);
  require_ready(d, 15s);
  const json::value before = json::parse(ctl(d, s, {"status", "--json"}).output);
  s.dir.write("app.json",
              config(s, R"({"name": "nap", "command": ["sleep", "600"], "start_window": "100ms"},
      {"name": "web", "command": ["confvisor-no-such-server"], "cwd": "/confvisor-no-such-dir"})",
                     2));
  const RunResult reload = ctl(d, s, {"reload"});
  BOOST_TEST(reload.exit_code() != 0, reload.output);
  BOOST_TEST(contains(reload.output,
                      "/confvisor/workers/1/command/0: no \"confvisor-no-such-server\" in PATH"),
             reload.output);
  BOOST_TEST(contains(reload.output, "/confvisor/workers/1/cwd: no such directory"), reload.output);
  const json::value after = json::parse(ctl(d, s, {"status", "--json"}).output);
  BOOST_TEST(after.at("generation") == before.at("generation"));
  BOOST_TEST(after.at("workers").as_array().size() == 1u);
  BOOST_TEST(after.at("workers").at(0).at("pid") == before.at("workers").at(0).at("pid"));
  stop(d);
}

// config/example.json as an administrator runs it, with this test's segment and socket (and
// without its user and group where the test cannot switch to them), through several
// reloads: no worker fails, the api instances take SIGHUP and stay up, the one-shot job ends
// cleanly and stays ended.
BOOST_AUTO_TEST_CASE(the_example_runs_clean_through_reloads) {
  Setup s;
  json::parse_options lenient;
  lenient.allow_comments = true;
  lenient.allow_trailing_commas = true;
  json::value doc = json::parse(read_file(CONFVISOR_CONFIG_DIR "/example.json"), {}, lenient);
  json::object& section = doc.at("confvisor").as_object();
  section["segment"] = s.seg.name();
  section["socket"] = s.socket();
  section["schema"] = CONFVISOR_CONFIG_DIR "/example.schema.json";
  // A port of its own, free whatever else runs.
  if (section.contains("http")) section["http"] = json::object{{"listen", "127.0.0.1:0"}};
  // Its etcd cluster is an example's; etcd_daemon_test runs the source against a real one.
  section.erase("source");
  section.erase("state_dir");
  if (::geteuid() != 0) {
    section.erase("group");
    for (json::value& w : section.at("workers").as_array()) {
      w.as_object().erase("user");
      w.as_object().erase("group");
    }
  }
  const auto write = [&](int n) {
    doc.at("features").as_object()["max_cart_items"] = n;
    return s.dir.write("example.json", json::serialize(doc));
  };
  DaemonProcess d(s.dir, write(50));
  require_ready(d, 15s);
  const json::value first = json::parse(ctl(d, s, {"status", "--json"}).output);
  constexpr int kReloads = 3;
  for (int i = 1; i <= kReloads; ++i) {
    write(50 + i);
    d.signal(SIGHUP);
    BOOST_TEST_REQUIRE(wait_for_log(d, "reload ok: generation " + std::to_string(1 + i), 15s),
                       tail(d.log()));
    // Each api instance was told and said so (its trap).
    BOOST_TEST_REQUIRE(wait_for_log(d, "api[0]: reloading", 15s, static_cast<std::size_t>(i)),
                       tail(d.log()));
    BOOST_TEST_REQUIRE(wait_for_log(d, "api[1]: reloading", 15s, static_cast<std::size_t>(i)),
                       tail(d.log()));
  }
  const json::value last = json::parse(ctl(d, s, {"status", "--json"}).output);
  for (std::size_t i = 0; i < last.at("workers").as_array().size(); ++i) {
    const json::object& now = last.at("workers").at(i).as_object();
    const json::object& then = first.at("workers").at(i).as_object();
    BOOST_TEST_INFO(now.at("name").as_string() << "[" << now.at("instance") << "]");
    BOOST_TEST(now.at("restarts").as_int64() == 0);
    const bool oneshot = now.at("name").as_string() == "report.nightly";
    BOOST_TEST(now.at("state").as_string() == (oneshot ? "STOPPED" : "RUNNING"));
    if (!oneshot) BOOST_TEST(now.at("pid") == then.at("pid"));
  }
  BOOST_TEST(
      wait_for_log(d, "worker report.nightly[0] (generation 1) exited (exit code 0); not restarted",
                   15s),
      tail(d.log()));
  const std::string log = d.log();
  for (const char* bad : {"Z error: ", "Z warning: ", "failed", "FATAL", "killed by"}) {
    BOOST_TEST(count_lines(log, bad) == 0u, bad << " in the log:\n" << tail(log));
  }
  // The "$schema" key for editors is published with the rest.
  const RunResult schema = ctl(d, s, {"get", "/$schema"});
  BOOST_TEST(contains(schema.output, "confvisor.schema.json"), schema.output);
  stop(d);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- the schema, for editors

BOOST_AUTO_TEST_SUITE(schema)

bool have_jsonschema() {
  return run({"/usr/bin/env", "python3", "-c", "import jsonschema"}).exit_code() == 0;
}

// python3 -m jsonschema on FILE with its comments stripped (by the daemon's own parser).
RunResult validate(const TempDir& dir, const std::string& file) {
  json::parse_options lenient;
  lenient.allow_comments = true;
  lenient.allow_trailing_commas = true;
  const std::string plain = dir.write(fs::path(file).filename().string(),
                                      json::serialize(json::parse(read_file(file), {}, lenient)));
  return run({"/usr/bin/env", "python3", "-W", "ignore::DeprecationWarning", "-m", "jsonschema",
              "-i", plain, CONFVISOR_CONFIG_DIR "/confvisor.schema.json"});
}

BOOST_AUTO_TEST_CASE(the_examples_validate_against_the_schema,
                     *boost::unit_test::precondition([](boost::unit_test::test_unit_id) {
                       boost::test_tools::assertion_result found(have_jsonschema());
                       found.message() << "python3 has no jsonschema module (scripts/setup-deps.sh "
                                          "installs python3-jsonschema)";
                       return found;
                     })) {
  TempDir dir;
  for (const char* name : {"example.json", "demo.json", "demo-v2.json"}) {
    const std::string file = std::string(CONFVISOR_CONFIG_DIR) + "/" + name;
    BOOST_TEST_INFO(name);
    const RunResult result = validate(dir, file);
    BOOST_TEST(result.exit_code() == 0, result.output);
    json::parse_options lenient;
    lenient.allow_comments = true;
    lenient.allow_trailing_commas = true;
    const json::value doc = json::parse(read_file(file), {}, lenient);
    BOOST_TEST(doc.at("$schema").as_string().ends_with("confvisor.schema.json"));
  }
  // The validator does refuse what the schema forbids: a supervisord key in a worker.
  const std::string bad = dir.write("bad-src.json", R"({"confvisor": {"segment": "t", "workers": [
      {"name": "w", "command": ["/bin/true"], "numprocs": 2}]}})");
  BOOST_TEST(validate(dir, bad).exit_code() != 0);
}

BOOST_AUTO_TEST_CASE(the_schema_names_the_schema_key) {
  const json::value s = json::parse(read_file(CONFVISOR_CONFIG_DIR "/confvisor.schema.json"));
  BOOST_TEST(s.at_pointer("/properties/$schema/type").as_string() == "string");
  // A document with "$schema" is valid for the daemon too; workers see the key.
  const LoadResult r = load_config_text(
      R"({"$schema": "/usr/share/confvisor/confvisor.schema.json", "confvisor": {"segment": "t"}})",
      "t.json");
  BOOST_TEST(r.errors == Lines{}, boost::test_tools::per_element());
  BOOST_TEST_REQUIRE(r.config.has_value());
  BOOST_TEST(r.config->document.at("$schema").as_string() ==
             "/usr/share/confvisor/confvisor.schema.json");
}

BOOST_AUTO_TEST_SUITE_END()
