// Supervision as an operator sees it: the real confvisord, real worker processes (shell
// scripts, /bin/sleep, an sd_notify service built on libsystemd), real signals. Tests wait on
// the daemon's own READY=1 and on its log lines, with bounded polls.
//
// Every worker of a test carries CONFVISOR_TEST_MARK=<the test's segment name>, so /proc
// tells which processes are the test's: while the daemon runs it must leave no zombie child,
// and once it has exited no process with the mark may be left (no orphan).
//
// The suite runs twice (tests/CMakeLists.txt): in the mode the daemon picks itself (cgroup
// tracking where it can write cgroup2, as root here), and with CONFVISOR_TRACKING=subreaper,
// the fallback.
#define BOOST_TEST_MODULE supervisor
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/daemon_process.hpp"
#include "tests/support/proc_scan.hpp"
#include "tests/support/process_wait.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/text_search.hpp"

using namespace confvisor::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kMark = "CONFVISOR_TEST_MARK";
// The base PATH every worker gets (daemon/supervise/spawn.cc, the same as systemd's default).
constexpr const char* kBasePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

constexpr std::size_t kNone = std::string::npos;

// Index of the first line at or after `from` that contains `needle`, or kNone.
std::size_t find_line(const std::vector<std::string>& lines, const std::string& needle,
                      std::size_t from = 0) {
  for (std::size_t i = from; i < lines.size(); ++i) {
    if (contains(lines[i], needle)) return i;
  }
  return kNone;
}

// Index of the `nth` (1-based) line that contains `needle`, or kNone.
std::size_t find_nth_line(const std::vector<std::string>& lines, const std::string& needle,
                          std::size_t nth) {
  std::size_t at = kNone;
  for (std::size_t i = 0, from = 0; i < nth; ++i, from = at + 1) {
    at = find_line(lines, needle, from);
    if (at == kNone) return kNone;
  }
  return at;
}

// The number after "pid " in a log line ("... started: pid 1234").
pid_t pid_in(const std::string& line) {
  const auto at = line.rfind("pid ");
  return at == std::string::npos ? 0 : static_cast<pid_t>(std::atol(line.c_str() + at + 4));
}

std::vector<std::string> sh(const std::string& script) {
  return {"/bin/sh", "-c", script};
}

// A worker script that leaves its process group: setsid runs a shell that runs a shell that
// runs a sleep (its pid in $T/ss.pid). The shells wait, so each process becomes the daemon's
// (a subreaper) only once its parent is dead.
constexpr const char* kSetsidTree =
    "setsid sh -c 'sh -c \"sleep 1000 & echo \\$! > \\\"\\$T/ss.pid\\\"; wait\"; wait'";

// One test's world: a segment, a temp dir, and a config file of workers that all carry the
// test's mark. Whatever still carries the mark when it goes is killed, pass or fail (after
// the DaemonProcess declared later is gone, and after the test's own checks).
struct Setup {
  SegmentGuard seg{"sup"};
  TempDir dir;

  Setup() = default;
  Setup(const Setup&) = delete;
  Setup& operator=(const Setup&) = delete;
  ~Setup() {
    // Every process that carries the test's mark, in either tracking mode; seg then removes
    // the segment's cgroup tree and the lock file a SIGKILLed daemon leaves.
    kill_pids_with_env(kMark, mark());
  }

  [[nodiscard]] const std::string& mark() const { return seg.name(); }
  [[nodiscard]] std::string file(const std::string& name) const { return dir.path() + "/" + name; }
  [[nodiscard]] std::string config_path() const { return file("app.json"); }

  // A worker with the suite's short timings (start_window 100ms, stop_timeout 300ms, backoff
  // 50ms..400ms) and env {CONFVISOR_TEST_MARK, T=the temp dir}; `extra` adds or overrides keys
  // ("env" entries are added to those two).
  [[nodiscard]] json::object worker(const std::string& name,
                                    const std::vector<std::string>& command,
                                    const json::object& extra = {}) const {
    json::object w;
    w["name"] = name;
    json::array argv;
    for (const auto& a : command) argv.emplace_back(a);
    w["command"] = std::move(argv);
    w["start_window"] = "100ms";
    w["stop_timeout"] = "300ms";
    w["backoff"] = json::object{{"initial", "50ms"}, {"max", "400ms"}};
    json::object env{{kMark, mark()}, {"T", dir.path()}};
    for (const auto& [key, value] : extra) {
      if (key == "env") {
        for (const auto& [k, v] : value.as_object()) env[k] = v;
      } else {
        w[key] = value;
      }
    }
    w["env"] = std::move(env);
    return w;
  }

  std::string write_config(const std::vector<json::object>& workers) const {
    json::array list;
    for (const auto& w : workers) list.emplace_back(w);
    json::object doc{
        {"confvisor", json::object{{"segment", seg.name()}, {"workers", std::move(list)}}},
        {"app", json::object{{"name", "supervisor_test"}}}};
    return dir.write("app.json", json::serialize(doc) + "\n");
  }
};

// The daemon has reaped every child that exited.
void check_no_zombies(const DaemonProcess& d) {
  const auto zombies = wait_no_zombie_children(d.pid(), 2s);
  BOOST_TEST(zombies.empty(), "zombie children of confvisord: " << describe_pids(zombies));
}

// After the daemon exited: nothing carrying the test's mark is alive.
void check_no_orphans(const Setup& s) {
  const auto left = wait_no_pids_with_env(kMark, s.mark(), 1s);
  BOOST_TEST(left.empty(),
             "processes of the test's workers outlived confvisord: " << describe_pids(left));
}

// The end of most tests: no zombie, SIGTERM, exit 0, no orphan.
void stop_and_check(DaemonProcess& d, const Setup& s) {
  check_no_zombies(d);
  d.signal(SIGTERM);
  const int status = d.wait_exit(15s);
  BOOST_TEST(exit_code(status) == 0, "confvisord exit status; its log:\n" << tail(d.log()));
  check_no_orphans(s);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_crashing_worker_restarts_with_a_doubling_backoff_capped_at_max) {
  Setup s;
  // A long start window: a loaded machine that takes 100ms to run `exit 1` must not count a
  // start as settled, which would reset the backoff and hide what this test measures.
  s.write_config({s.worker("crash", sh("exit 1"),
                           {{"restart_limit", json::object{{"count", 100}, {"period", "1m"}}},
                            {"start_window", "1m"}})});
  DaemonProcess d(s.dir, s.config_path());
  require_log(d, "worker crash[0] (generation 1) started", 10s, 7);

  const auto failures =
      log_lines(d.log(), "worker crash[0] (generation 1) failed (exit code 1); restarting in ");
  BOOST_TEST_REQUIRE(failures.size() >= 6u);
  const std::vector<std::pair<std::string, long long>> delays{
      {"50ms", 50}, {"100ms", 100}, {"200ms", 200}, {"400ms", 400}, {"400ms", 400}, {"400ms", 400}};
  const auto lines = lines_of(d.log());
  for (std::size_t i = 0; i < delays.size(); ++i) {
    BOOST_TEST_CONTEXT("restart " << i + 1) {
      BOOST_TEST(
          contains(failures[i], "restarting in " + delays[i].first + " (" + std::to_string(i + 1) +
                                    " of at most 100 restart(s) within 1m)"),
          failures[i]);
      // The restart waited its delay: from the failure to the next start.
      const std::size_t failed = find_line(lines, failures[i]);
      const std::size_t next = find_line(lines, "worker crash[0] (generation 1) started", failed);
      BOOST_TEST_REQUIRE(next != kNone);
      BOOST_TEST(stamp_ms(lines[next]) - stamp_ms(lines[failed]) >= delays[i].second - 2);
    }
  }
  // A worker that never stays up never counts as started: no READY=1 while it loops.
  d.drain_notifications();
  for (const auto& n : d.notifications()) BOOST_TEST(!contains(n, "READY=1"), n);
  stop_and_check(d, s);
}

BOOST_AUTO_TEST_CASE(a_crash_loop_ends_fatal_and_is_retried_after_the_cooldown) {
  Setup s;
  s.write_config({s.worker("loop", sh("exit 1"),
                           {{"restart_limit", json::object{{"count", 2}, {"period", "10s"}}},
                            {"fatal_retry_after", "500ms"}})});
  DaemonProcess d(s.dir, s.config_path());
  // FATAL ends the first start: the daemon is ready, and says one worker is FATAL.
  const std::string ready = d.wait_notify("READY=1");
  BOOST_TEST_REQUIRE(!ready.empty(), tail(d.log()));
  BOOST_TEST(contains(ready, "0 of 1 worker instances running, 1 FATAL"), ready);

  const std::string started = "worker loop[0] (generation 1) started";
  require_log(d, "worker loop[0] (generation 1) leaves FATAL after 500ms: starting it again");
  require_log(d, started, 10s, 4);
  const auto lines = lines_of(d.log());
  const std::size_t fatal =
      find_line(lines,
                "worker loop[0] (generation 1) is FATAL: 2 restart(s) within 10s, "
                "last: exit code 1; retried in 500ms");
  const std::size_t leaves = find_line(lines, "leaves FATAL after 500ms");
  BOOST_TEST_REQUIRE(fatal != kNone);
  BOOST_TEST_REQUIRE(leaves != kNone);
  // More than `count` restarts in the period: the 3rd failed start is the one that stops it.
  BOOST_TEST(find_nth_line(lines, started, 3) < fatal);
  BOOST_TEST(find_nth_line(lines, started, 4) > leaves);
  BOOST_TEST(leaves > fatal);
  BOOST_TEST(stamp_ms(lines[leaves]) - stamp_ms(lines[fatal]) >= 498);

  // Leaving FATAL gives it a whole new restart budget: three more starts, then FATAL again.
  require_log(d, "worker loop[0] (generation 1) is FATAL", 10s, 2);
  const auto again = lines_of(d.log());
  const std::size_t second_fatal = find_nth_line(again, "is FATAL", 2);
  BOOST_TEST(find_nth_line(again, started, 6) < second_fatal);
  BOOST_TEST(find_nth_line(again, started, 7) > second_fatal);
  stop_and_check(d, s);
}

BOOST_AUTO_TEST_CASE(a_clean_exit_is_not_restarted_with_on_failure_but_is_with_always) {
  Setup s;
  s.write_config({
      s.worker("clean", sh("exit 0")),
      s.worker("three", sh("exit 3"), {{"success_exit_codes", json::array{3}}}),
      s.worker("again", sh("sleep 0.3; exit 0"), {{"restart", "always"}}),
  });
  DaemonProcess d(s.dir, s.config_path());
  require_ready(d, 15s);
  require_log(d, "worker again[0] (generation 1) started", 10s, 2);
  // Time for a restart of the clean ones, had one been (wrongly) scheduled: backoff is 50ms.
  std::this_thread::sleep_for(300ms);
  const std::string log = d.log();
  BOOST_TEST(count_lines(log, "worker clean[0] (generation 1) started") == 1u);
  BOOST_TEST(count_lines(log,
                         "worker clean[0] (generation 1) exited (exit code 0); not restarted "
                         "(restart: on-failure)") == 1u);
  BOOST_TEST(count_lines(log, "worker three[0] (generation 1) started") == 1u);
  BOOST_TEST(count_lines(log,
                         "worker three[0] (generation 1) exited (exit code 3); not restarted "
                         "(restart: on-failure)") == 1u);
  BOOST_TEST(
      count_lines(log, "worker again[0] (generation 1) failed (exit code 0); restarting in 50ms") >=
      1u);
  stop_and_check(d, s);
}

BOOST_AUTO_TEST_CASE(workers_that_ignore_sigterm_are_killed_after_stop_timeout_all_in_parallel) {
  Setup s;
  s.write_config({s.worker("stubborn",
                           sh("trap '' TERM; echo trapped > \"$T/trapped.$CONFVISOR_INSTANCE\"; "
                              "while :; do sleep 1; done"),
                           {{"instances", 3}})});
  DaemonProcess d(s.dir, s.config_path());
  require_ready(d, 15s);
  for (int i = 0; i < 3; ++i)
    BOOST_TEST_REQUIRE(wait_for_file(s.file("trapped." + std::to_string(i)), 10s));
  d.signal(SIGTERM);
  BOOST_TEST(exit_code(d.wait_exit(15s)) == 0);
  const std::string log = d.log();
  BOOST_TEST(count_lines(log, "did not stop within 300ms: SIGKILL to process group") == 3u,
             tail(log));
  BOOST_TEST(count_lines(log, "stopped: killed by SIGKILL") == 3u);
  // All three waited their 300ms at once, not one after the other: the three timeouts
  // expire together, 300ms after the stop began.
  const auto lines = lines_of(log);
  const std::size_t begin = find_line(lines, "stopping on SIGTERM");
  const std::size_t end = find_line(lines, "stopped: every worker has exited");
  BOOST_TEST_REQUIRE(begin != kNone);
  BOOST_TEST_REQUIRE(end != kNone);
  std::vector<long long> timeouts;
  for (const auto& l : log_lines(log, "did not stop within 300ms")) timeouts.push_back(stamp_ms(l));
  BOOST_TEST_REQUIRE(timeouts.size() == 3u);
  BOOST_TEST(timeouts.front() - stamp_ms(lines[begin]) >= 299);
  BOOST_TEST(timeouts.back() - timeouts.front() < 150, tail(log));
  check_no_orphans(s);
}

BOOST_AUTO_TEST_CASE(sigterm_leaves_nothing_of_a_grandchild_a_double_fork_or_a_setsid_tree) {
  Setup s;
  s.write_config({
      // A grandchild in the worker's process group.
      s.worker("gc", sh("sleep 1000 & echo $! > \"$T/gc.pid\"; wait")),
      // A double fork out of the group: the middle process exits, the sleep is adopted at once.
      s.worker("df", sh("setsid sh -c 'sleep 1000 & echo $! > \"$T/df.pid\"'; exec sleep 1000")),
      // A new session whose processes stay (setsid sh -> sh -> sleep): each becomes the
      // daemon's only once its parent is dead.
      s.worker("ss", sh(kSetsidTree)),
  });
  DaemonProcess d(s.dir, s.config_path());
  require_ready(d, 15s);
  const pid_t gc = pid_from_file(s.file("gc.pid"));
  const pid_t df = pid_from_file(s.file("df.pid"));
  const pid_t ss = pid_from_file(s.file("ss.pid"));
  BOOST_TEST_REQUIRE(alive(gc));
  BOOST_TEST_REQUIRE(alive(df));
  BOOST_TEST_REQUIRE(alive(ss));
  // The daemon is a child subreaper: the double-forked sleep becomes its child once the
  // shell between them (which wrote the pid file just before it exits) is gone.
  auto parent = [](pid_t pid) { return proc_stat(pid).value_or(ProcStat{}).parent; };
  const auto deadline = Clock::now() + 5s;
  while (parent(df) != d.pid() && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
  BOOST_TEST(parent(df) == d.pid());
  BOOST_TEST(proc_stat(ss).value_or(ProcStat{}).session !=
             proc_stat(d.pid()).value_or(ProcStat{}).session);

  d.signal(SIGTERM);
  BOOST_TEST(exit_code(d.wait_exit(15s)) == 0, tail(d.log()));
  BOOST_TEST(wait_dead(gc, 1s), "grandchild " << gc << " survived");
  BOOST_TEST(wait_dead(df, 1s), "double-forked " << df << " survived");
  BOOST_TEST(wait_dead(ss, 1s), "setsid grandchild " << ss << " survived: " << tail(d.log()));
  check_no_orphans(s);
}

BOOST_AUTO_TEST_CASE(a_worker_removed_by_reload_leaves_nothing_while_the_daemon_runs_on) {
  Setup s;
  const auto keeper = s.worker("keeper", {"/bin/sleep", "1000"});
  s.write_config({
      keeper,
      s.worker("df", sh("setsid sh -c 'sleep 1000 & echo $! > \"$T/df.pid\"'; exec sleep 1000")),
      s.worker("ss", sh(kSetsidTree)),
  });
  DaemonProcess d(s.dir, s.config_path());
  require_ready(d, 15s);
  const pid_t df = pid_from_file(s.file("df.pid"));
  const pid_t ss = pid_from_file(s.file("ss.pid"));
  const auto before = worker_pids(d.pid());
  BOOST_TEST_REQUIRE(before.count("keeper[0]") == 1u);

  s.write_config({keeper});
  d.signal(SIGHUP);
  require_ready(d, 15s);
  require_log(d, "worker df[0] (generation 2) stopped");
  require_log(d, "worker ss[0] (generation 2) stopped");
  require_log(d, "killing pid " + std::to_string(df) + ", left behind by df[0]");
  require_log(d, "killing pid " + std::to_string(ss) + ", left behind by ss[0]", 5s);
  // Killed and reaped by the daemon: not even a zombie is left.
  const auto deadline = Clock::now() + 2s;
  while ((proc_stat(df) || proc_stat(ss)) && Clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  BOOST_TEST(!proc_stat(df).has_value());
  BOOST_TEST(!proc_stat(ss).has_value());
  BOOST_TEST(::kill(d.pid(), 0) == 0);
  BOOST_TEST(worker_pids(d.pid()) ==
             (std::map<std::string, pid_t>{{"keeper[0]", before.at("keeper[0]")}}));
  stop_and_check(d, s);
}

// Each level of this tree is a session of its own whose shell waits for the next, so a level
// becomes the daemon's only when the one above it is dead. The daemon sweeps again as each
// killed level is reaped; with sweeps on timers alone (20 ms, 200 ms, 1 s after the exit) the
// levels past the fourth outlived the worker for as long as the daemon ran.
constexpr const char* kDeepTree =
    "if [ \"$1\" -eq 0 ]; then sleep 1000 & echo $! > \"$T/deep.pid\"; wait; exit; fi\n"
    "setsid /bin/sh \"$T/deep.sh\" $(($1 - 1)) & wait\n";

BOOST_AUTO_TEST_CASE(a_tree_of_eight_nested_sessions_goes_with_its_worker_not_with_the_daemon) {
  Setup s;
  s.dir.write("deep.sh", kDeepTree);
  const auto keeper = s.worker("keeper", {"/bin/sleep", "1000"});
  s.write_config({keeper, s.worker("deep", {"/bin/sh", s.file("deep.sh"), "8"})});
  DaemonProcess d(s.dir, s.config_path());
  require_ready(d, 15s);
  const pid_t deepest = pid_from_file(s.file("deep.pid"));
  BOOST_TEST_REQUIRE(alive(deepest));

  s.write_config({keeper});
  d.signal(SIGHUP);
  require_ready(d, 15s);
  require_log(d, "worker deep[0] (generation 2) stopped");
  BOOST_TEST(wait_dead(deepest, 3s), "the deepest sleep " << deepest
                                                          << " outlived its worker; log:\n"
                                                          << tail(d.log()));
  // Eight shells and the sleep, each killed once it was the daemon's (a sweep may catch one
  // twice, between the SIGKILL and its death).
  std::set<pid_t> killed;
  for (const auto& line : log_lines(d.log(), "left behind by deep[0]")) {
    killed.insert(static_cast<pid_t>(std::atol(line.c_str() + line.find("killing pid ") + 12)));
  }
  BOOST_TEST(killed.size() == 9u, tail(d.log()));
  BOOST_TEST(::kill(d.pid(), 0) == 0);
  stop_and_check(d, s);
}

// A missing command is refused with the config (config_check_test); one that goes away
// after the config was loaded is found missing before each start, and the worker ends FATAL.
BOOST_AUTO_TEST_CASE(a_command_gone_after_loading_fails_each_start_and_ends_fatal) {
  Setup s;
  const std::string ghost = s.dir.write("ghost.sh", "#!/bin/sh\nrm -f \"$0\"\nexit 1\n");
  fs::permissions(ghost, fs::perms(0755));
  s.write_config({
      // Its run always ends inside the start window: a failed start, however slow sh is.
      s.worker("ghost", {ghost, "--flag"},
               {{"backoff", json::object{{"initial", "10ms"}, {"max", "20ms"}}},
                {"start_window", "1m"},
                {"restart_limit", json::object{{"count", 2}, {"period", "10s"}}}}),
      s.worker("fine", {"/bin/sleep", "1000"}),
  });
  DaemonProcess d(s.dir, s.config_path());
  const std::string ready = d.wait_notify("READY=1");
  BOOST_TEST_REQUIRE(!ready.empty(), tail(d.log()));
  BOOST_TEST(contains(ready, "1 of 2 worker instances running, 1 FATAL"), ready);
  const std::string log = d.log();
  BOOST_TEST(count_lines(log, "worker ghost[0] (generation 1) failed (exit code 1)") == 1u, log);
  BOOST_TEST(count_lines(log, "error: unable to start ghost[0]: " + ghost +
                                  ": No such file or directory") == 2u,
             log);
  BOOST_TEST(count_lines(log, "worker ghost[0] (generation 1) is FATAL: 2 restart(s) within 10s") ==
             1u);
  BOOST_TEST(count_lines(log, "worker fine[0] (generation 1) running") == 1u);
  stop_and_check(d, s);
}

BOOST_AUTO_TEST_CASE(a_hundred_instances_start_before_ready_and_stop_together) {
  Setup s;
  constexpr int kInstances = 100;
  s.write_config({s.worker("many", {"/bin/sleep", "1000"},
                           {{"instances", kInstances}, {"stop_timeout", "5s"}})});
  DaemonProcess d(s.dir, s.config_path());
  const std::string ready = d.wait_notify("READY=1", 30s);
  BOOST_TEST_REQUIRE(!ready.empty(), tail(d.log()));
  BOOST_TEST(contains(ready, "100 of 100 worker instances running"), ready);
  const auto lines = lines_of(d.log());
  BOOST_TEST(count_lines(d.log(), ") started: pid ") == std::size_t{kInstances});
  const std::size_t ready_line =
      find_line(lines, "info: ready: generation 1, 100 of 100 worker instances running");
  BOOST_TEST_REQUIRE(ready_line != kNone);
  BOOST_TEST(find_nth_line(lines, ") running: pid ", kInstances) < ready_line);

  const auto pids = worker_pids(d.pid());
  BOOST_TEST_REQUIRE(pids.size() == std::size_t{kInstances});
  std::set<std::string> instances;
  std::set<pid_t> distinct;
  for (const auto& [label, pid] : pids) {
    auto env = proc_environ(pid);
    BOOST_TEST(env["CONFVISOR_WORKER"] == "many");
    BOOST_TEST(env["CONFVISOR_SEGMENT"] == s.seg.name());
    BOOST_TEST(env[kMark] == s.mark());
    instances.insert(env["CONFVISOR_INSTANCE"]);
    distinct.insert(pid);
  }
  BOOST_TEST(distinct.size() == std::size_t{kInstances});
  for (int i = 0; i < kInstances; ++i) BOOST_TEST(instances.count(std::to_string(i)) == 1u, i);

  check_no_zombies(d);
  d.signal(SIGTERM);
  BOOST_TEST(exit_code(d.wait_exit(15s)) == 0);
  const std::string log = d.log();
  BOOST_TEST(count_lines(log, "stopping: SIGTERM to process group") == std::size_t{kInstances});
  BOOST_TEST(count_lines(log, "stopped: killed by SIGTERM") == std::size_t{kInstances});
  BOOST_TEST(count_lines(log, "did not stop within") == 0u);
  check_no_orphans(s);
}

BOOST_AUTO_TEST_CASE(a_reload_adds_removes_changes_and_keeps_workers) {
  Setup s;
  const auto keep = s.worker("keep", {"/bin/sleep", "1000"});
  auto changed = [&](const std::string& version) {
    return s.worker("change", {"/bin/sleep", "1000"},
                    {{"instances", 2}, {"env", json::object{{"VERSION", version}}}});
  };
  const auto sig =
      s.worker("sig",
               sh("trap 'echo usr1 >> \"$T/usr1\"' USR1; echo trapped > \"$T/sig.trapped\"; "
                  "sleep 1000 & while kill -0 $! 2>/dev/null; do wait $!; done"),
               {{"on_reload", "signal"}, {"reload_signal", "SIGUSR1"}});
  const auto restarted = s.worker("restarted", {"/bin/sleep", "1000"}, {{"on_reload", "restart"}});
  s.write_config({keep, changed("1"), s.worker("gone", {"/bin/sleep", "1000"}), sig, restarted});
  DaemonProcess d(s.dir, s.config_path());
  require_ready(d, 15s);
  BOOST_TEST_REQUIRE(wait_for_file(s.file("sig.trapped"), 10s));
  const auto before = worker_pids(d.pid());
  BOOST_TEST_REQUIRE(before.size() == 6u);

  s.write_config({keep, changed("2"), sig, restarted, s.worker("added", {"/bin/sleep", "1000"})});
  d.signal(SIGHUP);
  require_ready(d, 15s);
  require_log(d, "worker change: every instance restarted");
  require_log(d, "worker restarted: every instance restarted");
  require_log(d, "worker gone[0] (generation 2) stopped");
  require_log(d, "worker added[0] (generation 2) running");
  BOOST_TEST_REQUIRE(wait_for_file(s.file("usr1"), 10s));
  const auto after = worker_pids(d.pid());
  const std::string log = d.log();

  BOOST_TEST(after.at("keep[0]") == before.at("keep[0]"));
  BOOST_TEST(count_lines(log, "worker keep[0] (generation 2)") == 0u);
  BOOST_TEST(after.at("sig[0]") == before.at("sig[0]"));
  BOOST_TEST(read_file(s.file("usr1")) == "usr1\n");
  BOOST_TEST(count_lines(log, "worker sig[0] (generation 2) reload: SIGUSR1 to pid " +
                                  std::to_string(before.at("sig[0]"))) == 1u);
  BOOST_TEST(after.at("restarted[0]") != before.at("restarted[0]"));
  BOOST_TEST(count_lines(log, "worker restarted: on_reload restart, one instance at a time") == 1u);
  for (const char* label : {"change[0]", "change[1]"}) {
    BOOST_TEST_CONTEXT(label) {
      BOOST_TEST(after.at(label) != before.at(label));
      BOOST_TEST(!alive(before.at(label)));
      BOOST_TEST(proc_environ(after.at(label))["VERSION"] == "2");
    }
  }
  BOOST_TEST(after.count("gone[0]") == 0u);
  BOOST_TEST(!alive(before.at("gone[0]")));
  BOOST_TEST(count_lines(log, "worker gone is no longer in the config: stopping it") == 1u);
  BOOST_TEST(after.count("added[0]") == 1u);
  BOOST_TEST(count_lines(log, "worker added is new in the config: starting it") == 1u);
  BOOST_TEST(after.size() == 6u);

  // One instance at a time: instance 0 is stopped, started and running again before
  // instance 1 is stopped.
  const auto lines = lines_of(log);
  const std::size_t announce =
      find_line(lines, "worker change changed: restarting it one instance at a time");
  const std::size_t stop0 = find_line(lines, "worker change[0] (generation 2) stopping: SIGTERM");
  const std::size_t stopped0 = find_line(lines, "worker change[0] (generation 2) stopped");
  const std::size_t start0 = find_line(lines, "worker change[0] (generation 2) started");
  const std::size_t run0 = find_line(lines, "worker change[0] (generation 2) running");
  const std::size_t stop1 = find_line(lines, "worker change[1] (generation 2) stopping: SIGTERM");
  const std::size_t start1 = find_line(lines, "worker change[1] (generation 2) started");
  BOOST_TEST_REQUIRE(announce != kNone);
  BOOST_TEST_REQUIRE(start1 != kNone);
  BOOST_TEST(announce < stop0);
  BOOST_TEST(stop0 < stopped0);
  BOOST_TEST(stopped0 < start0);
  BOOST_TEST(start0 < run0);
  BOOST_TEST(run0 < stop1);
  BOOST_TEST(stop1 < start1);
  BOOST_TEST(pid_in(lines[start0]) == after.at("change[0]"));
  BOOST_TEST(pid_in(lines[start1]) == after.at("change[1]"));
  check_no_zombies(d);

  // A reload that fails changes no process: same pids, nothing stopped, nobody signalled.
  const std::size_t stops = count_lines(d.log(), "stopping: ");
  s.dir.write("app.json",
              "{\"confvisor\": {\"segment\": \"" + s.seg.name() + "\", \"workers\": [\n");
  d.signal(SIGHUP);
  const std::string failed = d.wait_notify("READY=1");
  BOOST_TEST(contains(failed, "last reload: failed: "), failed);
  std::this_thread::sleep_for(300ms);  // long enough for a (wrong) restart to show
  BOOST_TEST(worker_pids(d.pid()) == after);
  BOOST_TEST(count_lines(d.log(), "stopping: ") == stops);
  BOOST_TEST(count_lines(d.log(), "reload failed: generation 2 stays published: ") == 1u);
  BOOST_TEST(read_file(s.file("usr1")) == "usr1\n");
  stop_and_check(d, s);
}

BOOST_AUTO_TEST_CASE(a_worker_writing_100_mb_is_drained_rate_limited_and_cut_at_4_kib) {
  Setup s;
  const std::string line99(99, 'x');  // with its newline, 100 bytes: 1,000,000 lines
  // The end-of-flood line comes after the flood's last one-second interval of the rate limit,
  // so it is logged, not counted.
  s.write_config({
      s.worker("flood", sh("yes " + line99 +
                           " | head -c 100000000; echo done > \"$T/DONE\"; sleep 1.2; "
                           "echo end-of-flood; exec sleep 1000")),
      // A 10000-character line twice: in one write (dd copies the file in a single read and
      // write), then in pieces with its newline 100 ms later, so each arrives as one read and
      // as several.
      s.worker("long",
               sh("head -c 10000 /dev/zero | tr '\\0' y > \"$T/line\"; echo >> \"$T/line\"; "
                  "dd if=\"$T/line\" bs=20000 count=1 status=none; "
                  "head -c 10000 \"$T/line\"; sleep 0.1; echo; "
                  "echo after-the-long-lines; exec sleep 1000")),
  });
  DaemonProcess d(s.dir, s.config_path());
  require_ready(d, 15s);
  // The daemon reads as fast as the worker writes (DONE comes only once the pipe took it
  // all), holding one line at most: its memory stays flat.
  BOOST_TEST_REQUIRE(wait_for_file(s.file("DONE"), 60s),
                     "the worker never finished writing 100 MB");
  require_log(d, "flood[0]: end-of-flood", 10s);
  require_log(d, "long[0]: after-the-long-lines", 10s);
  // VmHWM is the peak of VmRSS over the daemon's whole life.
  const long peak = std::atol(proc_status_field(d.pid(), "VmHWM").value_or("0").c_str());
  BOOST_TEST_MESSAGE("confvisord VmRSS peaked at " << peak << " KiB");
  BOOST_TEST(peak > 0);
#if !defined(__SANITIZE_ADDRESS__)
  // Under ASan the daemon's freed memory sits in the allocator's quarantine (up to 256 MiB),
  // so the bound holds only for the programs as they ship.
  BOOST_TEST(peak < 64 * 1024);
  BOOST_TEST(vm_rss_kib(d.pid()).value_or(0) < 64 * 1024);
#endif

  // Rate limited: most lines were counted, not logged, and every line is one or the other.
  const std::string log = d.log();
  const std::size_t logged = count_lines(log, "info: flood[0]: " + line99);
  unsigned long long suppressed = 0;
  for (const auto& l : log_lines(log, " output line(s) not logged (more than 1000 lines/s)")) {
    BOOST_TEST(contains(l, "warning: flood[0]: "), l);
    suppressed += std::strtoull(l.c_str() + l.find("flood[0]: ") + 10, nullptr, 10);
  }
  BOOST_TEST_MESSAGE(logged << " lines logged, " << suppressed << " counted");
  BOOST_TEST(suppressed > 0u);
  BOOST_TEST(logged < 200'000u);
  BOOST_TEST(logged + suppressed == 1'000'000u);

  // A 10000-character line is cut at 4 KiB and says so; the rest of it is dropped, the next
  // line is whole.
  BOOST_TEST(count_lines(log, "long[0]: " + std::string(4096, 'y') + " [line cut at 4 KiB]") == 2u,
             [&] {
               std::string all;
               for (const auto& l : log_lines(log, "long[0]"))
                 all += l.substr(0, 200) + " ... " + std::to_string(l.size()) + "\n";
               return all;
             }());
  BOOST_TEST(count_lines(log, "long[0]: y") == 2u);
  BOOST_TEST(count_lines(log, "long[0]: after-the-long-lines") == 1u);
  stop_and_check(d, s);
}

BOOST_AUTO_TEST_CASE(an_sd_notify_worker_is_ready_when_it_says_so) {
  Setup s;
  s.write_config(
      {s.worker("svc", {CONFVISOR_NOTIFY_WORKER, "ready-after", "500"}, {{"ready", "notify"}})});
  const auto t0 = Clock::now();
  DaemonProcess d(s.dir, s.config_path());
  const auto pids = [&] {
    require_log(d, "worker svc[0] (generation 1) started");
    return worker_pids(d.pid());
  }();
  require_ready(d, 15s);
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  BOOST_TEST(waited.count() >= 400, "READY=1 after " << waited.count() << " ms");
  const auto lines = lines_of(d.log());
  const std::size_t running = find_line(lines, "worker svc[0] (generation 1) running");
  const std::size_t ready =
      find_line(lines, "info: ready: generation 1, 1 of 1 worker instances running");
  BOOST_TEST_REQUIRE(running != kNone);
  BOOST_TEST_REQUIRE(ready != kNone);
  BOOST_TEST(running < ready);
  const std::size_t started = find_line(lines, "worker svc[0] (generation 1) started");
  BOOST_TEST(stamp_ms(lines[running]) - stamp_ms(lines[started]) >= 400);
  require_log(d, "svc[0]: notify_worker: ready");

  BOOST_TEST_REQUIRE(pids.count("svc[0]") == 1u);
  auto env = proc_environ(pids.at("svc[0]"));
  BOOST_TEST(env["NOTIFY_SOCKET"].rfind("@confvisor/" + s.seg.name() + "/notify/", 0) == 0u,
             env["NOTIFY_SOCKET"]);
  BOOST_TEST(env.count("WATCHDOG_USEC") == 0u);
  stop_and_check(d, s);
}

BOOST_AUTO_TEST_CASE(a_worker_whose_watchdog_pings_stop_is_killed_and_restarted) {
  Setup s;
  s.write_config({s.worker("dog", {CONFVISOR_NOTIFY_WORKER, "pings", "3", "100"},
                           {{"ready", "notify"}, {"watchdog", "300ms"}})});
  DaemonProcess d(s.dir, s.config_path());
  require_ready(d, 15s);
  const auto pids = worker_pids(d.pid());
  BOOST_TEST_REQUIRE(pids.count("dog[0]") == 1u, tail(d.log()));
  const pid_t first = pids.at("dog[0]");
  BOOST_TEST(proc_environ(first)["WATCHDOG_USEC"] == "300000");

  require_log(d,
              "worker dog[0] (generation 1) watchdog timeout: no WATCHDOG=1 for 300ms; killing "
              "process group " +
                  std::to_string(first));
  require_log(d, "worker dog[0] (generation 1) started", 10s, 2);
  const auto lines = lines_of(d.log());
  const std::size_t started = find_line(lines, "worker dog[0] (generation 1) started");
  const std::size_t timeout = find_line(lines, "watchdog timeout");
  const std::size_t failed = find_line(
      lines, "worker dog[0] (generation 1) failed (killed by SIGKILL); restarting in 50ms");
  BOOST_TEST_REQUIRE(failed != kNone);
  BOOST_TEST(timeout < failed);
  // Three pings 100ms apart kept it alive past one watchdog period: timeout after ~600ms.
  BOOST_TEST(stamp_ms(lines[timeout]) - stamp_ms(lines[started]) >= 500);
  BOOST_TEST(!alive(first));
  stop_and_check(d, s);
}

BOOST_AUTO_TEST_CASE(a_workers_status_shows_in_the_daemons_debug_log) {
  Setup s;
  s.write_config({s.worker("talker", {CONFVISOR_NOTIFY_WORKER, "status", "serving 42 requests"},
                           {{"ready", "notify"}})});
  DaemonProcess d(s.dir, s.config_path());
  require_ready(d, 15s);
  require_log(d, "debug: worker talker[0] (generation 1) status: serving 42 requests");
  stop_and_check(d, s);
}

BOOST_AUTO_TEST_CASE(workers_die_with_a_daemon_killed_by_sigkill) {
  Setup s;
  s.write_config({
      s.worker("a", {"/bin/sleep", "1000"}, {{"instances", 3}}),
      s.worker("b", sh("trap '' TERM; exec /bin/sleep 1000")),
  });
  DaemonProcess d(s.dir, s.config_path());
  require_ready(d, 15s);
  BOOST_TEST_REQUIRE(pids_with_env(kMark, s.mark()).size() == 4u);
  d.signal(SIGKILL);
  BOOST_TEST(WTERMSIG(d.wait_exit()) == SIGKILL);
  const auto left = wait_no_pids_with_env(kMark, s.mark(), 2s);
  BOOST_TEST(left.empty(), "workers outlived the killed daemon: " << describe_pids(left));
}

BOOST_AUTO_TEST_CASE(workers_get_the_documented_environment_and_their_output_is_logged) {
  Setup s;
  s.write_config({
      s.worker("envdump",
               sh("env > \"$T/env.tmp\" && mv \"$T/env.tmp\" \"$T/env\"; echo hello; exec "
                  "/bin/sleep 1000"),
               {{"env", json::object{{"GREETING", "hi there"}}}}),
      s.worker("bare", {"/bin/sleep", "1000"},
               {{"instances", 2}, {"env", json::object{{"GREETING", "hi there"}}}}),
  });
  DaemonProcess d(s.dir, s.config_path(), {"CONFVISOR_TEST_DAEMON_ONLY=must-not-leak"});
  require_ready(d, 15s);
  require_log(d, "info: envdump[0]: hello");
  BOOST_TEST_REQUIRE(wait_for_file(s.file("env"), 10s));
  std::map<std::string, std::string> dumped;
  for (const auto& line : lines_of(read_file(s.file("env")))) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) dumped[line.substr(0, eq)] = line.substr(eq + 1);
  }
  BOOST_TEST(dumped["PATH"] == kBasePath);
  BOOST_TEST(dumped["CONFVISOR_SEGMENT"] == s.seg.name());
  BOOST_TEST(dumped["CONFVISOR_WORKER"] == "envdump");
  BOOST_TEST(dumped["CONFVISOR_INSTANCE"] == "0");
  BOOST_TEST(dumped["GREETING"] == "hi there");
  BOOST_TEST(dumped.count("NOTIFY_SOCKET") == 0u);
  BOOST_TEST(dumped.count("WATCHDOG_USEC") == 0u);
  BOOST_TEST(dumped.count("CONFVISOR_TEST_DAEMON_ONLY") == 0u);

  // Exactly what the daemon passed to execve: the base, the CONFVISOR_* variables (the ack
  // socket's included), the spec's env.
  const auto pids = worker_pids(d.pid());
  BOOST_TEST_REQUIRE(pids.count("bare[1]") == 1u);
  auto env = proc_environ(pids.at("bare[1]"));
  std::set<std::string> names;
  for (const auto& [k, v] : env) names.insert(k);
  const std::set<std::string> expected{"CONFVISOR_ACK_SOCKET",
                                       "CONFVISOR_INSTANCE",
                                       "CONFVISOR_SEGMENT",
                                       "CONFVISOR_TEST_MARK",
                                       "CONFVISOR_WORKER",
                                       "GREETING",
                                       "HOME",
                                       "LANG",
                                       "LOGNAME",
                                       "PATH",
                                       "SHELL",
                                       "T",
                                       "USER"};
  BOOST_TEST(names == expected, boost::test_tools::per_element());
  BOOST_TEST(env["CONFVISOR_INSTANCE"] == "1");
  BOOST_TEST(env["CONFVISOR_WORKER"] == "bare");
  BOOST_TEST(env["CONFVISOR_ACK_SOCKET"].starts_with("@confvisor/"));
  BOOST_TEST(env["CONFVISOR_ACK_SOCKET"].ends_with("/ack/" + std::to_string(d.pid())));
  const passwd* me = ::getpwuid(::geteuid());
  BOOST_TEST_REQUIRE(me != nullptr);
  BOOST_TEST(env["USER"] == me->pw_name);
  BOOST_TEST(env["LOGNAME"] == me->pw_name);
  BOOST_TEST(env["HOME"] == me->pw_dir);
  const char* lang = std::getenv("LANG");
  BOOST_TEST(env["LANG"] == (lang != nullptr ? lang : "C.UTF-8"));
  stop_and_check(d, s);
}

namespace {
boost::test_tools::assertion_result running_as_root(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result r(::geteuid() == 0);
  r.message() << "switching users needs root";
  return r;
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_worker_runs_as_its_configured_user,
                     *boost::unit_test::precondition(running_as_root)) {
  const passwd* nobody = ::getpwnam("nobody");
  BOOST_TEST_REQUIRE(nobody != nullptr);
  BOOST_TEST_REQUIRE(nobody->pw_uid == 65534u);
  const std::string uid = std::to_string(nobody->pw_uid), gid = std::to_string(nobody->pw_gid);
  const std::string home = nobody->pw_dir;
  Setup s;
  s.write_config({s.worker("unpriv", {"/bin/sleep", "1000"}, {{"user", "nobody"}})});
  DaemonProcess d(s.dir, s.config_path());
  require_ready(d, 15s);
  const auto pids = worker_pids(d.pid());
  BOOST_TEST_REQUIRE(pids.count("unpriv[0]") == 1u, tail(d.log()));
  const pid_t pid = pids.at("unpriv[0]");
  BOOST_TEST(proc_status_field(pid, "Uid").value_or("") ==
             "\t" + uid + "\t" + uid + "\t" + uid + "\t" + uid);
  BOOST_TEST(proc_status_field(pid, "Gid").value_or("") ==
             "\t" + gid + "\t" + gid + "\t" + gid + "\t" + gid);
  auto env = proc_environ(pid);
  BOOST_TEST(env["USER"] == "nobody");
  BOOST_TEST(env["HOME"] == home);
  stop_and_check(d, s);
}
