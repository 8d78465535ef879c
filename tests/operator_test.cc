// An operator's first contact with confvisorctl and the daemon, with the real binaries: the
// daemon is found even when its config file is broken or gone, stale sockets are told from
// live ones, status tells the truth about the file and the workers (with an exit code to
// match), `systemctl reload` (the units' ExecReload line, run by hand) fails on a refused
// edit, a user who is not root gets a working default socket, and a segment no daemon owns
// can be removed.
#define BOOST_TEST_MODULE operator
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/os/unique_fd.hpp"
#include "common/publish/publisher.hpp"
#include "common/segment/name.hpp"
#include "confvisor/worker.hpp"
#include "tests/support/daemon_client.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/process_wait.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/text_search.hpp"

using namespace confvisor;
using namespace confvisor::test;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// A config with one sleeper; `socket` empty leaves the default (/run/confvisor/SEG.sock).
std::string config_text(const std::string& segment, const std::string& socket, int version,
                        const std::string& workers = "") {
  const std::string socket_line = socket.empty() ? "" : "    \"socket\": \"" + socket + "\",\n";
  return "{\n  \"confvisor\": {\n    \"segment\": \"" + segment + "\",\n" + socket_line +
         "    \"workers\": [" +
         (workers.empty() ? "{\"name\": \"sleeper\", \"command\": [\"/bin/sleep\", \"1000\"], "
                            "\"start_window\": \"100ms\"}"
                          : workers) +
         "]\n  },\n  \"app\": {\"version\": " + std::to_string(version) + "}\n}\n";
}

json::object parse_json(const RunResult& r) {
  json::error_code ec;
  json::value v = json::parse(r.output, ec);
  BOOST_TEST_REQUIRE(!ec, "not one JSON document: " << r.output);
  return v.as_object();
}

json::object status_of(DaemonProcess& d, const std::string& socket) {
  const RunResult r = confvisorctl(d, {"--socket", socket, "status", "--json"});
  BOOST_TEST_REQUIRE((r.exit_code() == 0 || r.exit_code() == 5), r.output);
  return parse_json(r);
}

const json::object& instance(const json::object& status, unsigned index = 0) {
  return status.at("workers").as_array().at(index).as_object();
}

// Polls `done` every 20 ms for up to 10 s: for states the daemon reaches after a reply.
bool eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

// What a daemon killed by SIGKILL leaves: a socket file nobody listens on.
void make_stale_socket(const std::string& path) {
  const UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  BOOST_TEST_REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  BOOST_TEST_REQUIRE(::listen(fd.get(), 1) == 0);
}  // closed: the file stays, connect() gets ECONNREFUSED

// Runs `argv` in a mount namespace of its own where `run_dir` is /run/confvisor and
// /etc/confvisor is empty: what confvisorctl sees without flags, apart from the machine's
// other daemons. Empty if the machine does not allow it.
std::optional<RunResult> run_with_run_dir(const std::string& run_dir,
                                          const std::vector<std::string>& argv) {
  static const bool can = [] {
    return run({"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/true"})
               .exit_code() == 0;
  }();
  if (!can) return std::nullopt;
  std::string command =
      "mkdir -p /run/confvisor && mount --bind \"$0\" /run/confvisor && "
      "{ [ ! -d /etc/confvisor ] || mount -t tmpfs none /etc/confvisor; } && exec";
  for (std::size_t i = 0; i < argv.size(); ++i) command += " \"$" + std::to_string(i + 1) + "\"";
  std::vector<std::string> full{"/usr/bin/unshare", "--mount", "--propagation", "private",
                                "/bin/sh",          "-c",      command,         run_dir};
  full.insert(full.end(), argv.begin(), argv.end());
  return run(full, {"CONFVISOR_SEGMENT"});
}

// Runs `argv` in a mount namespace of its own where /etc holds only
// /etc/confvisor/confvisor.json, a copy of `config`: confvisorctl without flags reads it.
// Empty if the machine does not allow it.
std::optional<RunResult> run_with_packaged_config(const std::string& config,
                                                  const std::vector<std::string>& argv) {
  if (run({"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/true"}).exit_code() !=
      0)
    return std::nullopt;
  std::string command =
      "cp \"$0\" /tmp/.confvisor-packaged.$$ && mount -t tmpfs none /etc && mkdir /etc/confvisor "
      "&& "
      "mv /tmp/.confvisor-packaged.$$ /etc/confvisor/confvisor.json && exec";
  for (std::size_t i = 0; i < argv.size(); ++i) command += " \"$" + std::to_string(i + 1) + "\"";
  std::vector<std::string> full{"/usr/bin/unshare", "--mount", "--propagation", "private",
                                "/bin/sh",          "-c",      command,         config};
  full.insert(full.end(), argv.begin(), argv.end());
  return run(full, {"CONFVISOR_SEGMENT"});
}

}  // namespace

// ---- finding the daemon ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(
    a_broken_config_file_still_leads_to_its_daemon_for_status_reload_and_rollback) {
  SegmentGuard seg("lockout");
  TempDir dir;
  const std::string socket = dir.path() + "/ctl.sock";
  const std::string path = dir.write("app.json", config_text(seg.name(), socket, 1));
  DaemonProcess d(dir, path);
  require_ready(d);
  dir.write("app.json", config_text(seg.name(), socket, 2));
  BOOST_TEST_REQUIRE(confvisorctl(d, {"--config", path, "reload"}).exit_code() == 0);

  // A syntax error on line 7, after the socket: the file cannot be parsed whole.
  std::string broken = config_text(seg.name(), socket, 3);
  broken.replace(broken.find("\"app\""), 5, "app");
  dir.write("app.json", broken);

  const RunResult status = confvisorctl(d, {"--config", path, "status"});
  BOOST_TEST(status.exit_code() == 0, status.output);
  BOOST_TEST(contains(status.output, "confvisord pid " + std::to_string(d.pid())), status.output);
  BOOST_TEST(contains(status.output, path + " has changed since it was loaded"), status.output);
  BOOST_TEST(contains(status.output, path + ":7:3: syntax error"), status.output);

  // The daemon's own verdict, with the place of the mistake; nothing changes.
  const RunResult reload = confvisorctl(d, {"--config", path, "reload"});
  BOOST_TEST(reload.exit_code() == 1, reload.output);
  BOOST_TEST(contains(reload.output, "reload failed: generation 2 stays published"), reload.output);
  BOOST_TEST(contains(reload.output, path + ":7:3: syntax error"), reload.output);

  // Without flags, through the packaged config, broken the same way.
  if (const auto packaged = run_with_packaged_config(path, {bin("confvisorctl"), "reload"})) {
    BOOST_TEST(packaged->exit_code() == 1, packaged->output);
    BOOST_TEST(contains(packaged->output, path + ":7:3: syntax error"), packaged->output);
  } else {
    BOOST_TEST_MESSAGE("skipped the packaged config: no mount namespace here");
  }

  const RunResult rollback = confvisorctl(d, {"--config", path, "rollback", "1"});
  BOOST_TEST(rollback.exit_code() == 0, rollback.output);
  BOOST_TEST(contains(rollback.output, "rollback ok: generation 3"), rollback.output);
  BOOST_TEST(Reader(seg.name()).current().get<std::int64_t>("/app/version") == 1);
}

BOOST_AUTO_TEST_CASE(a_file_broken_before_its_socket_or_deleted_is_found_by_the_daemon_it_runs) {
  // No /confvisor/socket: the daemon listens on the default, /run/confvisor/SEG.sock.
  SegmentGuard seg("lockout2");
  TempDir dir;
  const std::string path = dir.write("app.json", config_text(seg.name(), "", 1));
  DaemonProcess d(dir, path);
  require_ready(d);

  // Broken before the segment is named: nothing in the file says where the daemon is, but
  // the daemon says which file it runs.
  dir.write("app.json", "{\"confvisor\": {\"segment\" \"" + seg.name() + "\"}}\n");
  const RunResult broken = confvisorctl(d, {"--config", path, "status"});
  BOOST_TEST(broken.exit_code() == 0, broken.output);
  BOOST_TEST(contains(broken.output, "confvisord pid " + std::to_string(d.pid())), broken.output);
  const RunResult reload = confvisorctl(d, {"--config", path, "reload"});
  BOOST_TEST(reload.exit_code() == 1, reload.output);
  BOOST_TEST(contains(reload.output, path + ":1:26: syntax error"), reload.output);

  // Deleted: the same, through a relative path too.
  fs::remove(path);
  const RunResult gone = run({"/bin/sh", "-c", "cd \"$0\" && exec \"$1\" --config app.json status",
                              dir.path(), bin("confvisorctl")});
  BOOST_TEST(gone.exit_code() == 0, gone.output);
  BOOST_TEST(contains(gone.output, "confvisord pid " + std::to_string(d.pid())), gone.output);
  BOOST_TEST(contains(gone.output, path + ": unable to read: No such file or directory"),
             gone.output);
}

BOOST_AUTO_TEST_CASE(a_missing_config_file_without_a_daemon_names_the_file_and_the_flags) {
  TempDir dir;
  const std::string path = dir.path() + "/nope.json";
  const RunResult r = run({bin("confvisorctl"), "--config", path, "status"});
  BOOST_TEST(r.exit_code() == 1, r.output);
  BOOST_TEST(contains(r.output, path), r.output);
  BOOST_TEST(contains(r.output, "No such file or directory"), r.output);
  BOOST_TEST(contains(r.output, "--socket PATH"), r.output);
  BOOST_TEST(contains(r.output, "--config"), r.output);

  // A FIFO is refused at once, not waited on (nobody writes to it).
  const std::string fifo = dir.path() + "/fifo.json";
  BOOST_TEST_REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  const RunResult f = run({bin("confvisorctl"), "--config", fifo, "status", "--timeout", "5s"});
  BOOST_TEST(f.exit_code() == 1, f.output);
  BOOST_TEST(contains(f.output, fifo + " is not a regular file"), f.output);
}

BOOST_AUTO_TEST_CASE(discovery_lists_only_the_daemons_that_answer) {
  TempDir run_dir;
  for (int i = 0; i < 5; ++i)
    make_stale_socket(run_dir.path() + "/dead" + std::to_string(i) + ".sock");
  SegmentGuard seg("discover");
  TempDir dir;
  const std::string live = run_dir.path() + "/live.sock";
  DaemonProcess d(dir, dir.write("app.json", config_text(seg.name(), live, 1)));
  require_ready(d);

  const auto one = run_with_run_dir(run_dir.path(), {bin("confvisorctl"), "status"});
  if (!one) {
    BOOST_TEST_MESSAGE("skipped: no mount namespace for a private /run/confvisor here");
    return;
  }
  BOOST_TEST(one->exit_code() == 0, one->output);
  BOOST_TEST(contains(one->output, "confvisord pid " + std::to_string(d.pid())), one->output);

  // Two that answer: both are listed, and none of the dead.
  SegmentGuard seg2("discover2");
  TempDir dir2;
  DaemonProcess d2(
      dir2, dir2.write("app.json", config_text(seg2.name(), run_dir.path() + "/live2.sock", 1)));
  require_ready(d2);
  d.drain_notifications();
  const auto two = run_with_run_dir(run_dir.path(), {bin("confvisorctl"), "status"});
  BOOST_TEST(two->exit_code() == 1, two->output);
  BOOST_TEST(contains(two->output, "several daemons listen"), two->output);
  BOOST_TEST(contains(two->output, "/run/confvisor/live.sock"), two->output);
  BOOST_TEST(contains(two->output, "/run/confvisor/live2.sock"), two->output);
  BOOST_TEST(!contains(two->output, "dead"), two->output);

  // Only dead ones: the daemon is not running (3).
  d.signal(SIGTERM);
  d2.signal(SIGTERM);
  BOOST_TEST(d.wait_exit() == 0);
  BOOST_TEST(d2.wait_exit() == 0);
  const auto none = run_with_run_dir(run_dir.path(), {bin("confvisorctl"), "status"});
  BOOST_TEST(none->exit_code() == 3, none->output);
  BOOST_TEST(contains(none->output, "confvisord is not running"), none->output);
}

// ---- status tells the truth -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(status_compares_the_live_config_with_the_file_as_it_is_now) {
  SegmentGuard seg("truth");
  TempDir dir;
  const std::string socket = dir.path() + "/ctl.sock";
  const std::string path = dir.write("app.json", config_text(seg.name(), socket, 1));
  DaemonProcess d(dir, path);
  require_ready(d);
  BOOST_TEST(status_of(d, socket).at("live_matches_file").as_bool());

  // Edited in place, to the same size, at once: no reload yet, so the live config is not the
  // file's (the timestamps may not have moved on a coarse clock; the check does not trust them).
  auto edit_in_place = [&](int version) {
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        << config_text(seg.name(), socket, version);
  };
  edit_in_place(2);
  json::object edited = status_of(d, socket);
  BOOST_TEST(!edited.at("live_matches_file").as_bool());
  BOOST_TEST(edited.at("file_changed").as_bool());
  BOOST_TEST(contains(confvisorctl(d, {"--socket", socket, "status"}).output,
                      path + " has changed since it was loaded"));
  edit_in_place(1);  // back to what is live
  BOOST_TEST(status_of(d, socket).at("live_matches_file").as_bool());
  edit_in_place(3);
  BOOST_TEST(!status_of(d, socket).at("live_matches_file").as_bool());
  BOOST_TEST_REQUIRE(confvisorctl(d, {"--socket", socket, "reload"}).exit_code() == 0);
  json::object reloaded = status_of(d, socket);
  BOOST_TEST(reloaded.at("live_matches_file").as_bool());
  BOOST_TEST(!reloaded.at("file_changed").as_bool());
  BOOST_TEST(reloaded.at("file_error").is_null());

  // A FIFO in its place is reported, not waited on (nobody writes to it).
  fs::remove(path);
  BOOST_TEST_REQUIRE(::mkfifo(path.c_str(), 0644) == 0);
  json::object fifo = status_of(d, socket);
  BOOST_TEST(!fifo.at("live_matches_file").as_bool());
  BOOST_TEST(contains(std::string(fifo.at("file_error").as_string()), "not a regular file"));
}

BOOST_AUTO_TEST_CASE(a_changed_worker_starts_over_with_no_restarts_and_no_last_exit) {
  SegmentGuard seg("startover");
  TempDir dir;
  const std::string socket = dir.path() + "/ctl.sock";
  // Up long enough to count as started (so the daemon gets ready), then it fails.
  const std::string flaky =
      "{\"name\": \"w\", \"command\": [\"/bin/sh\", \"-c\", \"sleep 0.2; exit 3\"],"
      " \"restart\": \"always\", \"start_window\": \"100ms\","
      " \"backoff\": {\"initial\": \"10ms\", \"max\": \"10ms\"},"
      " \"restart_limit\": {\"count\": 1000, \"period\": \"10s\"}}";
  const std::string path = dir.write("app.json", config_text(seg.name(), socket, 1, flaky));
  DaemonProcess d(dir, path);
  require_ready(d);
  BOOST_TEST_REQUIRE(eventually(
      [&] { return instance(status_of(d, socket)).at("restarts").to_number<int>() >= 2; }));
  const json::object failing = status_of(d, socket);
  BOOST_TEST(instance(failing).at("last_exit").as_string() == "exit code 3");

  dir.write("app.json", config_text(seg.name(), socket, 1,
                                    "{\"name\": \"w\", \"command\": [\"/bin/sleep\", \"1000\"], "
                                    "\"start_window\": \"100ms\"}"));
  BOOST_TEST_REQUIRE(confvisorctl(d, {"--socket", socket, "reload"}).exit_code() == 0);
  BOOST_TEST_REQUIRE(
      eventually([&] { return instance(status_of(d, socket)).at("state") == "RUNNING"; }));
  const json::object status = status_of(d, socket);
  const json::object& w = instance(status);
  BOOST_TEST(w.at("restarts").to_number<int>() == 0);
  BOOST_TEST(w.at("last_exit").is_null());
}

BOOST_AUTO_TEST_CASE(a_failed_start_shows_why_in_last_exit) {
  SegmentGuard seg("whyfail");
  TempDir dir;
  const std::string socket = dir.path() + "/ctl.sock";
  const std::string cwd = dir.path() + "/work";
  fs::create_directory(cwd);
  const std::string worker =
      "{\"name\": \"w\", \"command\": [\"/bin/sleep\", \"1000\"], \"cwd\": \"" + cwd +
      "\", \"start_window\": \"100ms\", \"restart_limit\": {\"count\": 1},"
      " \"backoff\": {\"initial\": \"10ms\"}}";
  DaemonProcess d(dir, dir.write("app.json", config_text(seg.name(), socket, 1, worker)));
  require_ready(d);
  fs::remove(cwd);  // valid when checked, gone at the next start
  const RunResult restart = confvisorctl(d, {"--socket", socket, "restart", "w"});
  BOOST_TEST(restart.exit_code() == 1, restart.output);
  const json::object status = status_of(d, socket);
  const json::object& w = instance(status);
  BOOST_TEST(w.at("last_exit").as_string() ==
             "failed to start: chdir " + cwd + ": No such file or directory");
  BOOST_TEST(contains(confvisorctl(d, {"--socket", socket, "status"}).output,
                      "failed to start: chdir " + cwd + ": No such file or directory"));
}

BOOST_AUTO_TEST_CASE(status_exits_5_while_an_instance_is_fatal_or_in_backoff) {
  SegmentGuard seg("exit5");
  TempDir dir;
  const std::string socket = dir.path() + "/ctl.sock";
  const std::string workers =
      "{\"name\": \"ok\", \"command\": [\"/bin/sleep\", \"1000\"], \"start_window\": \"100ms\"},"
      "{\"name\": \"bad\", \"command\": [\"/bin/false\"], \"restart_limit\": {\"count\": 1},"
      " \"backoff\": {\"initial\": \"10ms\"}}";
  DaemonProcess d(dir, dir.write("app.json", config_text(seg.name(), socket, 1, workers)));
  require_ready(d);  // READY=1 once bad is FATAL
  const RunResult table = confvisorctl(d, {"--socket", socket, "status"});
  BOOST_TEST(table.exit_code() == 5, table.output);
  BOOST_TEST(contains(table.output, "FATAL"), table.output);
  const RunResult as_json = confvisorctl(d, {"--socket", socket, "status", "--json"});
  BOOST_TEST(as_json.exit_code() == 5, as_json.output);
  BOOST_TEST(parse_json(as_json).at("workers").as_array().size() == 2u);

  // Stopped by the operator is not down.
  BOOST_TEST(confvisorctl(d, {"--socket", socket, "stop", "bad"}).exit_code() == 0);
  const RunResult stopped = confvisorctl(d, {"--socket", socket, "status"});
  BOOST_TEST(stopped.exit_code() == 0, stopped.output);
}

BOOST_AUTO_TEST_CASE(
    a_rollback_whose_worker_then_fails_says_so_instead_of_every_instance_restarted) {
  SegmentGuard seg("rollfail");
  TempDir dir;
  const std::string socket = dir.path() + "/ctl.sock";
  const std::string failing =
      "{\"name\": \"w\", \"command\": [\"/bin/sh\", \"-c\", \"exit 3\"], \"backoff\": "
      "{\"initial\": "
      "\"5s\"}, \"start_window\": \"100ms\"}";
  const std::string healthy =
      "{\"name\": \"w\", \"command\": [\"/bin/sleep\", \"1000\"], \"start_window\": \"100ms\"}";
  const std::string path = dir.write("app.json", config_text(seg.name(), socket, 1, healthy));
  DaemonProcess d(dir, path);
  require_ready(d);
  auto up = [&] { return instance(status_of(d, socket)).at("state") == "RUNNING"; };
  dir.write("app.json", config_text(seg.name(), socket, 2, failing));  // generation 2
  BOOST_TEST_REQUIRE(confvisorctl(d, {"--socket", socket, "reload"}).exit_code() == 0);
  BOOST_TEST_REQUIRE(eventually([&] { return contains(d.log(), "worker w: restart done, but"); }));
  dir.write("app.json", config_text(seg.name(), socket, 3, healthy));  // generation 3
  BOOST_TEST_REQUIRE(confvisorctl(d, {"--socket", socket, "reload"}).exit_code() == 0);
  BOOST_TEST_REQUIRE(eventually(up));

  const RunResult rollback = confvisorctl(d, {"--socket", socket, "rollback", "2"});
  BOOST_TEST(rollback.exit_code() == 0, rollback.output);
  BOOST_TEST(contains(rollback.output, "rollback ok: generation 4"), rollback.output);
  BOOST_TEST(contains(rollback.output, "restarting w one instance at a time"), rollback.output);
  const std::string done =
      "worker w: restart done, but not every instance is up: w[0] BACKOFF (exit code 3)";
  auto after_rollback = [&](const std::string& what) {
    const std::string log = d.log();
    const auto at = log.find("rollback ok: generation 4");
    return at != std::string::npos && log.find(what, at) != std::string::npos;
  };
  BOOST_TEST_REQUIRE(eventually([&] { return after_rollback(done); }), d.log());
  BOOST_TEST(!after_rollback("every instance restarted"), d.log());
  BOOST_TEST(confvisorctl(d, {"--socket", socket, "status"}).exit_code() == 5);
}

// ---- systemctl reload ---------------------------------------------------------------------

// The units' ExecReload line, run as systemd would (its paths for this build and test), with
// the daemon running on the unit's config: a refused edit fails it with the reason.
BOOST_AUTO_TEST_CASE(the_units_exec_reload_line_fails_with_the_reason_on_a_refused_edit) {
  for (const char* unit : {"confvisord.service", "confvisord@.service"}) {
    BOOST_TEST_CONTEXT(unit) {
      std::ifstream in(std::string(CONFVISOR_UNIT_DIR) + "/" + unit);
      std::string line, exec_reload;
      while (std::getline(in, line)) {
        if (line.starts_with("ExecReload=")) exec_reload = line.substr(11);
      }
      BOOST_TEST_REQUIRE(!exec_reload.empty());

      SegmentGuard seg("execreload");
      TempDir dir;
      const std::string socket = dir.path() + "/ctl.sock";
      const std::string path = dir.write("shop.json", config_text(seg.name(), socket, 1));
      DaemonProcess d(dir, path);
      require_ready(d);

      std::vector<std::string> argv;
      std::istringstream words(exec_reload);
      for (std::string w; words >> w;) {
        if (w == "/usr/bin/confvisorctl") w = bin("confvisorctl");
        if (w == "/etc/confvisor/confvisor.json" || w == "/etc/confvisor/%i.json") w = path;
        if (w == "$MAINPID") w = std::to_string(d.pid());
        argv.push_back(w);
      }
      dir.write("shop.json", config_text(seg.name(), socket, 2) + "}");
      d.drain_notifications();
      const RunResult refused = run(argv, {"CONFVISOR_SEGMENT"});
      BOOST_TEST(refused.exit_code() != 0, exec_reload << ": " << refused.output);
      BOOST_TEST(
          contains(refused.output, path + ":9:1: unexpected '}' after the end of the document"),
          refused.output);
      BOOST_TEST(Reader(seg.name()).current().generation() == 1u);

      dir.write("shop.json", config_text(seg.name(), socket, 2));
      d.drain_notifications();
      const RunResult ok = run(argv, {"CONFVISOR_SEGMENT"});
      BOOST_TEST(ok.exit_code() == 0, ok.output);
      BOOST_TEST(Reader(seg.name()).current().generation() == 2u);
    }
  }
}

// ---- without root -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_daemon_that_is_not_root_listens_in_xdg_runtime_dir_where_its_client_looks) {
  if (::geteuid() != 0) {
    BOOST_TEST_MESSAGE("skipped: needs root to run the daemon as another user");
    return;
  }
  const std::vector<std::string> as_nobody = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                              "--clear-groups", "--"};
  SegmentGuard seg("xdg");
  TempDir dir;
  fs::permissions(dir.path(), fs::perms::others_exec | fs::perms::others_read,
                  fs::perm_options::add);
  const std::string runtime = dir.path() + "/runtime";
  fs::create_directory(runtime);
  BOOST_TEST_REQUIRE(::chown(runtime.c_str(), 65534, 65534) == 0);
  const std::string path = dir.write("app.json", config_text(seg.name(), "", 1));
  NotifySocket notify(dir.path() + "/notify");
  BOOST_TEST_REQUIRE(::chmod(notify.path().c_str(), 0666) == 0);

  std::vector<std::string> argv = as_nobody;
  for (const std::string& a : {bin("confvisord"), std::string("--config"), path}) argv.push_back(a);
  const std::string log = dir.path() + "/daemon.log";
  Child daemon(argv, {"XDG_RUNTIME_DIR=" + runtime, "NOTIFY_SOCKET=" + notify.path()}, false, log);
  std::string ready;
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
       !contains(ready, "READY=1") && std::chrono::steady_clock::now() < deadline;) {
    ready = notify.receive(1s);
  }
  BOOST_TEST_REQUIRE(contains(ready, "READY=1"), read_file(log));
  BOOST_TEST(fs::is_socket(runtime + "/confvisor/" + seg.name() + ".sock"));

  std::vector<std::string> client = as_nobody;
  for (const std::string& a :
       {bin("confvisorctl"), std::string("--config"), path, std::string("status")})
    client.push_back(a);
  const RunResult status = run(client, {"XDG_RUNTIME_DIR=" + runtime, "CONFVISOR_SEGMENT"});
  BOOST_TEST(status.exit_code() == 0, status.output);
  BOOST_TEST(contains(status.output, "confvisord pid " + std::to_string(daemon.pid())),
             status.output);
  ::kill(daemon.pid(), SIGTERM);
  BOOST_TEST(WIFEXITED(daemon.wait_for(10s)));

  // Without a runtime directory the default is root's, which says what to set.
  std::vector<std::string> plain = as_nobody;
  for (const std::string& a : {bin("confvisord"), std::string("--config"), path})
    plain.push_back(a);
  const RunResult refused = run(plain, {"XDG_RUNTIME_DIR", "NOTIFY_SOCKET"});
  BOOST_TEST(refused.exit_code() == 1, refused.output);
  BOOST_TEST(contains(refused.output, "Permission denied"), refused.output);
  BOOST_TEST(contains(refused.output, "set /confvisor/socket to a path this user may create"),
             refused.output);
}

BOOST_AUTO_TEST_CASE(remove_deletes_a_segment_no_daemon_owns_and_refuses_one_a_daemon_owns) {
  SegmentGuard seg("remove");
  TempDir dir;
  const std::string shm = "/dev/shm/confvisor." + seg.name();
  {
    Publisher publisher(PublisherOptions{.segment = seg.name()});
    publisher.publish(R"({"a": 1})", "test");
  }
  BOOST_TEST_REQUIRE(fs::exists(shm));
  const RunResult removed = run({bin("confvisorctl"), "remove", "--segment", seg.name()});
  BOOST_TEST(removed.exit_code() == 0, removed.output);
  BOOST_TEST(contains(removed.output, "removed segment " + seg.name()), removed.output);
  BOOST_TEST(!fs::exists(shm));
  BOOST_TEST(!fs::exists(shm + ".lock"));
  const RunResult again = run({bin("confvisorctl"), "remove", "--segment", seg.name()});
  BOOST_TEST(again.exit_code() == 1, again.output);
  BOOST_TEST(contains(again.output, "there is no segment " + seg.name()), again.output);

  const std::string socket = dir.path() + "/ctl.sock";
  DaemonProcess d(dir, dir.write("app.json", config_text(seg.name(), socket, 1)));
  require_ready(d);
  const RunResult owned = run({bin("confvisorctl"), "remove", "--segment", seg.name()});
  BOOST_TEST(owned.exit_code() == 1, owned.output);
  BOOST_TEST(contains(owned.output, "remove refused"), owned.output);
  BOOST_TEST(contains(owned.output, "pid " + std::to_string(d.pid())), owned.output);
  BOOST_TEST(fs::exists(shm));
  BOOST_TEST(confvisorctl(d, {"--socket", socket, "status"}).exit_code() == 0);

  // A daemon killed outright leaves the segment (and its lock file); the lock is gone with it.
  d.signal(SIGKILL);
  d.wait_exit();
  const RunResult after = run({bin("confvisorctl"), "remove", "--segment", seg.name()});
  BOOST_TEST(after.exit_code() == 0, after.output);
  BOOST_TEST(!fs::exists(shm));
  BOOST_TEST(!fs::exists(shm + ".lock"));

  const RunResult no_flag =
      run({bin("confvisorctl"), "remove"}, {"CONFVISOR_SEGMENT=" + seg.name()});
  BOOST_TEST(no_flag.exit_code() == 2, no_flag.output);
}

// A daemon with a canary publishes NAME.canary too: it is that daemon's, and goes with NAME.
BOOST_AUTO_TEST_CASE(remove_takes_the_canary_segment_with_its_main_one) {
  SegmentGuard seg("remove-canary");
  const std::string canary = canary_segment(seg.name());
  for (const std::string& name : {seg.name(), canary}) {
    Publisher publisher(PublisherOptions{.segment = name});
    publisher.publish(R"({"a": 1})", "test");
  }
  const std::string shm = "/dev/shm/confvisor.";
  const RunResult removed = run({bin("confvisorctl"), "remove", "--segment", seg.name()});
  BOOST_TEST(removed.exit_code() == 0, removed.output);
  BOOST_TEST(contains(removed.output, "removed its canary segment " + canary), removed.output);
  BOOST_TEST(!fs::exists(shm + seg.name()));
  BOOST_TEST(!fs::exists(shm + canary));

  // Alone, it is removed under its daemon's lock.
  {
    Publisher publisher(PublisherOptions{.segment = canary});
    publisher.publish(R"({"a": 1})", "test");
  }
  const RunResult alone = run({bin("confvisorctl"), "remove", "--segment", canary});
  BOOST_TEST(alone.exit_code() == 0, alone.output);
  BOOST_TEST(!fs::exists(shm + canary));
}
