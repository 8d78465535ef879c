// confvisord as an operator runs it: the real binary, real signals, a real NOTIFY_SOCKET,
// real shared memory. Tests wait on the daemon's own sd_notify messages, never on sleeps.
#define BOOST_TEST_MODULE daemon
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "confvisor/worker.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/numbered_config.hpp"
#include "tests/support/process_wait.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/text_search.hpp"

using namespace confvisor;
using namespace confvisor::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// A config in the file format operators write: comments, trailing commas, app settings.
std::string config_text(const std::string& segment, int version, const std::string& settings = "") {
  return "// written by daemon_test\n{\n  \"confvisor\": {\"segment\": \"" + segment + "\"" +
         settings + "},\n  \"app\": {\"version\": " + std::to_string(version) +
         ", \"name\": \"demo\",},\n}\n";
}

struct Setup {
  SegmentGuard seg{"daemon"};
  TempDir dir;
  std::string write(int version, const std::string& settings = "") const {
    return dir.write("app.json", config_text(seg.name(), version, settings));
  }
  std::string path() const { return dir.path() + "/app.json"; }
};

std::int64_t version_seen(const std::string& segment) {
  return Reader(segment).current().get<std::int64_t>("/app/version");
}

}  // namespace

BOOST_AUTO_TEST_CASE(publishes_the_file_and_reports_ready) {
  Setup s;
  const std::string path = s.write(1);
  DaemonProcess d(s.dir, path);
  require_ready(d);
  BOOST_TEST(contains(d.notifications().back(), "STATUS=generation 1 published"));
  Reader reader(s.seg.name());
  const Snapshot& snap = reader.current();
  BOOST_TEST(snap.generation() == 1u);
  BOOST_TEST(snap.get<std::int64_t>("/app/version") == 1);
  BOOST_TEST(snap.get<std::string>("/confvisor/segment") == s.seg.name());
  BOOST_TEST(snap.source() == path);
  BOOST_TEST(snap.publisher_pid() == d.pid());
  BOOST_TEST(log_lines(d.log(), "publish ok: generation 1, ").size() == 1u);
}

BOOST_AUTO_TEST_CASE(notifies_systemd_ready_reloading_ready_stopping_in_order) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  s.write(2);
  d.signal(SIGHUP);
  BOOST_TEST(!d.wait_notify("READY=1").empty());
  d.signal(SIGTERM);
  BOOST_TEST(!d.wait_notify("STOPPING=1").empty());
  BOOST_TEST(exit_code(d.wait_exit()) == 0);
  const auto& n = d.notifications();
  BOOST_TEST_REQUIRE(n.size() == 4u);
  BOOST_TEST(contains(n[0], "READY=1"));
  BOOST_TEST(contains(n[1], "RELOADING=1"));
  BOOST_TEST(contains(n[1], "MONOTONIC_USEC="));
  BOOST_TEST(contains(n[2], "READY=1"));
  BOOST_TEST(contains(n[2], "STATUS=generation 2 published; "));
  BOOST_TEST(contains(n[2], "; last reload: ok"));
  BOOST_TEST(contains(n[3], "STOPPING=1"));
}

BOOST_AUTO_TEST_CASE(sighup_publishes_a_changed_file_and_nothing_for_an_unchanged_one) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  Reader reader(s.seg.name());
  BOOST_TEST(reader.current().generation() == 1u);

  s.write(2);
  d.signal(SIGHUP);
  require_ready(d);
  BOOST_TEST(reader.current().generation() == 2u);
  BOOST_TEST(reader.current().get<std::int64_t>("/app/version") == 2);
  BOOST_TEST(log_lines(d.log(), "reload ok: generation 2, ").size() == 1u);
  BOOST_TEST(log_lines(d.log(), "from " + s.path()).size() == 2u);

  d.signal(SIGHUP);
  require_ready(d);
  BOOST_TEST(reader.current().generation() == 2u);
  BOOST_TEST(log_lines(d.log(), "reload unchanged: generation 2 stays published").size() == 1u);
}

// Each bad file: what to write, and what the one log line must say about it.
struct BadFile {
  const char* name;
  std::function<void(const Setup&)> make;
  const char* expected;
};

std::ostream& operator<<(std::ostream& os, const BadFile& b) {
  return os << b.name;
}

BOOST_AUTO_TEST_CASE(a_bad_file_on_sighup_is_one_clear_log_line_and_changes_nothing) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1, R"(, "max_config_size": "64KiB")"));
  require_ready(d);
  Reader reader(s.seg.name());
  const std::string seg = s.seg.name();
  const std::vector<BadFile> cases{
      {"syntax",
       [&](const Setup& x) {
         x.dir.write("app.json",
                     "{\n  \"confvisor\": {\"segment\": \"" + seg + "\"},\n  \"app\": [1, 2\n}\n");
       },
       ":4:1: "},
      {"semantic", [&](const Setup& x) { x.write(3, R"(, "history": 0)"); }, "/confvisor/history"},
      {"missing", [&](const Setup& x) { fs::remove(x.path()); }, "unable to read"},
      {"a directory",
       [&](const Setup& x) {
         fs::remove(x.path());
         fs::create_directory(x.path());
       },
       ": not a regular file (a directory)"},
      {"oversized",
       [&](const Setup& x) {
         x.dir.write("app.json", config_text(seg, 4, R"(, "max_config_size": "64KiB")") +
                                     std::string(100'000, ' '));
       },
       "larger than max_config_size"},
      {"deeply nested",
       [&](const Setup& x) {
         x.dir.write("app.json", R"({"confvisor": {"segment": ")" + seg + R"("}, "deep": )" +
                                     std::string(1500, '[') + std::string(1500, ']') + "}");
       },
       "depth"},
      {"not UTF-8",
       [&](const Setup& x) {
         x.dir.write("app.json",
                     R"({"confvisor": {"segment": ")" + seg + "\"}, \"name\": \"caf\xe9\"}");
       },
       "invalid UTF-8"},
      {"segment changed",
       [&](const Setup& x) {
         x.dir.write("app.json", config_text(seg + "-other", 5, R"(, "max_config_size": "64KiB")"));
       },
       "/confvisor/segment changed from"},
  };
  for (const BadFile& bad : cases) {
    BOOST_TEST_CONTEXT(bad.name) {
      if (fs::is_directory(s.path())) fs::remove(s.path());
      bad.make(s);
      d.signal(SIGHUP);
      std::string ready = d.wait_notify("READY=1");
      BOOST_TEST(contains(ready, "last reload: failed: "));
      auto failures = log_lines(d.log(), "reload failed: generation 1 stays published: ");
      BOOST_TEST_REQUIRE(!failures.empty());
      BOOST_TEST(contains(failures.back(), bad.expected), failures.back());
      BOOST_TEST(
          (contains(failures.back(), s.path()) || std::string(bad.name) == "segment changed"));
      BOOST_TEST(reader.current().generation() == 1u);
      BOOST_TEST(reader.current().get<std::int64_t>("/app/version") == 1);
      BOOST_TEST(::kill(d.pid(), 0) == 0);
    }
  }
  fs::remove(s.path());
  s.write(6, R"(, "max_config_size": "64KiB")");
  d.signal(SIGHUP);
  require_ready(d);
  BOOST_TEST(reader.current().get<std::int64_t>("/app/version") == 6);
  BOOST_TEST(reader.current().generation() == 2u);
}

BOOST_AUTO_TEST_CASE(a_sighup_storm_coalesces_and_ends_in_the_state_of_the_last_file) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  constexpr int kLast = 200;
  for (int v = 2; v <= kLast; ++v) {
    s.write(v);
    d.signal(SIGHUP);
    d.drain_notifications();
  }
  Reader reader(s.seg.name());
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (reader.current().get<std::int64_t>("/app/version") != kLast &&
         std::chrono::steady_clock::now() < deadline) {
    reader.wait_for_change(50ms);
    d.drain_notifications();
  }
  BOOST_TEST(reader.current().get<std::int64_t>("/app/version") == kLast);
  BOOST_TEST(::kill(d.pid(), 0) == 0);

  // Coalescing, made deterministic: while the daemon is stopped, 50 SIGHUPs are one pending
  // signal, so they must give exactly one reload, of the last file. The storm's last reload
  // logs its line after readers see its generation: wait for that line before counting.
  const std::string storm_done =
      "reload ok: generation " + std::to_string(reader.current().generation()) + ",";
  const auto logged = std::chrono::steady_clock::now() + 20s;
  while (log_lines(d.log(), storm_done).empty() && std::chrono::steady_clock::now() < logged) {
    std::this_thread::sleep_for(10ms);
    d.drain_notifications();
  }
  d.drain_notifications();
  const auto reloads_before = log_lines(d.log(), "reload ok: ").size();
  d.signal(SIGSTOP);
  for (int v = kLast + 1; v <= kLast + 50; ++v) {
    s.write(v);
    d.signal(SIGHUP);
  }
  d.signal(SIGCONT);
  // Not READY=1: one from a reload of the storm that was still under way (an unchanged
  // re-read of the last file) may come after the drain above. The reload's log line is
  // written after its publish, so wait for that, then count.
  const auto reloaded = std::chrono::steady_clock::now() + 20s;
  while (log_lines(d.log(), "reload ok: ").size() < reloads_before + 1 &&
         std::chrono::steady_clock::now() < reloaded) {
    reader.wait_for_change(50ms);
    d.drain_notifications();
  }
  BOOST_TEST(reader.current().get<std::int64_t>("/app/version") == kLast + 50);
  BOOST_TEST(log_lines(d.log(), "reload ok: ").size() == reloads_before + 1);
}

BOOST_AUTO_TEST_CASE(sigterm_exits_0_and_a_restarted_daemon_continues_the_generations) {
  Setup s;
  {
    DaemonProcess d(s.dir, s.write(1));
    require_ready(d);
    s.write(2);
    d.signal(SIGHUP);
    require_ready(d);
    d.signal(SIGTERM);
    BOOST_TEST(exit_code(d.wait_exit()) == 0);
    BOOST_TEST(log_lines(d.log(),
                         "stopping on SIGTERM: stopping the workers; generation 2 stays published")
                   .size() == 1u);
  }
  // The segment outlives the daemon: readers keep their config across a restart.
  BOOST_TEST(version_seen(s.seg.name()) == 2);
  {
    DaemonProcess d(s.dir, s.path());
    require_ready(d);
    BOOST_TEST(
        log_lines(d.log(), "publish skipped: generation 2 already holds this config").size() == 1u);
    BOOST_TEST(Reader(s.seg.name()).current().generation() == 2u);
    d.signal(SIGINT);
    BOOST_TEST(exit_code(d.wait_exit()) == 0);
  }
  s.write(3);
  DaemonProcess d(s.dir, s.path());
  require_ready(d);
  BOOST_TEST(Reader(s.seg.name()).current().generation() == 3u);
}

BOOST_AUTO_TEST_CASE(a_second_daemon_on_the_same_segment_refuses_to_start) {
  Setup s;
  DaemonProcess first(s.dir, s.write(1));
  require_ready(first);
  DaemonProcess second(s.dir, s.path());
  BOOST_TEST(exit_code(second.wait_exit()) == 1);
  BOOST_TEST(contains(second.log(), "is already published by another confvisord (pid " +
                                        std::to_string(first.pid())));
  BOOST_TEST(::kill(first.pid(), 0) == 0);
}

BOOST_AUTO_TEST_CASE(a_daemon_killed_mid_publish_is_recovered_by_the_next_one) {
  for (const char* point : {"publish:half-filled", "publish:slot-written", "publish:flipped"}) {
    BOOST_TEST_CONTEXT(point) {
      Setup s;
      {
        DaemonProcess d(s.dir, s.write(1));
        require_ready(d);
        d.signal(SIGKILL);
        d.wait_exit();
      }
      Reader reader(s.seg.name());
      BOOST_TEST(reader.current().get<std::int64_t>("/app/version") == 1);
      s.write(2);
      {
        DaemonProcess crashing(s.dir, s.path(), {std::string("CONFVISOR_TEST_CRASH_AT=") + point},
                               seams_bin("confvisord"));
        const int status = crashing.wait_exit();
        BOOST_TEST_REQUIRE(WIFSIGNALED(status));
        BOOST_TEST(WTERMSIG(status) == SIGKILL);
      }
      // Meanwhile readers see a whole config: the old one, or the new one if it was made
      // visible before the kill.
      auto v = reader.current().get<std::int64_t>("/app/version");
      BOOST_TEST((v == 1 || v == 2));
      BOOST_TEST(reader.last_error() == "");
      DaemonProcess next(s.dir, s.path());
      require_ready(next);
      BOOST_TEST(contains(next.log(), "recovered segment"));
      BOOST_TEST(reader.current().get<std::int64_t>("/app/version") == 2);
      BOOST_TEST(reader.last_error() == "");
    }
  }
}

BOOST_AUTO_TEST_CASE(daemons_killed_at_random_moments_never_show_a_reader_a_torn_config) {
  Setup s;
  const Numbered numbered{.base = 100, .spread = 40'000};
  auto write = [&](int k) {
    s.dir.write("app.json",
                numbered.config(k, R"(,"confvisor":{"segment":")" + s.seg.name() + "\"}"));
  };
  constexpr int kRounds = 12, kReloadsPerRound = 4;
  constexpr int kLast = 1 + kRounds * (kReloadsPerRound + 1);
  int k = 1;
  write(k);
  {
    DaemonProcess first(s.dir, s.path());
    require_ready(first);
    first.signal(SIGKILL);
    first.wait_exit();
  }
  Child follower([&] {
    Reader reader(s.seg.name());
    std::int64_t prev = 0;
    while (prev < kLast) {
      const Snapshot& snap = reader.current();
      if (!reader.last_error().empty()) return 2;
      if (!numbered.whole(snap)) return 3;
      auto seen = snap.get<std::int64_t>("/k");
      if (seen < prev) return 4;
      prev = seen;
      if (prev < kLast && !reader.wait_for_change(30s)) return 5;
    }
    return 0;
  });
  std::mt19937 rng(12345);
  for (int round = 0; round < kRounds; ++round) {
    write(++k);
    DaemonProcess d(s.dir, s.path());
    require_ready(d);
    for (int r = 0; r < kReloadsPerRound; ++r) {
      write(++k);
      d.signal(SIGHUP);
      d.drain_notifications();
    }
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
    d.signal(SIGKILL);
    d.wait_exit();
  }
  DaemonProcess last(s.dir, s.path());
  require_ready(last);
  BOOST_TEST(k == kLast);
  BOOST_TEST(exit_code(follower.wait_for(30s)) == 0);
}

BOOST_AUTO_TEST_CASE(an_invalid_config_at_startup_logs_every_error_and_publishes_nothing) {
  Setup s;
  const std::string path =
      s.dir.write("app.json", R"({"confvisor": {"segment": ")" + s.seg.name() +
                                  R"(", "history": 0, "histroy": 3, "mode": "rwx"}})");
  DaemonProcess d(s.dir, path);
  BOOST_TEST(exit_code(d.wait_exit()) == 1);
  const auto rejected = log_lines(d.log(), "config rejected: ");
  BOOST_TEST(rejected.size() == 3u, d.log());
  BOOST_TEST(!fs::exists("/dev/shm/confvisor." + s.seg.name()));
  BOOST_TEST(d.notifications().empty());
}

BOOST_AUTO_TEST_CASE(an_idle_daemon_makes_no_wakeups) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  auto switches = [&] {
    std::string status = read_file("/proc/" + std::to_string(d.pid()) + "/status");
    auto lines = log_lines(status, "ctxt_switches");
    std::string all;
    for (const auto& l : lines) all += l + " ";
    return all;
  };
  // Let it settle into its wait, then watch it do nothing at all.
  std::this_thread::sleep_for(200ms);
  const std::string before = switches();
  std::this_thread::sleep_for(1500ms);
  BOOST_TEST(switches() == before);
}

BOOST_AUTO_TEST_CASE(the_watchdog_is_pinged_when_the_service_manager_asks) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1), {"WATCHDOG_USEC=200000"});
  require_ready(d);
  BOOST_TEST(!d.wait_notify("WATCHDOG=1", 2s).empty());
  BOOST_TEST(!d.wait_notify("WATCHDOG=1", 2s).empty());
}

BOOST_AUTO_TEST_CASE(check_validates_and_prints_every_error) {
  Setup s;
  auto ok = run({bin("confvisord"), "--check", "--config", s.write(1)});
  BOOST_TEST(ok.exit_code() == 0);
  BOOST_TEST(contains(ok.output, s.path() + ": ok (segment " + s.seg.name() + ", 0 worker(s))"));
  const std::string bad = s.dir.write(
      "bad.json", R"({"confvisor": {"segment": "x", "history": 0, "histroy": 3, "mode": "rwx"}})");
  auto res = run({bin("confvisord"), "--check", "--config", bad});
  BOOST_TEST(res.exit_code() == 1);
  BOOST_TEST(log_lines(res.output, bad + ": /confvisor/").size() == 3u, res.output);
  BOOST_TEST(contains(res.output, "3 error(s)"));
}

BOOST_AUTO_TEST_CASE(command_line_errors_exit_2_with_a_clear_message) {
  auto version = run({bin("confvisord"), "--version"});
  BOOST_TEST(version.exit_code() == 0);
  BOOST_TEST(contains(version.output, "confvisord "));
  auto help = run({bin("confvisord"), "--help"});
  BOOST_TEST(help.exit_code() == 0);
  BOOST_TEST(contains(help.output, "--config"));
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad{
      {{"--bogus"}, "unrecognised option '--bogus'"},
      {{}, "--config FILE is required"},
      {{"--config"}, "the required argument for option '--config' is missing"},
      {{"--config", "x.json", "--log-level", "loud"}, "invalid log level \"loud\""},
  };
  for (const auto& [args, message] : bad) {
    std::vector<std::string> argv{bin("confvisord")};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run(argv);
    BOOST_TEST(r.exit_code() == 2, message);
    BOOST_TEST(contains(r.output, "confvisord: " + message), r.output);
    BOOST_TEST(contains(r.output, "(see confvisord --help)"));
    BOOST_TEST(std::count(r.output.begin(), r.output.end(), '\n') == 1, r.output);  // one line
  }
}

// The real binary checks each file in a process of its own, four at a time (a sanitized
// build spends most of each run starting and ending the process); the results are asserted
// here, in file order.
BOOST_AUTO_TEST_CASE(every_jsontestsuite_file_is_checked_without_a_crash) {
  const fs::path corpus = fs::path(CONFVISOR_TESTDATA_DIR) / "JSONTestSuite" / "test_parsing";
  BOOST_TEST_REQUIRE(fs::is_directory(corpus));
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(corpus)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::vector<RunResult> results(files.size());
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> checkers;
  for (int t = 0; t < 4; ++t) {
    checkers.emplace_back([&] {
      for (std::size_t i; (i = next.fetch_add(1)) < files.size();) {
        results[i] = run({bin("confvisord"), "--check", "--config", files[i].string()});
      }
    });
  }
  for (std::thread& t : checkers) t.join();
  for (std::size_t i = 0; i < files.size(); ++i) {
    const std::string name = files[i].filename().string();
    const RunResult& r = results[i];
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST((r.exit_code() == 0 || r.exit_code() == 1), r.output);
      if (name.rfind("n_", 0) == 0) {
        BOOST_TEST(r.exit_code() == 1);
        BOOST_TEST(contains(r.output, files[i].string()));
      }
    }
  }
  BOOST_TEST(files.size() > 300u);
}
