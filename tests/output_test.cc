// Workers' output as the daemon logs it: real worker processes writing floods and hostile
// bytes to their stdout and stderr, read back from the real daemon's log.
#define BOOST_TEST_MODULE output
#include <signal.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/daemon_process.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/text_search.hpp"

using namespace confvisor::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// A daemon supervising one worker "w" that runs `script` under /bin/sh.
struct OneWorker {
  explicit OneWorker(const std::string& script)
      : config(dir.write("app.json", "{\"confvisor\": {\"segment\": \"" + seg.name() +
                                         "\", \"socket\": \"" + dir.path() +
                                         "/ctl.sock\", \"workers\": [{\"name\": \"w\", "
                                         "\"command\": [\"/bin/sh\", \"-c\", " +
                                         quoted(script) + "], \"stop_timeout\": \"2s\"}]}}\n")),
        daemon(dir, config) {
    if (daemon.wait_notify("READY=1").empty()) BOOST_FAIL("no READY=1; log:\n" << daemon.log());
  }
  // Waits until the log has a line containing `needle`.
  void require_log(const std::string& needle, std::chrono::seconds timeout = 30s) {
    const auto deadline = Clock::now() + timeout;
    while (!contains(daemon.log(), needle)) {
      if (Clock::now() > deadline) BOOST_FAIL("no \"" << needle << "\" in:\n" << daemon.log());
      daemon.drain_notifications();
      std::this_thread::sleep_for(20ms);
    }
  }
  ~OneWorker() {
    daemon.signal(SIGTERM);
    daemon.wait_exit();
  }

  static std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  }

  SegmentGuard seg{"out"};
  TempDir dir;
  std::string config;
  DaemonProcess daemon;
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_flood_on_stdout_and_stderr_logs_1000_lines_a_second_and_one_summary_each) {
  // Six bursts over about 3 s, each 10,000 lines on stdout then 10,000 on stderr, then quiet
  // for longer than an interval.
  OneWorker w(
      "for i in 1 2 3 4 5 6; do yes out | head -n 10000; yes err | head -n 10000 >&2; "
      "sleep 0.5; done; sleep 1.5; echo end-of-flood; exec sleep 1000");
  w.require_log("w[0]: end-of-flood");
  const std::string log = w.daemon.log();
  const std::vector<std::string> lines = log_lines(log, "w[0]: ");

  // Walk the log: flood lines between two summaries belong to one interval.
  std::size_t logged = 0, in_interval = 0, most_in_interval = 0;
  unsigned long long counted = 0;
  std::size_t summaries = 0;
  long long first = 0, last = 0;
  for (const std::string& line : lines) {
    if (contains(line, "info: w[0]: out") || contains(line, "info: w[0]: err")) {
      ++logged;
      most_in_interval = std::max(most_in_interval, ++in_interval);
      (first == 0 ? first : last) = stamp_ms(line);
    } else if (contains(line, " output line(s) not logged (more than 1000 lines/s)")) {
      BOOST_TEST(contains(line, "warning: w[0]: "), line);
      counted += std::strtoull(line.c_str() + line.find("w[0]: ") + 6, nullptr, 10);
      ++summaries;
      in_interval = 0;
    }
  }
  const double seconds = static_cast<double>(std::max(last, first) - first) / 1000.0;
  BOOST_TEST_MESSAGE(logged << " lines logged, " << counted << " counted in " << summaries
                            << " summaries, over " << seconds << " s");
  BOOST_TEST(logged + counted == 120'000u);  // every line is logged or counted
  BOOST_TEST(summaries >= 2u);               // the flood spans intervals
  // Both streams share one budget: never more than 1000 lines in an interval.
  BOOST_TEST(most_in_interval <= 1000u);
  // One summary per interval, not one per line: as many as the seconds the flood lasted.
  BOOST_TEST(summaries <= static_cast<std::size_t>(seconds) + 2, summaries);
  BOOST_TEST(logged <= 1000 * (summaries + 1));
}

BOOST_AUTO_TEST_CASE(control_bytes_and_invalid_utf8_from_a_worker_are_logged_escaped) {
  // dash's printf turns \NNN into the byte.
  OneWorker w(
      "printf 'nul[\\000] esc[\\033[31m] bell[\\007] cr[\\015] del[\\177] tab[\\011] "
      "utf8[h\\303\\251llo \\342\\202\\254] bad[\\377] c1[\\302\\233] end\\n'; "
      "printf 'stderr[\\000\\033]\\n' >&2; exec sleep 1000");
  w.require_log("w[0]: stderr[");
  w.require_log("w[0]: nul[");
  const std::string log = w.daemon.log();
  BOOST_TEST(contains(log,
                      "info: w[0]: nul[\\x00] esc[\\x1b[31m] bell[\\x07] cr[\\x0d] "
                      "del[\\x7f] tab[\t] utf8[h\xc3\xa9llo \xe2\x82\xac] bad[\\xff] "
                      "c1[\\xc2\\x9b] end\n"),
             log);
  BOOST_TEST(contains(log, "info: w[0]: stderr[\\x00\\x1b]\n"), log);
  // Nothing of the worker's reaches the log raw.
  for (char c : {'\0', '\033', '\r', '\x7f', '\a'}) BOOST_TEST(log.find(c) == std::string::npos);
}
