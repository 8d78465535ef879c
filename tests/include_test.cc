// conf.d and variables on the real daemon: a fragment changed (or added) and a SIGHUP publish
// a generation whose source names every file, status tells a changed fragment from an
// unchanged one, a broken fragment (bad JSON, a FIFO, a worker name defined twice) keeps the
// last good generation, and a worker runs with its ${VAR} arguments expanded and its pass_env
// variables, while readers see the document as written.
#define BOOST_TEST_MODULE include
#include <signal.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <string>
#include <thread>

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
namespace fs = std::filesystem;

namespace {

struct Setup {
  SegmentGuard seg{"incl"};
  TempDir dir{"include"};
  [[nodiscard]] std::string socket() const { return dir.path() + "/incl.sock"; }
  [[nodiscard]] std::string path() const { return dir.path() + "/main.json"; }
  // The main file: its section with `workers`, including conf.d/*.json.
  std::string write_main(const std::string& workers = "[]") const {
    return dir.write("main.json",
                     "{\"confvisor\": {\"segment\": \"" + seg.name() + "\", \"socket\": \"" +
                         socket() + "\",\n  \"include\": [\"conf.d/*.json\"], \"workers\": " +
                         workers + "},\n \"app\": {\"version\": 0, \"main\": true}}\n");
  }
  std::string fragment(const std::string& name, const std::string& text) const {
    fs::create_directories(dir.file("conf.d"));
    return dir.write("conf.d/" + name, text);
  }
};

json::value status(DaemonProcess& d, const Setup& s) {
  const RunResult r = confvisorctl(d, {"--socket", s.socket(), "status", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code() == 0, r.output);
  return json::parse(r.output);
}

// Status caches its reading of the files once their timestamps are a second old (coarse
// clocks: daemon/config/on_disk.cc): waiting that long makes the next status request keep
// its reading, and the one after it decide from stat() alone whether the files changed.
void let_the_files_settle(DaemonProcess& d, const Setup& s) {
  std::this_thread::sleep_for(1200ms);
  BOOST_TEST(status(d, s).at("live_matches_file").as_bool());
  BOOST_TEST(status(d, s).at("live_matches_file").as_bool());
}

std::string app_fragment(int version) {
  return "{\"app\": {\"version\": " + std::to_string(version) + "}}\n";
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_changed_fragment_and_a_sighup_publish_a_generation_naming_every_file) {
  Setup s;
  const std::string main = s.write_main();
  const std::string app = s.fragment("10-app.json", app_fragment(1));
  DaemonProcess d(s.dir, main);
  require_ready(d);
  Reader reader(s.seg.name());
  BOOST_TEST(reader.current().get<std::int64_t>("/app/version") == 1);
  BOOST_TEST(reader.current().get<bool>("/app/main"));
  json::value st = status(d, s);
  BOOST_TEST(st.at("source").as_string() == main + " + " + app);
  BOOST_TEST(st.at("live_matches_file").as_bool());

  // The fragment alone changes: status sees it before the reload, the reload publishes it.
  let_the_files_settle(d, s);
  s.fragment("10-app.json", app_fragment(2));
  BOOST_TEST(!status(d, s).at("live_matches_file").as_bool());
  d.signal(SIGHUP);
  require_ready(d);
  BOOST_TEST(reader.current().generation() == 2u);
  BOOST_TEST(reader.current().get<std::int64_t>("/app/version") == 2);
  BOOST_TEST(log_lines(d.log(), "reload ok: generation 2, ").size() == 1u);
  BOOST_TEST(log_lines(d.log(), "from " + main + " + " + app).size() == 2u);  // start, reload
  st = status(d, s);
  BOOST_TEST(st.at("live_matches_file").as_bool());
  BOOST_TEST(!st.at("file_changed").as_bool());

  // A fragment added is a change too, and the next generation names it.
  let_the_files_settle(d, s);
  const std::string more = s.fragment("20-more.json", app_fragment(3));
  BOOST_TEST(!status(d, s).at("live_matches_file").as_bool());
  d.signal(SIGHUP);
  require_ready(d);
  BOOST_TEST(reader.current().get<std::int64_t>("/app/version") == 3);
  st = status(d, s);
  BOOST_TEST(st.at("source").as_string() == main + " + " + app + " + " + more);
  BOOST_TEST(st.at("live_matches_file").as_bool());
  const RunResult history = confvisorctl(d, {"--socket", s.socket(), "history", "--json"});
  BOOST_TEST(contains(history.output, main + " + " + app + " + " + more), history.output);

  // And so is one removed; a SIGHUP with nothing changed publishes nothing.
  let_the_files_settle(d, s);
  fs::remove(more);
  BOOST_TEST(!status(d, s).at("live_matches_file").as_bool());
  d.signal(SIGHUP);
  require_ready(d);
  BOOST_TEST(reader.current().generation() == 4u);
  BOOST_TEST(reader.current().get<std::int64_t>("/app/version") == 2);
  d.signal(SIGHUP);
  require_ready(d);
  BOOST_TEST(reader.current().generation() == 4u);
  BOOST_TEST(log_lines(d.log(), "reload unchanged: generation 4 stays published").size() == 1u);
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(a_broken_fragment_keeps_the_last_good_generation) {
  Setup s;
  const std::string main = s.write_main(
      "[{\"name\": \"web\", \"command\": [\"/bin/sleep\", \"1000\"], \"start_window\": "
      "\"100ms\"}]");
  s.fragment("10-app.json", app_fragment(1));
  DaemonProcess d(s.dir, main);
  require_ready(d);
  Reader reader(s.seg.name());
  const pid_t web = status(d, s).at("workers").at(0).at("pid").to_number<pid_t>();

  auto reload_fails_with = [&](const std::string& error) {
    d.signal(SIGHUP);
    const std::string ready = d.wait_notify("READY=1");
    BOOST_TEST(contains(ready, "last reload: failed: " + error), ready);
    BOOST_TEST(count_lines(d.log(), "reload failed: generation 1 stays published: " + error) == 1u,
               tail(d.log()));
    const json::value st = status(d, s);
    BOOST_TEST(contains(std::string(st.at("file_error").as_string()), error));
    BOOST_TEST(!st.at("live_matches_file").as_bool());
    BOOST_TEST(reader.current().generation() == 1u);
    BOOST_TEST(reader.current().get<std::int64_t>("/app/version") == 1);
    BOOST_TEST(alive(web));
  };

  const std::string bad = s.fragment("20-bad.json", "{\n  \"app\": {\"version\" 2}\n}\n");
  reload_fails_with(bad + ":2:21: syntax error at '2'");

  fs::remove(bad);
  const std::string fifo = s.dir.file("conf.d/20-fifo.json");
  BOOST_TEST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  reload_fails_with(fifo + ": not a regular file (a FIFO)");

  fs::remove(fifo);
  const std::string twice = s.fragment(
      "30-web.json",
      "{\"confvisor\": {\"workers\": [{\"name\": \"web\", \"command\": [\"/bin/true\"]}]}}");
  const std::string main_line = lines_of(read_file(main)).at(1);
  reload_fails_with(twice + ": /confvisor/workers/0/name: duplicate worker name \"web\": " + main +
                    ": /confvisor/workers/0 has it too (at " + main +
                    ":2:" + std::to_string(main_line.find("\"web\"") + 1) + "; this one at " +
                    twice + ":1:37)");

  // Fixed, the next reload goes through.
  fs::remove(twice);
  s.fragment("10-app.json", app_fragment(5));
  d.signal(SIGHUP);
  require_ready(d);
  BOOST_TEST(reader.current().generation() == 2u);
  BOOST_TEST(reader.current().get<std::int64_t>("/app/version") == 5);
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(a_worker_runs_with_expanded_arguments_and_passed_variables) {
  Setup s;
  const std::string main = s.write_main(
      R"([{"name": "w", "command": ["/bin/sleep", "${CVT_SECONDS}"], "start_window": "100ms",
      "env": {"GREETING": "${CVT_GREETING}-${CVT_UNSET:-world}", "CVT_BOTH": "mine", "PRICE": "$$5"},
      "pass_env": ["TZ", "CVT_BOTH", "CVT_MISSING"]}])");
  DaemonProcess d(
      s.dir, main,
      DaemonOptions{.env = {"CVT_SECONDS=1234", "CVT_GREETING=hello", "TZ=Europe/Paris",
                            "CVT_BOTH=theirs", "CVT_SECRET=kept", "CVT_MISSING", "CVT_UNSET"}});
  require_ready(d);
  const json::value st = status(d, s);
  const pid_t pid = st.at("workers").at(0).at("pid").to_number<pid_t>();
  BOOST_TEST(proc_cmdline(pid) == "/bin/sleep 1234");
  const auto env = proc_environ(pid);
  BOOST_TEST(env.at("GREETING") == "hello-world");
  BOOST_TEST(env.at("PRICE") == "$5");
  BOOST_TEST(env.at("TZ") == "Europe/Paris");
  BOOST_TEST(env.at("CVT_BOTH") == "mine");    // env wins over pass_env
  BOOST_TEST(env.count("CVT_MISSING") == 0u);  // not set in the daemon: skipped
  BOOST_TEST(env.count("CVT_SECRET") == 0u);   // not passed
  // Readers see the document as written.
  Reader reader(s.seg.name());
  BOOST_TEST(reader.current().get<std::string>("/confvisor/workers/0/command/1") ==
             "${CVT_SECONDS}");
  d.stop(10s);
}

BOOST_AUTO_TEST_CASE(check_names_an_unset_variable_and_a_broken_fragment) {
  Setup s;
  const std::string main =
      s.write_main(R"([{"name": "w", "command": ["/bin/sleep", "${CVT_NOT_SET_ANYWHERE}"]}])");
  const std::string bad = s.fragment("10-bad.json", "{\"confvisor\": {\"history\": 0}}");
  const RunResult check = run({bin("confvisord"), "--check", "--config", main});
  BOOST_TEST(check.exit_code() == 1);
  BOOST_TEST(
      contains(check.output, main + ": /confvisor/workers/0/command/1: ${CVT_NOT_SET_ANYWHERE} "
                                    "is not set (give it a default: "
                                    "${CVT_NOT_SET_ANYWHERE:-VALUE})"),
      check.output);
  BOOST_TEST(contains(check.output, bad + ": /confvisor/history: expected an integer from 1 to 64"),
             check.output);
  BOOST_TEST(contains(check.output, "2 error(s)"), check.output);
}
