// Process tracking (daemon/supervise/process_tracking.hpp) on the real daemon: workers that leave
// their process group, their session or their environment, a daemon SIGKILLed under them,
// and the next daemon of the segment, which must end all of it before it is ready; limits
// and how they are refused. Each case that both modes share runs in both: cgroup v2 where
// this machine lets the test write it (skipped with a message where not), and the
// subreaper fallback (CONFVISOR_TRACKING=subreaper).
#define BOOST_TEST_MODULE cgroup
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "daemon/config/model.hpp"
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

enum class Mode { cgroup, subreaper };

std::ostream& operator<<(std::ostream& out, Mode m) {
  return out << (m == Mode::cgroup ? "cgroup" : "subreaper");
}

// Whether this test may create cgroups below its own (root, or a delegated cgroup).
bool cgroups_writable() {
  const std::string tree = cgroup_tree("probe");
  if (tree.empty()) return false;
  const std::string own = tree.substr(0, tree.rfind('/'));
  return ::access((own + "/cgroup.procs").c_str(), W_OK) == 0;
}

// The controllers a worker's cgroup could get here.
bool controller_available(const std::string& name) {
  if (!cgroups_writable()) return false;
  const std::string tree = cgroup_tree("probe");
  std::istringstream in(read_file(tree.substr(0, tree.rfind('/')) + "/cgroup.controllers"));
  for (std::string word; in >> word;) {
    if (word == name) return true;
  }
  return false;
}

// False (and says why in the test log) when `mode` cannot run on this machine.
bool mode_runs_here(Mode mode) {
  if (mode == Mode::subreaper || cgroups_writable()) return true;
  BOOST_TEST_MESSAGE("skipped: no writable cgroup2 hierarchy here (not root, no delegation)");
  return false;
}

std::vector<std::string> env_for(Mode mode) {
  return {mode == Mode::cgroup ? "CONFVISOR_TRACKING=cgroup" : "CONFVISOR_TRACKING=subreaper"};
}

std::vector<std::string> sh(const std::string& script) {
  return {"/bin/sh", "-c", script};
}

// The test's live processes (by their mark) that run `cmdline`.
std::vector<pid_t> live_with_cmdline(const std::string& mark, const std::string& cmdline) {
  std::vector<pid_t> out;
  for (pid_t pid : pids_with_env(kMark, mark)) {
    if (alive(pid) && proc_cmdline(pid) == cmdline) out.push_back(pid);
  }
  return out;
}

// One test's world: a segment, a temp dir, a config. Whatever the test started is killed
// when it goes, pass or fail: the processes it recorded, those with its mark, and the
// cgroup tree of its segment.
struct Setup {
  SegmentGuard seg{"cg"};
  TempDir dir;
  std::vector<ProcessId> recorded;
  std::vector<std::string> cgroups;  // made by the test itself

  Setup() = default;
  Setup(const Setup&) = delete;
  Setup& operator=(const Setup&) = delete;
  ~Setup() {
    kill_all(recorded);
    kill_pids_with_env(kMark, mark());
    remove_cgroup_tree(seg.name());
    for (const auto& c : cgroups) kill_and_remove_cgroup(c);
  }

  [[nodiscard]] const std::string& mark() const { return seg.name(); }
  [[nodiscard]] std::string file(const std::string& name) const { return dir.path() + "/" + name; }
  [[nodiscard]] std::string config_path() const { return file("app.json"); }

  [[nodiscard]] json::object worker(const std::string& name,
                                    const std::vector<std::string>& command,
                                    const json::object& extra = {}) const {
    json::object w{{"name", name}, {"start_window", "100ms"}, {"stop_timeout", "500ms"}};
    json::array argv;
    for (const auto& a : command) argv.emplace_back(a);
    w["command"] = std::move(argv);
    w["backoff"] = json::object{{"initial", "50ms"}, {"max", "400ms"}};
    w["env"] = json::object{{kMark, mark()}, {"T", dir.path()}};
    for (const auto& [key, value] : extra) w[key] = value;
    return w;
  }

  std::string write_config(const std::vector<json::object>& workers) const {
    json::array list;
    for (const auto& w : workers) list.emplace_back(w);
    json::object doc{{"confvisor", json::object{{"segment", seg.name()},
                                                {"socket", dir.path() + "/ctl.sock"},
                                                {"workers", std::move(list)}}}};
    return dir.write("app.json", json::serialize(doc) + "\n");
  }
};

// A tree of 50 processes: the worker's shell, 7 shells, 6 sleeps under each.
constexpr const char* kForkTree =
    "for i in 1 2 3 4 5 6 7; do sh -c 'for j in 1 2 3 4 5 6; do sleep 1000 & done; wait' & done; "
    "wait";
// A session of its own whose processes stay: setsid sh -> sh -> sleep.
constexpr const char* kSetsidTree =
    "setsid sh -c 'sh -c \"sleep 1000 & echo \\$! > \\\"\\$T/ss.pid\\\"; wait\"; wait'";

std::vector<json::object> tree_of_workers(const Setup& s) {
  return {
      s.worker("wrap", {"/bin/sh", "-c", "/bin/sleep 4242; :"}, {{"instances", 2}}),
      s.worker("df", sh("setsid sh -c 'sleep 1000 & echo $! > \"$T/df.pid\"'; exec sleep 1000")),
      s.worker("ss", sh(kSetsidTree)),
      s.worker("tree", sh(kForkTree)),
      s.worker("wiped", sh("setsid env -i /bin/sleep 1000 & echo $! > \"$T/wiped.pid\"; wait")),
  };
}

const std::set<std::string> kTreeLabels{"wrap[0]", "wrap[1]", "df[0]",
                                        "ss[0]",   "tree[0]", "wiped[0]"};

// Waits until the fork tree has all its 50 processes.
void wait_for_fork_tree(const Setup& s) {
  const auto deadline = Clock::now() + 10s;
  for (;;) {
    std::size_t n = 0;
    for (pid_t pid : pids_with_env(kMark, s.mark()))
      n += proc_environ(pid)["CONFVISOR_WORKER"] == "tree";
    if (n >= 50) return;
    if (Clock::now() >= deadline) BOOST_FAIL("the fork tree has only " << n << " processes");
    std::this_thread::sleep_for(10ms);
  }
}

std::vector<ProcessId> still_alive(const std::vector<ProcessId>& ids) {
  std::vector<ProcessId> out;
  for (const auto& id : ids) {
    if (alive(id)) out.push_back(id);
  }
  return out;
}

std::string describe(const std::vector<ProcessId>& ids) {
  std::vector<pid_t> pids;
  for (const auto& id : ids) pids.push_back(id.pid);
  return describe_pids(pids);
}

}  // namespace

BOOST_DATA_TEST_CASE(a_daemon_killed_under_a_tree_of_workers_leaves_nothing_once_the_next_is_ready,
                     boost::unit_test::data::make({Mode::cgroup, Mode::subreaper}), mode) {
  if (!mode_runs_here(mode)) return;
  Setup s;
  s.write_config(tree_of_workers(s));
  std::vector<ProcessId> old_tree;
  pid_t wiped = 0;
  {
    DaemonProcess first(s.dir, s.config_path(), env_for(mode));
    require_ready(first, 20s);
    pid_from_file(s.file("df.pid"));
    pid_from_file(s.file("ss.pid"));
    wiped = pid_from_file(s.file("wiped.pid"));
    wait_for_fork_tree(s);
    BOOST_TEST_REQUIRE(wait_for_cmdline(wiped, "/bin/sleep 1000", 5s), proc_cmdline(wiped));
    BOOST_TEST_REQUIRE(proc_environ(wiped).empty(), "env -i left an environment");
    // The daemon is a subreaper: every process of its workers is its descendant.
    old_tree = descendants(first.pid());
    s.recorded = old_tree;
    BOOST_TEST_REQUIRE(old_tree.size() >= 60u, describe(old_tree));
    first.signal(SIGKILL);
    BOOST_TEST_REQUIRE(WTERMSIG(first.wait_exit()) == SIGKILL);
  }
  // The main processes die with the daemon (PDEATHSIG); what they started does not.
  const auto wait_settled = Clock::now() + 500ms;
  while (Clock::now() < wait_settled) std::this_thread::sleep_for(20ms);
  const std::vector<ProcessId> survivors = still_alive(old_tree);
  BOOST_TEST_REQUIRE(survivors.size() >= 50u, "survivors: " << describe(survivors));
  BOOST_TEST_REQUIRE(live_with_cmdline(s.mark(), "/bin/sleep 4242").size() == 2u);

  DaemonProcess second(s.dir, s.config_path(), env_for(mode));
  require_ready(second, 20s);
  // Checked the moment the daemon says it is ready: nothing is waited for.
  const std::vector<ProcessId> left = still_alive(old_tree);
  const std::string log = second.log();
  if (mode == Mode::cgroup) {
    BOOST_TEST(left.empty(), "left of the old tree at READY=1: " << describe(left) << "\n"
                                                                 << tail(log));
    for (const ProcessId& id : survivors) {
      BOOST_TEST(contains(log, " " + std::to_string(id.pid) + " ("),
                 "pid " << id.pid << " not logged");
    }
    BOOST_TEST(contains(log, "left in cgroup " + cgroup_tree(s.seg.name()) + "/wiped.0"));
  } else {
    // What the fallback cannot see: the process that wiped its environment.
    BOOST_TEST(left.size() == 1u, describe(left));
    BOOST_TEST((left.size() == 1u && left.front().pid == wiped), describe(left));
    for (const ProcessId& id : survivors) {
      if (id.pid != wiped)
        BOOST_TEST(contains(log, "killing pid " + std::to_string(id.pid) + " ("));
    }
  }
  // Exactly one copy of each worker: its instances are the new daemon's, and nothing else
  // of the test's runs outside the new daemon's tree.
  std::set<std::string> labels;
  for (const auto& [label, pid] : worker_pids(second.pid())) labels.insert(label);
  BOOST_TEST((labels == kTreeLabels));
  wait_for_fork_tree(s);
  std::set<pid_t> ours;
  for (const ProcessId& id : descendants(second.pid())) ours.insert(id.pid);
  for (pid_t pid : pids_with_env(kMark, s.mark())) {
    BOOST_TEST(ours.count(pid) == 1u,
               "pid " << pid << " (" << proc_cmdline(pid) << ") runs outside the new daemon");
  }
  BOOST_TEST(live_with_cmdline(s.mark(), "/bin/sleep 4242").size() <= 2u);

  second.signal(SIGTERM);
  BOOST_TEST(exit_code(second.wait_exit(15s)) == 0, tail(second.log()));
  const auto orphans = wait_no_pids_with_env(kMark, s.mark(), 2s);
  BOOST_TEST(orphans.empty(), describe_pids(orphans));
  if (mode == Mode::cgroup) {
    BOOST_TEST(!fs::exists(cgroup_tree(s.seg.name())), "the tree outlived a clean stop");
  }
}

BOOST_AUTO_TEST_CASE(a_leftover_that_wiped_its_environment_goes_with_its_worker) {
  if (!mode_runs_here(Mode::cgroup)) return;
  Setup s;
  s.write_config({s.worker(
      "w", sh("setsid env -i /bin/sleep 1000 & echo $! > \"$T/e.pid\"; sleep 0.3; exit 3"),
      {{"restart_limit", json::object{{"count", 100}, {"period", "10s"}}}})});
  DaemonProcess d(s.dir, s.config_path(), env_for(Mode::cgroup));
  require_ready(d, 20s);
  const pid_t first = pid_from_file(s.file("e.pid"));
  const auto id = process_id(first);
  BOOST_TEST_REQUIRE(id.has_value());
  s.recorded.push_back(*id);
  require_log(d, "worker w[0] (generation 1) failed (exit code 3)");
  BOOST_TEST(wait_dead(first, 2s), "the env -i leftover " << first << " survived its worker");
  BOOST_TEST(contains(d.log(),
                      "killing pid " + std::to_string(first) + ", left behind by w[0] in cgroup"));
  d.signal(SIGTERM);
  BOOST_TEST(exit_code(d.wait_exit(15s)) == 0, tail(d.log()));
}

BOOST_DATA_TEST_CASE(status_names_the_mode_and_each_instances_cgroup,
                     boost::unit_test::data::make({Mode::cgroup, Mode::subreaper}), mode) {
  if (!mode_runs_here(mode)) return;
  Setup s;
  s.write_config({s.worker("api", {"/bin/sleep", "1000"}, {{"instances", 2}})});
  DaemonProcess d(s.dir, s.config_path(), env_for(mode));
  require_ready(d, 20s);
  Child ctl({bin("confvisorctl"), "--socket", s.dir.path() + "/ctl.sock", "status", "--json"}, {},
            false, s.file("status.json"));
  BOOST_TEST_REQUIRE(exit_code(ctl.wait_for(10s)) == 0);
  const json::object status = json::parse(read_file(s.file("status.json"))).as_object();
  const std::string tracking(status.at("process_tracking").as_string());
  const std::string tree = cgroup_tree(s.seg.name());
  for (const json::value& v : status.at("workers").as_array()) {
    const json::object& i = v.as_object();
    const auto instance = i.at("instance").to_number<int>();
    if (mode == Mode::cgroup) {
      const std::string expected = tree + "/api." + std::to_string(instance);
      BOOST_TEST(i.at("cgroup").as_string() == expected);
      // The kernel agrees: the main process is in that cgroup.
      const auto pid = i.at("pid").to_number<pid_t>();
      BOOST_TEST(expected.ends_with(cgroup_of(pid)), cgroup_of(pid));
    } else {
      BOOST_TEST(i.at("cgroup").is_null());
    }
    BOOST_TEST((i.at("memory_current").is_null() || i.at("memory_current").is_number()));
  }
  if (mode == Mode::cgroup) {
    BOOST_TEST(tracking == "cgroup " + tree);
  } else {
    BOOST_TEST(tracking == "subreaper (fallback): CONFVISOR_TRACKING=subreaper");
  }
  Child table({bin("confvisorctl"), "--socket", s.dir.path() + "/ctl.sock", "status"}, {}, false,
              s.file("status.txt"));
  BOOST_TEST_REQUIRE(exit_code(table.wait_for(10s)) == 0);
  BOOST_TEST(contains(read_file(s.file("status.txt")), "process tracking: " + tracking + "\n"));
  d.signal(SIGTERM);
  BOOST_TEST(exit_code(d.wait_exit(15s)) == 0, tail(d.log()));
}

BOOST_AUTO_TEST_CASE(a_limit_without_its_controller_is_refused_by_check_with_its_pointer) {
  Setup s;
  s.write_config({s.worker(
      "api", {"/bin/sleep", "1000"},
      {{"limits",
        json::object{{"memory_max", "512MiB"}, {"tasks_max", 200}, {"cpu_weight", 100}}}})});
  Child check({bin("confvisord"), "--check", "--config", s.config_path()},
              {"CONFVISOR_TRACKING=subreaper"}, false, s.file("check.txt"));
  BOOST_TEST(exit_code(check.wait_for(10s)) == 1);
  const std::string out = read_file(s.file("check.txt"));
  for (const char* key : {"memory_max", "tasks_max", "cpu_weight"}) {
    BOOST_TEST(
        contains(out, s.config_path() + ": /confvisor/workers/0/limits/" + key + ": needs the "),
        out);
  }
  BOOST_TEST(contains(out, "CONFVISOR_TRACKING=subreaper"), out);
  // In the mode this machine gives, each missing controller is named with its cgroup.
  for (const auto& [key, controller] : std::vector<std::pair<std::string, std::string>>{
           {"memory_max", "memory"}, {"tasks_max", "pids"}, {"cpu_weight", "cpu"}}) {
    if (controller_available(controller)) continue;
    Child auto_check({bin("confvisord"), "--check", "--config", s.config_path()},
                     {"CONFVISOR_TRACKING"}, false, s.file("auto-" + key + ".txt"));
    BOOST_TEST(exit_code(auto_check.wait_for(10s)) == 1);
    BOOST_TEST(contains(
        read_file(s.file("auto-" + key + ".txt")),
        "/confvisor/workers/0/limits/" + key + ": needs the " + controller + " controller"));
  }
}

BOOST_AUTO_TEST_CASE(limits_are_checked_for_their_values_and_keys) {
  using confvisor::config::load_config_text;
  auto errors = [](const std::string& limits) {
    const std::string text = R"({"confvisor": {"segment": "x", "workers": [{"name": "w",
        "command": ["/bin/true"], "limits": )" +
                             limits + "}]}}";
    return load_config_text(text, "f.json").errors;
  };
  auto has = [](const std::vector<std::string>& lines, const std::string& needle) {
    for (const auto& l : lines) {
      if (contains(l, needle)) return true;
    }
    return false;
  };
  BOOST_TEST(errors("{}").empty());
  BOOST_TEST(has(errors(R"({"tasks_max": 0})"),
                 "f.json: /confvisor/workers/0/limits/tasks_max: expected an integer from 1"));
  BOOST_TEST(has(errors(R"({"cpu_weight": 20000})"),
                 "/confvisor/workers/0/limits/cpu_weight: expected an integer from 1 to 10000"));
  BOOST_TEST(has(errors(R"({"memory_max": "lots"})"), "/confvisor/workers/0/limits/memory_max: "));
  BOOST_TEST(has(errors(R"({"memory_max": 100})"),
                 "/confvisor/workers/0/limits/memory_max: expected a size of at least 4KiB"));
  BOOST_TEST(
      has(errors(R"({"memory": "1GiB"})"), "/confvisor/workers/0/limits/memory: unknown key"));
  BOOST_TEST(has(errors(R"("512MiB")"), "/confvisor/workers/0/limits: expected an object"));
}

BOOST_AUTO_TEST_CASE(a_reload_with_a_limit_without_its_controller_changes_nothing) {
  if (controller_available("pids")) {
    BOOST_TEST_MESSAGE("skipped: the pids controller is available here, so tasks_max is valid");
    return;
  }
  Setup s;
  const auto api = s.worker("api", {"/bin/sleep", "1000"});
  s.write_config({api});
  DaemonProcess d(s.dir, s.config_path());
  require_ready(d, 20s);
  const auto before = worker_pids(d.pid());
  json::object limited = api;
  limited["limits"] = json::object{{"tasks_max", 10}};
  s.write_config({limited});
  d.signal(SIGHUP);
  require_log(d, "reload failed: generation 1 stays published");
  BOOST_TEST(contains(d.log(), "/confvisor/workers/0/limits/tasks_max: needs the pids controller"),
             tail(d.log()));
  BOOST_TEST((worker_pids(d.pid()) == before));
  d.signal(SIGTERM);
  BOOST_TEST(exit_code(d.wait_exit(15s)) == 0, tail(d.log()));
}

BOOST_AUTO_TEST_CASE(an_instance_over_memory_max_is_oom_killed_and_restarted) {
  if (!controller_available("memory")) {
    BOOST_TEST_MESSAGE(
        "skipped: the memory controller is not available to this cgroup "
        "(on hybrid hosts it belongs to cgroup v1), so memory_max cannot be enforced");
    return;
  }
  Setup s;
  // tail buffers the one endless line it reads: its memory grows until the kernel stops it.
  s.write_config(
      {s.worker("hog", sh("head -c 1073741824 /dev/zero | tail -n 1 > /dev/null"),
                {{"limits", json::object{{"memory_max", "32MiB"}}}, {"restart", "on-failure"}})});
  DaemonProcess d(s.dir, s.config_path(), env_for(Mode::cgroup));
  require_log(d, "worker hog[0] (generation 1) failed (killed by SIGKILL); restarting in", 30s);
  require_log(d, "worker hog[0] (generation 1) started", 10s);
  BOOST_TEST(read_file(cgroup_tree(s.seg.name()) + "/hog.0/memory.max") == "33554432\n");
  d.signal(SIGTERM);
  BOOST_TEST(exit_code(d.wait_exit(15s)) == 0, tail(d.log()));
}

// A child that cannot join its cgroup never runs the worker outside it: the failing step
// and its errno come back through the spawn report pipe, and the start counts as failed. A
// cgroup created below a threaded sibling is "domain invalid", and joining it fails.
BOOST_AUTO_TEST_CASE(a_child_that_cannot_join_its_cgroup_is_reported_and_never_runs) {
  if (!mode_runs_here(Mode::cgroup)) return;
  Setup s;
  s.write_config({s.worker("w", sh("echo run >> \"$T/runs\"; sleep 0.2; exit 1"),
                           {{"backoff", json::object{{"initial", "1s"}, {"max", "1s"}}},
                            {"restart_limit", json::object{{"count", 100}, {"period", "10s"}}}})});
  DaemonProcess d(s.dir, s.config_path(), env_for(Mode::cgroup));
  require_log(d, "worker w[0] (generation 1) failed (exit code 1); restarting in 1s");
  const std::string tree = cgroup_tree(s.seg.name());
  const std::string blocker = tree + "/threaded-sibling";
  BOOST_TEST_REQUIRE(::mkdir(blocker.c_str(), 0755) == 0);
  { std::ofstream(blocker + "/cgroup.type") << "threaded"; }
  BOOST_TEST_REQUIRE(read_file(blocker + "/cgroup.type") == "threaded\n");
  require_log(d, "unable to start w[0]: join cgroup " + tree + "/w.0: ", 5s);
  const std::size_t runs = read_file(s.file("runs")).size();
  BOOST_TEST(runs == std::string("run\n").size(), "the worker ran without its cgroup");
  ::rmdir(blocker.c_str());
  // Once the sibling is gone, the next start joins and runs.
  const auto deadline = Clock::now() + 10s;
  while (read_file(s.file("runs")).size() < 2 * std::string("run\n").size() &&
         Clock::now() < deadline) {
    d.drain_notifications();
    std::this_thread::sleep_for(10ms);
  }
  d.signal(SIGTERM);
  BOOST_TEST(exit_code(d.wait_exit(15s)) == 0, tail(d.log()));
  BOOST_TEST(read_file(s.file("runs")).size() >= 2 * std::string("run\n").size(), tail(d.log()));
}

// As under systemd: a daemon alone in its cgroup moves to the leaf TREE/confvisord (so that
// its cgroup could hand controllers down), its workers run in TREE/NAME.INDEX, and the next
// daemon started in the same cgroup finds and ends what the dead one left.
BOOST_AUTO_TEST_CASE(
    a_daemon_alone_in_its_cgroup_moves_to_a_leaf_and_its_successor_finds_the_tree) {
  if (!mode_runs_here(Mode::cgroup)) return;
  Setup s;
  const std::string own = cgroup_tree(s.seg.name()).substr(0, cgroup_tree(s.seg.name()).rfind('/'));
  const std::string unit = own + "/unit." + s.seg.name();
  BOOST_TEST_REQUIRE(::mkdir(unit.c_str(), 0755) == 0);
  s.cgroups.push_back(unit);
  s.write_config({s.worker("wrap", {"/bin/sh", "-c", "/bin/sleep 4242; :"})});
  pid_t sleeper = 0;
  {
    DaemonProcess first(s.dir, s.config_path(), env_for(Mode::cgroup), bin("confvisord"), unit);
    require_ready(first, 20s);
    BOOST_TEST(contains(first.log(),
                        "moved into cgroup " + unit + "/confvisor." + s.seg.name() + "/confvisord"),
               tail(first.log()));
    BOOST_TEST(
        cgroup_of(first.pid())
            .ends_with("/unit." + s.seg.name() + "/confvisor." + s.seg.name() + "/confvisord"),
        cgroup_of(first.pid()));
    const auto workers = worker_pids(first.pid());
    BOOST_TEST_REQUIRE(workers.count("wrap[0]") == 1u);
    BOOST_TEST(
        cgroup_of(workers.at("wrap[0]")).ends_with("/confvisor." + s.seg.name() + "/wrap.0"));
    const auto deadline = Clock::now() + 5s;
    while (live_with_cmdline(s.mark(), "/bin/sleep 4242").empty() && Clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
    BOOST_TEST_REQUIRE(live_with_cmdline(s.mark(), "/bin/sleep 4242").size() == 1u);
    sleeper = live_with_cmdline(s.mark(), "/bin/sleep 4242").front();
    s.recorded.push_back(process_id(sleeper).value_or(ProcessId{}));
    first.signal(SIGKILL);
    BOOST_TEST_REQUIRE(WTERMSIG(first.wait_exit()) == SIGKILL);
  }
  BOOST_TEST_REQUIRE(alive(s.recorded.front()), "the sleep died with the daemon: nothing to find");
  DaemonProcess second(s.dir, s.config_path(), env_for(Mode::cgroup), bin("confvisord"), unit);
  require_ready(second, 20s);
  BOOST_TEST(!alive(s.recorded.front()), "the old sleep " << sleeper << " is alive at READY=1");
  BOOST_TEST(
      contains(second.log(), "left in cgroup " + unit + "/confvisor." + s.seg.name() + "/wrap.0"),
      tail(second.log()));
  BOOST_TEST(live_with_cmdline(s.mark(), "/bin/sleep 4242").size() <= 1u);
  second.signal(SIGTERM);
  BOOST_TEST(exit_code(second.wait_exit(15s)) == 0, tail(second.log()));
}
