// The daemon's one event loop never blocks: a config path that is a FIFO, a service manager
// that never reads its notifications, a publisher stopped while it holds the segment's writer
// lock, a publish beside the daemon. Each case runs the
// real confvisord and confvisorctl, a real FIFO, a really SIGSTOPped process holding the real
// lock, and checks what an operator depends on meanwhile: status answers within 1 s, a killed
// worker is restarted, SIGTERM exits 0. Also: the shipped programs ignore the test seams.
#define BOOST_TEST_MODULE event_loop
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <sstream>
#include <thread>

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

// Bounds every command a test runs: a program that blocks is killed after 20 s (exit 137)
// and fails the test instead of hanging it.
RunResult run_bounded(std::vector<std::string> argv, const std::vector<std::string>& env = {}) {
  argv.insert(argv.begin(), {"/usr/bin/timeout", "-s", "KILL", "20"});
  return run(argv, env);
}

// A daemon config with one worker (/bin/sleep) and its own control socket.
struct Setup {
  SegmentGuard seg{"loop"};
  TempDir dir;
  [[nodiscard]] std::string socket() const { return dir.path() + "/ctl.sock"; }
  [[nodiscard]] std::string path() const { return dir.path() + "/app.json"; }
  std::string write(int version) const {
    return dir.write("app.json", "{\"confvisor\": {\"segment\": \"" + seg.name() +
                                     "\", \"socket\": \"" + socket() +
                                     "\",\n  \"workers\": [{\"name\": \"sleeper\", \"command\": "
                                     "[\"/bin/sleep\", \"1000\"], \"start_window\": \"100ms\"}]},\n"
                                     " \"app\": {\"version\": " +
                                     std::to_string(version) + "}}\n");
  }
  // A document for `confvisorctl publish`, told apart by /app/version.
  std::string write_other(int version) const {
    return dir.write("other.json", "{\"app\": {\"version\": " + std::to_string(version) + "}}");
  }
};

RunResult ctl(DaemonProcess& d, const Setup& s, std::vector<std::string> args) {
  args.insert(args.begin(), {"--socket", s.socket()});
  return confvisorctl(d, args, {"/usr/bin/timeout", "-s", "KILL", "20"});
}

// Whether an instance is FATAL or in BACKOFF: `status` then exits 5 instead of 0.
bool any_worker_down(const json::object& status) {
  for (const json::value& w : status.at("workers").as_array()) {
    const json::value& state = w.at("state");
    if (state == "FATAL" || state == "BACKOFF") return true;
  }
  return false;
}

// `confvisorctl status --json`, which must answer within 1 s. A killed worker passes through
// BACKOFF before its restart, so exit 5 is right exactly while an instance is down.
json::object status_within_1s(DaemonProcess& d, const Setup& s) {
  const auto start = std::chrono::steady_clock::now();
  const RunResult r = ctl(d, s, {"status", "--json", "--timeout", "1s"});
  const auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST_REQUIRE((r.exit_code() == 0 || r.exit_code() == 5), r.output);
  BOOST_TEST(took < 1s, "status took "
                            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                            << " ms");
  json::error_code ec;
  json::value v = json::parse(r.output, ec);
  BOOST_TEST_REQUIRE(!ec, "not one JSON document: " << r.output);
  BOOST_TEST(r.exit_code() == (any_worker_down(v.as_object()) ? 5 : 0), r.output);
  return v.as_object();
}

pid_t worker_pid(const json::object& status) {
  const json::array& workers = status.at("workers").as_array();
  if (workers.empty()) return 0;
  const json::object& w = workers.at(0).as_object();
  if (w.at("state").as_string() != "RUNNING" || w.at("pid").is_null()) return 0;
  return w.at("pid").to_number<pid_t>();
}

// Polls status until the worker runs with a pid other than `old` (0: any), at most 10 s.
pid_t wait_for_worker(DaemonProcess& d, const Setup& s, pid_t old) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    const pid_t pid = worker_pid(status_within_1s(d, s));
    if (pid != 0 && pid != old) return pid;
    std::this_thread::sleep_for(50ms);
  }
  BOOST_FAIL("the worker was not (re)started within 10 s; the daemon's log:\n" << d.log());
  return 0;
}

bool is_zombie_or_gone(pid_t pid) {
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  return stat.empty() || (close != std::string::npos && stat.substr(close + 2, 1) == "Z");
}

// A `confvisorctl publish` (the seams twin) stopped by SIGSTOP right after it took the
// segment's writer lock, as one suspended by Ctrl-Z at the wrong moment. SIGKILLed when it
// goes out of scope if still there.
class StoppedPublisher {
 public:
  StoppedPublisher(const Setup& s, const std::string& file, bool force)
      : output_(s.dir.path() + "/publisher.log"),
        process_(
            [&] {
              std::vector<std::string> argv{seams_bin("confvisorctl"), "publish", file, "--segment",
                                            s.seg.name()};
              if (force) argv.push_back("--force");
              return argv;
            }(),
            {"CONFVISOR_TEST_STOP_AT=publish:locked", "CONFVISOR_TEST_CRASH_AT"}, false, output_) {
    // Returns once it has stopped (or exited, which fails the test).
    siginfo_t info{};
    BOOST_TEST_REQUIRE(::waitid(P_PID, static_cast<id_t>(process_.pid()), &info,
                                WSTOPPED | WEXITED | WNOWAIT) == 0);
    BOOST_TEST_REQUIRE(info.si_code == CLD_STOPPED,
                       "the publisher did not stop holding the lock: " << read_file(output_));
  }

  [[nodiscard]] pid_t pid() const { return process_.pid(); }

  // Lets it go on: it publishes and exits 0.
  void resume() {
    ::kill(process_.pid(), SIGCONT);
    const int status = process_.wait_for(20s);
    BOOST_TEST(exit_code(status) == 0, read_file(output_));
  }

 private:
  std::string output_;
  Child process_;
};

std::int64_t version_seen(const std::string& segment) {
  return Reader(segment).current().get<std::int64_t>("/app/version");
}

}  // namespace

// ---- a FIFO as the config path --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_fifo_as_the_config_fails_check_and_start_at_once) {
  Setup s;
  const std::string fifo = s.dir.path() + "/fifo.json";
  BOOST_TEST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);

  const RunResult check = run_bounded({bin("confvisord"), "--check", "--config", fifo});
  BOOST_TEST(check.exit_code() == 1, check.output);
  BOOST_TEST(contains(check.output, fifo + ": not a regular file (a FIFO)"), check.output);

  DaemonProcess d(s.dir, fifo);
  BOOST_TEST(exit_code(d.wait_exit(20s)) == 1, d.log());
  BOOST_TEST(
      log_lines(d.log(), "config rejected: " + fifo + ": not a regular file (a FIFO)").size() == 1u,
      d.log());
  BOOST_TEST(!fs::exists("/dev/shm/confvisor." + s.seg.name()));
}

BOOST_AUTO_TEST_CASE(a_fifo_on_sighup_is_a_failed_reload_and_the_workers_keep_running) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  const pid_t worker = wait_for_worker(d, s, 0);

  // The config path becomes a FIFO nobody writes to: the old daemon blocked in open().
  const std::string fifo = s.dir.path() + "/new.fifo";
  BOOST_TEST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  fs::rename(fifo, s.path());
  d.signal(SIGHUP);
  const std::string ready = d.wait_notify("READY=1");
  BOOST_TEST(contains(ready, "last reload: failed: " + s.path() + ": not a regular file (a FIFO)"),
             ready);
  BOOST_TEST(log_lines(d.log(), "reload failed: generation 1 stays published: " + s.path() +
                                    ": not a regular file (a FIFO)")
                     .size() == 1u,
             d.log());

  const json::object status = status_within_1s(d, s);
  BOOST_TEST(status.at("generation").to_number<int>() == 1);
  BOOST_TEST(worker_pid(status) == worker);
  BOOST_TEST(version_seen(s.seg.name()) == 1);

  // A regular file again: the next reload goes through.
  fs::remove(s.path());
  s.write(2);
  d.signal(SIGHUP);
  BOOST_TEST(contains(d.wait_notify("READY=1"), "last reload: ok"));
  BOOST_TEST(version_seen(s.seg.name()) == 2);
  d.signal(SIGTERM);
  BOOST_TEST(exit_code(d.wait_exit()) == 0);
}

// ---- a publisher stopped while it holds the writer lock ------------------------------------

// A service manager that is stopped or never reads its socket: its queue holds 10
// datagrams, and a reload sends two. The daemon drops what does not fit instead of waiting in
// sendmsg, and keeps reloading and answering.
BOOST_AUTO_TEST_CASE(a_service_manager_that_never_reads_stops_neither_reloads_nor_status) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  Reader reader(s.seg.name());
  for (int version = 2; version <= 31; ++version) {
    s.write(version);
    d.signal(SIGHUP);
    while (reader.current().get<std::int64_t>("/app/version") != version)
      BOOST_TEST_REQUIRE(reader.wait_for_change(10s),
                         "reload " << version << " was not published; the daemon's log:\n"
                                   << d.log());
  }
  // The raw confvisorctl: the tests' own helper would read the queue first.
  const RunResult status = run_bounded(
      {bin("confvisorctl"), "--socket", s.socket(), "status", "--json", "--timeout", "1s"});
  BOOST_TEST(status.exit_code() == 0, status.output);
  BOOST_TEST(log_lines(d.log(), "the service manager is not reading NOTIFY_SOCKET=").size() == 1u,
             d.log());

  // Once the manager reads again, the daemon says how many it dropped.
  d.drain_notifications();
  s.write(32);
  d.signal(SIGHUP);
  BOOST_TEST(contains(d.wait_notify("READY=1"), "generation 32 published"));
  BOOST_TEST(log_lines(d.log(), "the service manager reads notifications again; ").size() == 1u,
             d.log());
  d.signal(SIGTERM);
  BOOST_TEST(exit_code(d.wait_exit(20s)) == 0, d.log());
}

BOOST_AUTO_TEST_CASE(a_stopped_lock_holder_stops_neither_status_nor_supervision_nor_sigterm) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  const pid_t worker = wait_for_worker(d, s, 0);
  StoppedPublisher holder(s, s.write_other(100), true);

  // Status answers, naming the holder.
  json::object status = status_within_1s(d, s);
  BOOST_TEST(status.at("writer_lock_holder").to_number<pid_t>() == holder.pid());
  BOOST_TEST(status.at("generation").to_number<int>() == 1);

  // A killed worker is reaped and restarted.
  BOOST_TEST_REQUIRE(::kill(worker, SIGKILL) == 0);
  const pid_t restarted = wait_for_worker(d, s, worker);
  BOOST_TEST(restarted != worker);
  BOOST_TEST(is_zombie_or_gone(worker));
  BOOST_TEST(!is_zombie_or_gone(restarted));

  // A reload waits for the lock and says who holds it; nothing changes meanwhile.
  s.write(2);
  d.signal(SIGHUP);
  const std::string ready = d.wait_notify("READY=1");
  BOOST_TEST(
      contains(ready, "last reload: waiting: the writer lock of /dev/shm/confvisor." +
                          s.seg.name() + " is held by pid " + std::to_string(holder.pid()) + " ("),
      ready);
  BOOST_TEST(log_lines(d.log(),
                       "reload waiting: generation 1 stays published until the writer "
                       "lock is free: the writer lock of /dev/shm/confvisor." +
                           s.seg.name() + " is held by pid " + std::to_string(holder.pid()))
                     .size() == 1u,
             d.log());
  const RunResult reload = ctl(d, s, {"reload"});
  BOOST_TEST(reload.exit_code() == 1, reload.output);
  BOOST_TEST(contains(reload.output, "reload waits: the writer lock of /dev/shm/confvisor." +
                                         s.seg.name() + " is held by pid " +
                                         std::to_string(holder.pid()) + " ("),
             reload.output);
  status = status_within_1s(d, s);
  BOOST_TEST(status.at("waiting_publish").at("what").as_string() == "reload");
  BOOST_TEST(status.at("last_reload").at("result").as_string() == "waiting");
  BOOST_TEST(version_seen(s.seg.name()) == 1);

  // SIGTERM: the workers stop, the daemon exits 0 and publishes nothing.
  d.signal(SIGTERM);
  BOOST_TEST(exit_code(d.wait_exit(20s)) == 0, d.log());
  BOOST_TEST(log_lines(d.log(), "the reload waiting ").size() == 1u, d.log());
  BOOST_TEST(is_zombie_or_gone(restarted));
  BOOST_TEST(version_seen(s.seg.name()) == 1);

  // The holder, resumed, publishes its own generation: the daemon's never was.
  holder.resume();
  Reader reader(s.seg.name());
  BOOST_TEST(reader.current().generation() == 2u);
  BOOST_TEST(reader.current().get<std::int64_t>("/app/version") == 100);
}

BOOST_AUTO_TEST_CASE(reloads_waiting_for_the_lock_coalesce_into_one_publish_once_it_is_free) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  StoppedPublisher holder(s, s.write_other(100), true);

  s.write(2);
  d.signal(SIGHUP);
  BOOST_TEST(contains(d.wait_notify("READY=1"), "last reload: waiting: "));
  s.write(3);
  BOOST_TEST(ctl(d, s, {"reload"}).exit_code() == 1);
  BOOST_TEST(version_seen(s.seg.name()) == 1);

  // Once the holder has published its generation 2, the daemon publishes the last file, once.
  Reader reader(s.seg.name());
  holder.resume();
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (reader.current().generation() < 3u && std::chrono::steady_clock::now() < deadline) {
    reader.wait_for_change(100ms);
  }
  BOOST_TEST(reader.current().generation() == 3u, d.log());
  BOOST_TEST(reader.current().get<std::int64_t>("/app/version") == 3);
  const auto published_once = std::chrono::steady_clock::now() + 2s;
  while (log_lines(d.log(), "reload ok: ").empty() &&
         std::chrono::steady_clock::now() < published_once) {
    std::this_thread::sleep_for(20ms);
  }
  BOOST_TEST(log_lines(d.log(), "reload ok: generation 3, ").size() == 1u, d.log());
  BOOST_TEST(log_lines(d.log(), "reload ok: ").size() == 1u, d.log());

  const json::object status = status_within_1s(d, s);
  BOOST_TEST(status.at("generation").to_number<int>() == 3);
  BOOST_TEST(status.at("live_matches_file").as_bool());
  BOOST_TEST(status.at("writer_lock_holder").is_null());
  BOOST_TEST(status.at("waiting_publish").is_null());
  BOOST_TEST(status.at("last_reload").at("result").as_string() == "ok");
}

BOOST_AUTO_TEST_CASE(a_start_while_the_lock_is_held_waits_on_the_loop_then_starts_the_workers) {
  Setup s;
  BOOST_TEST_REQUIRE(
      run_bounded({bin("confvisorctl"), "publish", s.write_other(100), "--segment", s.seg.name()})
          .exit_code() == 0);
  StoppedPublisher holder(s, s.write_other(200), false);
  s.write(1);
  {
    // Answers and stops while it waits; starts no worker before its config is published.
    DaemonProcess d(s.dir, s.path());
    json::object status;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!fs::exists(s.socket()) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
    }
    status = status_within_1s(d, s);
    BOOST_TEST(status.at("waiting_publish").at("what").as_string() == "start");
    BOOST_TEST(status.at("writer_lock_holder").to_number<pid_t>() == holder.pid());
    BOOST_TEST(worker_pid(status) == 0);
    BOOST_TEST(
        contains(d.log(), "publish waiting: the writer lock of /dev/shm/confvisor." + s.seg.name() +
                              " is held by pid " + std::to_string(holder.pid())),
        d.log());
    d.signal(SIGTERM);
    BOOST_TEST(exit_code(d.wait_exit(20s)) == 0, d.log());
    BOOST_TEST(version_seen(s.seg.name()) == 100);
  }
  DaemonProcess d(s.dir, s.path());
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!contains(d.log(), "publish waiting: ") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  holder.resume();
  require_ready(d);
  Reader reader(s.seg.name());
  BOOST_TEST(reader.current().generation() == 3u);
  BOOST_TEST(reader.current().get<std::int64_t>("/app/version") == 1);
  BOOST_TEST(wait_for_worker(d, s, 0) > 0);
}

// ---- a publish beside the daemon -----------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_publish_beside_a_live_daemon_is_refused_unless_forced) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  const std::string other = s.write_other(100);

  const RunResult refused =
      run_bounded({bin("confvisorctl"), "publish", other, "--segment", s.seg.name()});
  BOOST_TEST(refused.exit_code() == 1, refused.output);
  BOOST_TEST(contains(refused.output, "confvisorctl: segment " + s.seg.name() +
                                          " is served by confvisord (pid " +
                                          std::to_string(d.pid()) + ")"),
             refused.output);
  BOOST_TEST(contains(refused.output, "--force"));
  BOOST_TEST(Reader(s.seg.name()).current().generation() == 1u);

  const RunResult forced =
      run_bounded({bin("confvisorctl"), "publish", other, "--segment", s.seg.name(), "--force"});
  BOOST_TEST(forced.exit_code() == 0, forced.output);
  BOOST_TEST(contains(forced.output, "published generation 2 from " + other));

  // Status tells the truth: what readers see, and that it is not the file.
  json::object status = status_within_1s(d, s);
  BOOST_TEST(status.at("generation").to_number<int>() == 2);
  BOOST_TEST(status.at("source").as_string() == other);
  BOOST_TEST(!status.at("live_matches_file").as_bool());
  BOOST_TEST(log_lines(d.log(), "generation 2 of /dev/shm/confvisor." + s.seg.name() +
                                    " was published by pid ")
                     .size() == 1u,
             d.log());

  // A reload compares the file with what is really live: it publishes the file again.
  const RunResult reload = ctl(d, s, {"reload", "--json"});
  BOOST_TEST(reload.exit_code() == 0, reload.output);
  BOOST_TEST(contains(reload.output, "\"result\":\"ok\""), reload.output);
  BOOST_TEST(contains(reload.output, "\"generation\":3"), reload.output);
  BOOST_TEST(version_seen(s.seg.name()) == 1);
  status = status_within_1s(d, s);
  BOOST_TEST(status.at("generation").to_number<int>() == 3);
  BOOST_TEST(status.at("live_matches_file").as_bool());

  // Without a daemon, publish needs no --force.
  d.signal(SIGTERM);
  BOOST_TEST(exit_code(d.wait_exit()) == 0);
  const RunResult alone =
      run_bounded({bin("confvisorctl"), "publish", other, "--segment", s.seg.name()});
  BOOST_TEST(alone.exit_code() == 0, alone.output);
  BOOST_TEST(Reader(s.seg.name()).current().generation() == 4u);
}

// ---- the test seams do not ship ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_shipped_programs_ignore_the_test_seams) {
  Setup s;
  const std::string other = s.write_other(100);
  const std::vector<std::string> armed{"CONFVISOR_TEST_CRASH_AT=publish:locked",
                                       "CONFVISOR_TEST_STOP_AT"};

  // The twin obeys: the variable is a real seam, so the next checks mean something.
  const RunResult twin =
      run_bounded({seams_bin("confvisorctl"), "publish", other, "--segment", s.seg.name()}, armed);
  BOOST_TEST(twin.exit_code() == 128 + SIGKILL, twin.output);

  const RunResult shipped =
      run_bounded({bin("confvisorctl"), "publish", other, "--segment", s.seg.name()}, armed);
  BOOST_TEST(shipped.exit_code() == 0, shipped.output);
  BOOST_TEST(version_seen(s.seg.name()) == 100);

  DaemonProcess d(s.dir, s.write(1), {"CONFVISOR_TEST_CRASH_AT=publish:locked"});
  require_ready(d);
  BOOST_TEST(version_seen(s.seg.name()) == 1);
  d.signal(SIGTERM);
  BOOST_TEST(exit_code(d.wait_exit()) == 0);

  for (const char* program : {"confvisord", "confvisorctl"}) {
    BOOST_TEST(!contains(read_file(bin(program)), "CONFVISOR_TEST_"), program);
  }
}
