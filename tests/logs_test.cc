// A worker's output through `confvisorctl logs`: real daemons, real worker processes writing to
// their stdout and stderr, real followers that are slow or SIGSTOPped, and log files that are
// rotated, moved by an operator, replaced by a FIFO, or on a file system that fills up.
#define BOOST_TEST_MODULE logs
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "common/os/unique_fd.hpp"
#include "tests/support/child_expect.hpp"
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
using Clock = std::chrono::steady_clock;

namespace {

std::string quoted(const std::string& s) {
  return json::serialize(json::value(s));
}

// A worker running `script` under /bin/sh, with `extra` keys (", \"log\": {...}").
std::string sh_worker(const std::string& name, const std::string& script,
                      const std::string& extra = "") {
  return "{\"name\": \"" + name + "\", \"command\": [\"/bin/sh\", \"-c\", " + quoted(script) +
         "], \"stop_timeout\": \"2s\", \"start_window\": \"100ms\"" + extra + "}";
}

// A daemon supervising `workers` (JSON objects, comma-separated), on a socket of its own.
struct Daemon {
  explicit Daemon(const std::string& workers) : config(write_config(workers)), daemon(dir, config) {
    require_ready(daemon);
  }
  std::string write_config(const std::string& workers) {
    return dir.write("app.json", "{\"confvisor\": {\"segment\": \"" + seg.name() +
                                     "\", \"socket\": \"" + dir.path() +
                                     "/ctl.sock\", \"workers\": [" + workers + "]}}\n");
  }
  ~Daemon() {
    daemon.signal(SIGTERM);
    daemon.wait_exit();
  }

  RunResult ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--socket", dir.path() + "/ctl.sock"});
    return confvisorctl(daemon, args);
  }
  // The lines `logs ARGS --json` prints, parsed.
  std::vector<json::object> logs_json(std::vector<std::string> args) {
    args.insert(args.begin(), "logs");
    args.push_back("--json");
    const RunResult r = ctl(args);
    BOOST_REQUIRE_MESSAGE(r.exit_code() == 0, r.output);
    std::vector<json::object> out;
    for (const std::string& line : lines_of(r.output)) out.push_back(json::parse(line).as_object());
    return out;
  }
  // The texts of `logs ARGS --json` whose stream is `stream`.
  std::vector<std::string> texts(std::vector<std::string> args, const std::string& stream) {
    std::vector<std::string> out;
    for (const json::object& l : logs_json(std::move(args))) {
      if (l.at("stream") == stream.c_str()) out.emplace_back(l.at("text").as_string());
    }
    return out;
  }
  void require_log(const std::string& needle, std::size_t count = 1) {
    confvisor::test::require_log(daemon, needle, 10s, count);
  }
  // Waits until `logs TARGET -n 1` ends with `text` (the daemon's log may not have the line:
  // it logs at most 1000 lines a second of a worker).
  bool wait_for_last_line(const std::string& target, const std::string& text) {
    const auto deadline = Clock::now() + 10s;
    while (!contains(ctl({"logs", target, "-n", "1"}).output, text + "\n")) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(20ms);
    }
    return true;
  }

  SegmentGuard seg{"logs"};
  TempDir dir{"logs"};
  std::string config;
  DaemonProcess daemon;
};

// `confvisorctl logs ... -f` in the background, its output in a file.
struct Follower {
  Follower(Daemon& d, const std::vector<std::string>& args)
      : path(d.dir.file("follow." + std::to_string(++count) + ".out")),
        child(
            [&] {
              std::vector<std::string> argv{bin("confvisorctl"), "--socket",
                                            d.dir.path() + "/ctl.sock", "logs"};
              argv.insert(argv.end(), args.begin(), args.end());
              argv.push_back("-f");
              return argv;
            }(),
            ChildOptions{.env = {"CONFVISOR_SEGMENT"}, .output_file = path}) {}

  [[nodiscard]] std::string output() const { return read_file(path); }
  // Waits until the output has `count` lines containing `needle`.
  void require(const std::string& needle, std::size_t count = 1,
               std::chrono::milliseconds timeout = 15s) const {
    const auto deadline = Clock::now() + timeout;
    while (count_lines(output(), needle) < count) {
      if (Clock::now() > deadline) {
        BOOST_FAIL("no " << count << " line(s) with \"" << needle << "\" from the follower:\n"
                         << tail(output()));
      }
      std::this_thread::sleep_for(10ms);
    }
  }

  static inline unsigned count = 0;
  std::string path;
  Child child;
};

// Opens the FIFO `path` for writing (the worker blocked reading it goes on) and writes `line`.
void feed(const std::string& path, const std::string& line) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  BOOST_REQUIRE(fd);
  BOOST_REQUIRE(::write(fd.get(), line.data(), line.size()) == static_cast<ssize_t>(line.size()));
}

std::string make_fifo(const TempDir& dir, const std::string& name) {
  const std::string path = dir.file(name);
  BOOST_REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  return path;
}

// Polls a file's content until it contains `needle`.
bool wait_for_text(const std::string& path, const std::string& needle,
                   std::chrono::milliseconds timeout = 10s) {
  const auto deadline = Clock::now() + timeout;
  while (!contains(read_file(path), needle)) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

BOOST_AUTO_TEST_CASE(logs_shows_the_last_lines_with_their_time_instance_and_stream) {
  const long long before = now_ms();
  Daemon d(sh_worker("w",
                     "echo out-1; sleep 0.05; echo err-1 >&2; sleep 0.05; echo out-2; "
                     "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo n-$i; done; exec sleep 1000"));
  d.require_log("w[0]: n-12");
  // The default is the last 10 lines, as tail's.
  const RunResult r = d.ctl({"logs", "w"});
  BOOST_TEST_REQUIRE(r.exit_code() == 0, r.output);
  const std::vector<std::string> lines = lines_of(r.output);
  BOOST_TEST_REQUIRE(lines.size() == 10u, r.output);
  const std::regex shape(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z w\[0\] stdout: n-(\d+)$)");
  std::smatch m;
  BOOST_TEST_REQUIRE(std::regex_match(lines.front(), m, shape), lines.front());
  BOOST_TEST(m[1] == "3");
  BOOST_TEST(contains(lines.back(), " w[0] stdout: n-12"));

  // -n N, in the order the lines came, each with its stream.
  const std::vector<json::object> all = d.logs_json({"w", "-n", "all"});
  BOOST_TEST_REQUIRE(all.size() == 16u);
  const std::vector<std::pair<std::string, std::string>> first{
      {"event", ""}, {"stdout", "out-1"}, {"stderr", "err-1"}, {"stdout", "out-2"}};
  for (std::size_t i = 0; i < first.size(); ++i) {
    BOOST_TEST_INFO(json::serialize(all[i]));
    BOOST_TEST(all[i].at("stream") == first[i].first.c_str());
    if (i > 0) BOOST_TEST(all[i].at("text") == first[i].second.c_str());
    BOOST_TEST(all[i].at("worker") == "w");
    BOOST_TEST(all[i].at("instance") == 0);
    if (i > 0)
      BOOST_TEST(all[i].at("seq").to_number<long long>() >
                 all[i - 1].at("seq").to_number<long long>());
  }
  BOOST_TEST(contains(std::string(all[0].at("text").as_string()), "started: pid "));
  const long long stamp = stamp_ms(std::string(all[1].at("time").as_string()));
  BOOST_TEST(stamp >= before - 1000);
  BOOST_TEST(stamp <= now_ms() + 1000);
  const RunResult two = d.ctl({"logs", "w", "-n", "2"});
  BOOST_TEST(lines_of(two.output).size() == 2u, two.output);
  BOOST_TEST(contains(two.output, "stdout: n-11\n"));
}

BOOST_AUTO_TEST_CASE(the_buffer_keeps_at_most_its_lines_and_its_bytes) {
  Daemon d(sh_worker("by_lines", "seq 1 100; exec sleep 1000", R"(, "log": {"lines": 5})") + ", " +
           sh_worker("by_bytes",
                     "i=1; while [ $i -le 50 ]; do printf 'line-%024d\\n' $i; i=$((i+1)); done; "
                     "exec sleep 1000",
                     R"(, "log": {"bytes": "100B"})"));
  d.require_log("by_lines[0]: 100");
  d.require_log("by_bytes[0]: line-000000000000000000000050");
  BOOST_TEST((d.texts({"by_lines", "-n", "all"}, "stdout") ==
              std::vector<std::string>{"96", "97", "98", "99", "100"}));
  // 29 bytes a line: three fit in 100.
  BOOST_TEST(
      (d.texts({"by_bytes", "-n", "all"}, "stdout") ==
       std::vector<std::string>{"line-000000000000000000000048", "line-000000000000000000000049",
                                "line-000000000000000000000050"}));
}

// A line cut at 4 KiB says so; control bytes and invalid UTF-8 come escaped (the reply is
// JSON); a last line without a newline is kept, and the exit marker follows it.
BOOST_AUTO_TEST_CASE(long_lines_hostile_bytes_and_a_last_line_without_newline) {
  Daemon d(sh_worker("w",
                     "head -c 5000 /dev/zero | tr '\\0' x; echo; "
                     "printf 'bad[\\377] esc[\\033[31m] nul[\\000]\\n' >&2; "
                     "printf 'last words'; exit 3",
                     R"(, "restart": "never")"));
  d.require_log("worker w[0] (generation");
  d.require_log("not restarted");
  const std::vector<json::object> all = d.logs_json({"w", "-n", "all"});
  BOOST_TEST_REQUIRE(all.size() == 5u);
  BOOST_TEST(all[1].at("text").as_string().size() == 4096u);
  BOOST_TEST(all[1].at("cut") == true);
  // stdout and stderr are two pipes: lines of the two have no order between them.
  const bool stderr_first = all[2].at("stream") == "stderr";
  const json::object& bad = stderr_first ? all[2] : all[3];
  const json::object& last = stderr_first ? all[3] : all[2];
  BOOST_TEST(bad.at("stream") == "stderr");
  BOOST_TEST(bad.at("text") == "bad[\\xff] esc[\\x1b[31m] nul[\\x00]");
  BOOST_TEST(last.at("text") == "last words");
  BOOST_TEST(last.at("cut") == false);
  BOOST_TEST(all[4].at("stream") == "event");
  BOOST_TEST(all[4].at("text") == "exited: exit code 3");
  const RunResult human = d.ctl({"logs", "w", "-n", "4"});
  BOOST_TEST(contains(human.output, "x [line cut at 4 KiB]\n"), human.output);
  BOOST_TEST(contains(human.output, " w[0] event: exited: exit code 3\n"), human.output);
}

// "log" changes apply to the running instance: no restart, new bounds, a new file.
BOOST_AUTO_TEST_CASE(a_reload_that_changes_only_log_restarts_nothing) {
  TempDir logs("logs-reload");
  const std::string fifo = make_fifo(logs, "lines"), path = logs.file("w.log");
  const std::string script =
      "seq 1 20; while :; do read l < " + fifo + " || continue; echo got-$l; done";
  Daemon d(sh_worker("w", script, R"(, "log": {"lines": 3})"));
  d.require_log("w[0]: 20");
  BOOST_TEST(d.logs_json({"w", "-n", "all"}).size() == 3u);
  d.write_config(sh_worker("w", script, R"(, "log": {"lines": 2, "file": )" + quoted(path) + "}"));
  const RunResult reload = d.ctl({"reload"});
  BOOST_TEST_REQUIRE(reload.exit_code() == 0, reload.output);
  BOOST_TEST(!contains(reload.output, "restarting"), reload.output);
  d.require_log("worker w: its log settings changed; applied without a restart");
  BOOST_TEST((d.texts({"w", "-n", "all"}, "stdout") == std::vector<std::string>{"19", "20"}));
  feed(fifo, "y\n");
  BOOST_TEST(wait_for_text(path, " w[0] stdout: got-y\n"));
  // The same run: one start marker, no exit.
  const RunResult all = d.ctl({"logs", "w", "-n", "all"});
  BOOST_TEST(count_lines(all.output, "event: ") == 0u, all.output);
  BOOST_TEST(count_lines(d.daemon.log(), "started: pid") == 1u);
}

BOOST_AUTO_TEST_CASE(name_colon_instance_selects_one_and_an_unknown_one_is_an_error) {
  Daemon d(sh_worker("w", "echo i=$CONFVISOR_INSTANCE; exec sleep 1000", R"(, "instances": 2)"));
  d.require_log("w[1]: i=1");
  d.require_log("w[0]: i=0");
  BOOST_TEST((d.texts({"w:1"}, "stdout") == std::vector<std::string>{"i=1"}));
  BOOST_TEST(d.texts({"w"}, "stdout").size() == 2u);
  const RunResult unknown = d.ctl({"logs", "nope"});
  BOOST_TEST(unknown.exit_code() == 1);
  BOOST_TEST(contains(unknown.output, "confvisorctl: logs failed: "), unknown.output);
  BOOST_TEST(contains(unknown.output, "\"nope\""), unknown.output);
  BOOST_TEST(contains(unknown.output, "w"), unknown.output);
  const RunResult no_instance = d.ctl({"logs", "w:7"});
  BOOST_TEST(no_instance.exit_code() == 1, no_instance.output);
  const RunResult bad_count = d.ctl({"logs", "w", "-n", "many"});
  BOOST_TEST(bad_count.exit_code() == 2, bad_count.output);
  const RunResult not_for_status = d.ctl({"status", "-f"});
  BOOST_TEST(not_for_status.exit_code() == 2, not_for_status.output);
}

BOOST_AUTO_TEST_CASE(follow_goes_on_across_restarts_and_marks_each_exit_and_start) {
  Daemon d(sh_worker("w", "echo hello-$$; exec sleep 1000"));
  d.require_log("w[0]: hello-");
  Follower f(d, {"w", "-n", "1"});
  f.require("stdout: hello-");
  BOOST_TEST(d.ctl({"restart", "w"}).exit_code() == 0);
  f.require("event: exited: killed by SIGTERM");
  f.require("event: started: pid ");
  f.require("stdout: hello-", 2);
  const std::vector<std::string> lines = lines_of(f.output());
  BOOST_TEST_REQUIRE(lines.size() == 4u, f.output());
  BOOST_TEST(contains(lines[1], "exited:"));
  BOOST_TEST(contains(lines[2], "started:"));
  BOOST_TEST(contains(lines[3], "hello-"));
  // Interrupted, it ends; the daemon lets go of the follower.
  ::kill(f.child.pid(), SIGINT);
  const int status = f.child.wait_for(5s);
  BOOST_TEST((WIFSIGNALED(status) && WTERMSIG(status) == SIGINT), describe_wait_status(status));
  BOOST_TEST(d.ctl({"status"}).exit_code() == 0);
}

// The daemon never waits for a follower: one that is SIGSTOPped while the worker floods costs
// it a bounded queue, status is answered at once meanwhile, and once it goes on it hears how
// many lines it missed. Every line reaches it or is counted.
BOOST_AUTO_TEST_CASE(a_stopped_follower_loses_lines_counted_and_never_slows_the_daemon) {
  TempDir fifo_dir("logs-fifo");
  const std::string go = make_fifo(fifo_dir, "go");
  constexpr int kBursts = 10, kPerBurst = 10000;
  Daemon d(sh_worker("w",
                     "read x < " + go + "; i=0; while [ $i -lt " + std::to_string(kBursts) +
                         " ]; do seq 1 " + std::to_string(kPerBurst) +
                         "; i=$((i+1)); sleep 0.05; done; exit 0",
                     R"(, "restart": "never")"));
  Follower f(d, {"w", "-n", "all", "--json"});
  f.require("started: pid");  // it is subscribed
  BOOST_REQUIRE(::kill(f.child.pid(), SIGSTOP) == 0);
  feed(go, "go\n");
  // The flood goes on while the follower sleeps; the daemon goes on answering. A daemon that
  // waited for the follower would answer only after the 10 s write timeout; 3 s leaves room
  // for relaying the flood itself under a sanitizer on a loaded machine.
  for (int i = 0; i < 3; ++i) {
    const auto asked = Clock::now();
    const RunResult status = d.ctl({"status"});
    const auto took = Clock::now() - asked;
    BOOST_TEST(status.exit_code() == 0, status.output);
    BOOST_TEST(took < 3s, std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                              << " ms for status");
  }
  d.require_log("exited (exit code 0); not restarted");
  BOOST_REQUIRE(::kill(f.child.pid(), SIGCONT) == 0);
  // What it was sent, once the queue has drained: the lines it got and the drop notices.
  constexpr std::uint64_t kExpected = static_cast<std::uint64_t>(kBursts) * kPerBurst + 1;
  std::uint64_t received = 0, dropped = 0, notices = 0;
  const auto deadline = Clock::now() + 20s;
  for (;;) {
    received = dropped = notices = 0;
    std::string whole = f.output();
    whole.erase(whole.rfind('\n') + 1);  // a line being written is not whole yet
    for (const std::string& line : lines_of(whole)) {
      const json::object o = json::parse(line).as_object();
      if (const json::value* n = o.if_contains("dropped")) {
        dropped += n->to_number<std::uint64_t>();
        ++notices;
      } else if (!contains(std::string(o.at("text").as_string()), "started: pid")) {
        ++received;
      }
    }
    if (received + dropped >= kExpected || Clock::now() > deadline) break;
    std::this_thread::sleep_for(20ms);
  }
  BOOST_TEST_MESSAGE(received << " lines received, " << dropped << " dropped in " << notices
                              << " notice(s)");
  BOOST_TEST(dropped > 0u);
  // The flood's lines and the exit marker, each received or counted, none twice.
  BOOST_TEST(received + dropped == kExpected);
}

BOOST_AUTO_TEST_CASE(a_stopped_human_follower_prints_how_many_lines_it_missed) {
  TempDir fifo_dir("logs-fifo");
  const std::string go = make_fifo(fifo_dir, "go");
  Daemon d(sh_worker("w", "read x < " + go + "; seq 1 50000; exec sleep 1000"));
  Follower f(d, {"w", "-n", "all"});
  f.require("started: pid");
  BOOST_REQUIRE(::kill(f.child.pid(), SIGSTOP) == 0);
  feed(go, "go\n");
  // The last line has been read once a new `logs` shows it.
  BOOST_REQUIRE(d.wait_for_last_line("w", "stdout: 50000"));
  BOOST_REQUIRE(::kill(f.child.pid(), SIGCONT) == 0);
  f.require("lines dropped");
  const std::string out = f.output();
  const std::regex notice(
      R"(confvisorctl: ([0-9]+) lines dropped \(this client did not keep up\))");
  std::smatch m;
  BOOST_TEST_REQUIRE(std::regex_search(out, m, notice), tail(out));
  BOOST_TEST(std::stoul(m[1]) > 0u);
}

BOOST_AUTO_TEST_CASE(log_files_rotate_by_size_and_reopen_on_sigusr1_after_a_move) {
  TempDir logs("logs-files");
  const std::string rotated = logs.file("rotated.log"), moved = logs.file("moved.log");
  const std::string fifo = make_fifo(logs, "lines");
  Daemon d(
      sh_worker("rotated",
                "seq -f 'line %04g ........................................' 1 300; "
                "exec sleep 1000",
                R"(, "log": {"file": )" + quoted(rotated) + R"(, "max_size": "4KiB", "keep": 2})") +
      ", " +
      sh_worker("moved", "while :; do read l < " + fifo + " || continue; echo got-$l; done",
                R"(, "log": {"file": )" + quoted(moved) + R"(, "max_size": null})"));
  d.require_log("rotated[0]: line 0300");
  // About 28 KiB in files of at most 4 KiB: the newest in rotated.log, two older ones kept.
  for (const std::string& p : {rotated, rotated + ".1", rotated + ".2"}) {
    BOOST_TEST_INFO(p);
    BOOST_TEST_REQUIRE(fs::exists(p));
    BOOST_TEST(fs::file_size(p) <= 4096u);
    BOOST_TEST(fs::file_size(p) > 0u);
  }
  BOOST_TEST(!fs::exists(rotated + ".3"));
  const std::vector<std::string> newest = lines_of(read_file(rotated)),
                                 older = lines_of(read_file(rotated + ".1"));
  BOOST_TEST_REQUIRE(!newest.empty());
  BOOST_TEST_REQUIRE(!older.empty());
  BOOST_TEST(contains(newest.back(), " rotated[0] stdout: line 0300 ......"));
  const std::regex shape(
      R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z rotated\[0\] stdout: line (\d{4}) \.+$)");
  std::smatch last_older, first_newest;
  BOOST_TEST_REQUIRE(std::regex_match(older.back(), last_older, shape), older.back());
  BOOST_TEST_REQUIRE(std::regex_match(newest.front(), first_newest, shape), newest.front());
  // No line lost or doubled at the seam.
  BOOST_TEST(std::stoi(last_older[1]) + 1 == std::stoi(first_newest[1]));

  // logrotate moves the file; the daemon writes to it until SIGUSR1, then to a new one.
  feed(fifo, "a\n");
  BOOST_TEST_REQUIRE(wait_for_text(moved, "stdout: got-a"));
  fs::rename(moved, logs.file("moved.log.1"));
  feed(fifo, "b\n");
  BOOST_TEST(wait_for_text(logs.file("moved.log.1"), "stdout: got-b"));
  BOOST_TEST(d.daemon.signal(SIGUSR1));
  d.require_log("log file " + moved + ": opened again");
  feed(fifo, "c\n");
  BOOST_TEST(wait_for_text(moved, "stdout: got-c"));
  BOOST_TEST(!contains(read_file(logs.file("moved.log.1")), "got-c"));
  BOOST_TEST(!contains(read_file(moved), "got-b"));
}

BOOST_AUTO_TEST_CASE(a_log_file_that_is_a_fifo_or_a_directory_or_has_no_directory_is_refused) {
  TempDir dir("logs-check");
  const std::string fifo = make_fifo(dir, "fifo");
  fs::create_directory(dir.file("adir"));
  auto check = [&](const std::string& file) {
    const std::string config = dir.write(
        "c.json", "{\"confvisor\": {\"segment\": \"t-logs-check\", \"workers\": [" +
                      sh_worker("w", "true", R"(, "log": {"file": )" + quoted(file) + "}") + "]}}");
    return run({bin("confvisord"), "--check", "--config", config});
  };
  const RunResult on_fifo = check(fifo);
  BOOST_TEST(on_fifo.exit_code() == 1);
  BOOST_TEST(contains(on_fifo.output, "/confvisor/workers/0/log/file: \"" + fifo +
                                          "\" is a FIFO, not a regular file"),
             on_fifo.output);
  const RunResult on_dir = check(dir.file("adir"));
  BOOST_TEST(contains(on_dir.output, "is a directory, not a regular file"), on_dir.output);
  const RunResult no_dir = check(dir.file("missing/w.log"));
  BOOST_TEST(contains(no_dir.output, "/confvisor/workers/0/log/file: the directory of"),
             no_dir.output);
  BOOST_TEST(contains(no_dir.output, "does not exist"), no_dir.output);
  const RunResult relative = check("w.log");
  BOOST_TEST(contains(relative.output, "/confvisor/workers/0/log/file: expected an absolute path"),
             relative.output);
}

// The file is replaced by a FIFO that someone reads: SIGUSR1 must neither block on it nor feed
// that reader, and the lines go on to the buffer.
BOOST_AUTO_TEST_CASE(a_log_file_replaced_by_a_fifo_is_refused_at_reopen_without_blocking) {
  TempDir logs("logs-fifo-file");
  const std::string path = logs.file("w.log");
  const std::string lines = make_fifo(logs, "lines");
  Daemon d(sh_worker("w", "while :; do read l < " + lines + " || continue; echo got-$l; done",
                     R"(, "log": {"file": )" + quoted(path) + "}"));
  fs::remove(path);
  BOOST_REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  UniqueFd reader(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  BOOST_REQUIRE(reader);
  BOOST_TEST(d.daemon.signal(SIGUSR1));
  d.require_log("log file " + path + ": it is a FIFO, not a regular file");
  feed(lines, "x\n");
  d.require_log("w[0]: got-x");
  BOOST_TEST(d.ctl({"status"}).exit_code() == 0);
  const RunResult last = d.ctl({"logs", "w", "-n", "1"});
  BOOST_TEST(contains(last.output, "stdout: got-x"), last.output);
  char byte = 0;
  BOOST_TEST(::read(reader.get(), &byte, 1) <= 0);  // nothing was written to the FIFO
}

namespace {

// Runs `body` in a child with a private mount namespace and a tmpfs of `size` at `dir`: a file
// system the test fills. Exit code 77 if the namespace cannot be made.
int with_small_tmpfs(const std::string& dir, const std::string& size,
                     const std::function<int()>& body) {
  Child child([&] {
    if (::unshare(CLONE_NEWNS) != 0) return 77;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 77;
    if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
                ("size=" + size + ",mode=0700").c_str()) != 0) {
      return 77;
    }
    return body();
  });
  return exit_code(child.wait_for(60s));
}

bool can_mount_a_tmpfs(boost::unit_test::test_unit_id) {
  TempDir dir("logs-tmpfs");
  return with_small_tmpfs(dir.path(), "64k", [] { return 0; }) == 0;
}

}  // namespace

// ENOSPC: the daemon says so once, counts what it could not write, and says how many once
// there is room again; it supervises and answers meanwhile.
BOOST_AUTO_TEST_CASE(a_full_disk_under_the_log_file_is_counted_and_survived,
                     *boost::unit_test::precondition(can_mount_a_tmpfs)) {
  TempDir mount_point("logs-full");
  const int code = with_small_tmpfs(mount_point.path(), "64k", [&] {
    const std::string path = mount_point.path() + "/w.log";
    TempDir fifo_dir("logs-full-fifo");
    const std::string lines = fifo_dir.file("lines");
    EXPECT(::mkfifo(lines.c_str(), 0600) == 0, 10);
    Daemon d(sh_worker(
        "w", "while :; do read l < " + lines + " || continue; seq -f \"$l %g\" 1 $l; done",
        R"(, "log": {"file": )" + quoted(path) + R"(, "max_size": null})"));
    // Far more than 64 KiB.
    feed(lines, "2000\n");
    EXPECT(wait_for_log(d.daemon, "log file " + path + ": unable to write: No space left", 10s),
           11);
    EXPECT(d.wait_for_last_line("w", "stdout: 2000 2000"), 12);
    EXPECT(d.ctl({"status"}).exit_code() == 0, 13);
    EXPECT(count_lines(d.daemon.log(), "No space left") == 1, 14);  // said once
    EXPECT(::truncate(path.c_str(), 0) == 0, 15);
    feed(lines, "1\n");
    EXPECT(wait_for_log(d.daemon, "log file " + path + ": writing again; ", 10s), 16);
    const std::string said = log_lines(d.daemon.log(), "writing again; ").front();
    const auto lost = std::stoul(said.substr(said.find("writing again; ") + 15));
    EXPECT(lost > 0 && lost < 2000, 17);
    EXPECT(contains(read_file(path), "stdout: 1 1\n"), 18);
    return 0;
  });
  BOOST_TEST(code == 0);
}
