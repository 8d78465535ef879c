// The operator's surface: the real confvisord's control socket driven by the real
// confvisorctl (and, for the protocol itself, by a raw socket), real workers, real
// permissions. Exit codes and --json shapes are what scripts rely on, so they are asserted.
#define BOOST_TEST_MODULE control
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <sstream>
#include <thread>

#include "common/os/unique_fd.hpp"
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

// Two instances of /bin/sleep and one of a second worker; `version` changes the app section.
std::string config_text(const std::string& segment, const std::string& socket, int version,
                        const std::string& extra_settings = "",
                        const std::string& sleeper_arg = "1000") {
  return "{\n  \"confvisor\": {\"segment\": \"" + segment + "\", \"socket\": \"" + socket + "\"" +
         extra_settings +
         ",\n    \"workers\": [\n"
         "      {\"name\": \"sleeper\", \"command\": [\"/bin/sleep\", \"" +
         sleeper_arg +
         "\"], \"instances\": 2,\n"
         "       \"start_window\": \"100ms\", \"stop_timeout\": \"5s\"},\n"
         "      {\"name\": \"other\", \"command\": [\"/bin/sleep\", \"1001\"], \"start_window\": "
         "\"100ms\",\n"
         "       \"on_reload\": \"restart\"},\n"
         "    ]},\n"
         "  // what workers read\n"
         "  \"app\": {\"version\": " +
         std::to_string(version) + "},\n}\n";
}

struct Setup {
  explicit Setup(const std::string& extra_settings = "") : extra(extra_settings) {}
  SegmentGuard seg{"ctl"};
  TempDir dir;
  std::string extra;
  [[nodiscard]] std::string socket() const { return dir.path() + "/ctl.sock"; }
  std::string write(int version, const std::string& sleeper_arg = "1000") const {
    return dir.write("app.json", config_text(seg.name(), socket(), version, extra, sleeper_arg));
  }
  [[nodiscard]] std::string path() const { return dir.path() + "/app.json"; }
};

// confvisorctl against the test's daemon, on its socket.
RunResult ctl(DaemonProcess& d, const Setup& s, std::vector<std::string> args,
              const std::vector<std::string>& prefix = {}) {
  args.insert(args.begin(), {"--socket", s.socket()});
  return confvisorctl(d, args, prefix);
}

json::value parse(const RunResult& r) {
  BOOST_TEST_REQUIRE(r.exit_code() == 0, r.output);
  json::error_code ec;
  json::value v = json::parse(r.output, ec);
  BOOST_TEST_REQUIRE(!ec, "not one JSON document: " << r.output);
  return v;
}

json::array workers_of(DaemonProcess& d, const Setup& s) {
  return parse(ctl(d, s, {"status", "--json"})).at("workers").as_array();
}

pid_t pid_of(const json::array& workers, const std::string& name, unsigned instance) {
  for (const auto& w : workers) {
    if (w.at("name").as_string() == name && w.at("instance").to_number<unsigned>() == instance) {
      return w.at("pid").is_null() ? 0 : w.at("pid").to_number<pid_t>();
    }
  }
  BOOST_FAIL("no " << name << ":" << instance << " in status");
  return 0;
}

std::string state_of(const json::array& workers, const std::string& name, unsigned instance) {
  for (const auto& w : workers) {
    if (w.at("name").as_string() == name && w.at("instance").to_number<unsigned>() == instance) {
      return std::string(w.at("state").as_string());
    }
  }
  return "missing";
}

// A raw connection speaking the protocol, to test what confvisorctl never sends.
class RawClient {
 public:
  explicit RawClient(const std::string& path)
      : fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    BOOST_TEST_REQUIRE(::connect(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    timeval tv{10, 0};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  void send(const std::string& text) const {
    BOOST_TEST_REQUIRE(::send(fd_.get(), text.data(), text.size(), MSG_NOSIGNAL) ==
                       static_cast<ssize_t>(text.size()));
  }
  // The next reply line, parsed ("" and a failed test on EOF or timeout).
  json::object reply() {
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        const std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return json::parse(line).as_object();
      }
      char buf[4096];
      const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      BOOST_TEST_REQUIRE(n > 0, "connection closed or timed out before a reply");
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
  }
  // True once the daemon has closed its end: end of file, or a reset when it closed with
  // some of our bytes unread (Linux reports that as ECONNRESET on a Unix socket).
  bool closed_by_peer() const {
    char c;
    const ssize_t n = ::recv(fd_.get(), &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  UniqueFd fd_;
  std::string buffer_;
};

// Runs confvisorctl as uid/gid 65534 (nobody/nogroup), without supplementary groups.
const std::vector<std::string> kAsNobody = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                            "--clear-groups", "--"};

}  // namespace

BOOST_AUTO_TEST_CASE(status_shows_every_instance_in_a_table_and_in_json) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);

  const json::value status = parse(ctl(d, s, {"status", "--json"}));
  BOOST_TEST(status.at("generation").to_number<int>() == 1);
  BOOST_TEST(status.at("source").as_string() == s.path());
  BOOST_TEST(status.at("live_matches_file").as_bool());
  BOOST_TEST(status.at("pid").to_number<pid_t>() == d.pid());
  const json::array& workers = status.at("workers").as_array();
  BOOST_TEST_REQUIRE(workers.size() == 3u);
  for (const auto& w : workers) {
    for (const char* key :
         {"name", "instance", "pid", "state", "restarts", "uptime_ms", "last_exit"}) {
      BOOST_TEST(w.as_object().contains(key), key);
    }
    BOOST_TEST(w.at("state").as_string() == "RUNNING");
    BOOST_TEST(w.at("restarts").to_number<int>() == 0);
    const pid_t pid = w.at("pid").to_number<pid_t>();
    BOOST_TEST(alive(pid));
    BOOST_TEST(contains(proc_cmdline(pid), "/bin/sleep 100"));  // the real worker
  }

  const RunResult table = ctl(d, s, {"status"});
  BOOST_TEST(table.exit_code() == 0);
  BOOST_TEST(contains(table.output, "generation 1, published "));
  BOOST_TEST(contains(table.output, "WORKER"));
  for (const char* row : {"sleeper:0", "sleeper:1", "other:0"})
    BOOST_TEST(contains(table.output, row), row);
  BOOST_TEST(contains(table.output, std::to_string(pid_of(workers, "sleeper", 1))));

  // --config finds the same daemon through the socket its file names.
  d.drain_notifications();
  const RunResult by_config = run({bin("confvisorctl"), "--config", s.path(), "status"});
  BOOST_TEST(by_config.exit_code() == 0, by_config.output);
  BOOST_TEST(contains(by_config.output, "confvisord pid " + std::to_string(d.pid())));
}

BOOST_AUTO_TEST_CASE(
    reload_answers_after_the_publish_and_exits_1_with_the_errors_of_a_rejected_file) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  Reader reader(s.seg.name());

  s.write(2);
  const RunResult ok = ctl(d, s, {"reload"});
  BOOST_TEST(ok.exit_code() == 0, ok.output);
  BOOST_TEST(contains(ok.output, "reload ok: generation 2"), ok.output);
  // The reply came after the publish: a reader sees it at once.
  BOOST_TEST(reader.current().generation() == 2u);
  BOOST_TEST(reader.current().get<std::int64_t>("/app/version") == 2);

  const RunResult same = ctl(d, s, {"reload"});
  BOOST_TEST(same.exit_code() == 0);
  BOOST_TEST(contains(same.output, "reload unchanged: generation 2"), same.output);

  s.dir.write("app.json", "{\"confvisor\": {\"segment\": \"" + s.seg.name() + "\", \"socket\": \"" +
                              s.socket() + "\",\n  \"histroy\": 3}}\n");
  const RunResult bad = ctl(d, s, {"reload"});
  BOOST_TEST(bad.exit_code() == 1);
  BOOST_TEST(contains(bad.output, "reload failed: generation 2 stays published"), bad.output);
  BOOST_TEST(contains(bad.output, "/confvisor/histroy: unknown key"), bad.output);
  BOOST_TEST(reader.current().generation() == 2u);

  const json::value status = parse(ctl(d, s, {"status", "--json"}));
  const json::object& last = status.at("last_reload").as_object();
  BOOST_TEST(last.at("result").as_string() == "failed");
  BOOST_TEST(contains(std::string(last.at("error").as_string()), "histroy"));
  BOOST_TEST(status.at("workers").as_array().size() == 3u);  // a failed reload changes no process

  fs::remove(s.path());
  const RunResult missing = ctl(d, s, {"reload", "--json"});
  BOOST_TEST(missing.exit_code() == 1);
  BOOST_TEST(contains(missing.output, "\"ok\":false"), missing.output);
  BOOST_TEST(contains(missing.output, "No such file or directory"), missing.output);
}

BOOST_AUTO_TEST_CASE(stop_start_restart_act_on_a_worker_or_one_instance_and_wait_until_done) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  const json::array before = workers_of(d, s);
  const pid_t first = pid_of(before, "sleeper", 0), second = pid_of(before, "sleeper", 1);

  const RunResult stop = ctl(d, s, {"stop", "sleeper:1"});
  BOOST_TEST(stop.exit_code() == 0, stop.output);
  BOOST_TEST(contains(stop.output, "sleeper:1: STOPPED"), stop.output);
  BOOST_TEST(!alive(second));  // the reply waited for the exit
  BOOST_TEST(alive(first));

  // An operator's stop holds through a reload that restarts its worker.
  s.write(2);
  BOOST_TEST(ctl(d, s, {"reload"}).exit_code() == 0);
  s.write(3, "1002");
  BOOST_TEST(ctl(d, s, {"reload"}).exit_code() == 0);  // sleeper changed: a rolling restart
  for (int i = 0; i < 250 && state_of(workers_of(d, s), "sleeper", 0) != "RUNNING"; ++i) {
    std::this_thread::sleep_for(20ms);  // the rolling restart goes on after the reply
  }
  const json::array after_reload = workers_of(d, s);
  BOOST_TEST(pid_of(after_reload, "sleeper", 0) != first);
  BOOST_TEST(state_of(after_reload, "sleeper", 0) == "RUNNING");
  BOOST_TEST(state_of(after_reload, "sleeper", 1) == "STOPPED");

  const RunResult start = ctl(d, s, {"start", "sleeper:1"});
  BOOST_TEST(start.exit_code() == 0, start.output);
  BOOST_TEST(contains(start.output, "sleeper:1: RUNNING (pid "), start.output);
  const pid_t started = pid_of(workers_of(d, s), "sleeper", 1);
  BOOST_TEST(alive(started));
  BOOST_TEST(contains(proc_cmdline(started), "/bin/sleep 1002"));  // the new definition

  const json::array old = workers_of(d, s);
  const RunResult restart = ctl(d, s, {"restart", "sleeper", "--json"});
  BOOST_TEST(restart.exit_code() == 0, restart.output);
  const json::array restarted = parse(restart).at("instances").as_array();
  BOOST_TEST(restarted.size() == 2u);
  for (unsigned i = 0; i < 2; ++i) {
    BOOST_TEST(state_of(restarted, "sleeper", i) == "RUNNING");
    BOOST_TEST(pid_of(restarted, "sleeper", i) != pid_of(old, "sleeper", i));
    BOOST_TEST(!alive(pid_of(old, "sleeper", i)));
    BOOST_TEST(alive(pid_of(restarted, "sleeper", i)));
  }
  BOOST_TEST(pid_of(workers_of(d, s), "other", 0) == pid_of(old, "other", 0));  // untouched
}

BOOST_AUTO_TEST_CASE(a_start_that_fails_for_good_exits_1_naming_the_state) {
  Setup s;
  // A worker that exits at once: after its restart limit it is FATAL, and `start` says so.
  const std::string text = "{\"confvisor\": {\"segment\": \"" + s.seg.name() +
                           "\", \"socket\": \"" + s.socket() +
                           "\", \"workers\": [{\"name\": \"flaky\", \"command\": [\"/bin/false\"],"
                           " \"backoff\": {\"initial\": \"10ms\", \"max\": \"10ms\"},"
                           " \"restart_limit\": {\"count\": 2, \"period\": \"10s\"}}]}}";
  DaemonProcess d(s.dir, s.dir.write("app.json", text));
  require_ready(d);
  const RunResult start = ctl(d, s, {"start", "flaky"});
  BOOST_TEST(start.exit_code() == 1, start.output);
  BOOST_TEST(
      contains(start.output,
               "start failed: start did not complete: flaky:0 is FATAL (last exit: exit code 1)"),
      start.output);
}

BOOST_AUTO_TEST_CASE(unknown_workers_and_instances_are_refused_with_what_there_is) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  const RunResult nope = ctl(d, s, {"restart", "slepper"});
  BOOST_TEST(nope.exit_code() == 1);
  BOOST_TEST(contains(nope.output, "no worker named \"slepper\" (workers: sleeper, other)"),
             nope.output);
  const RunResult five = ctl(d, s, {"stop", "sleeper:5"});
  BOOST_TEST(five.exit_code() == 1);
  BOOST_TEST(contains(five.output, "worker sleeper has 2 instance(s)"), five.output);
  BOOST_TEST(state_of(workers_of(d, s), "sleeper", 0) == "RUNNING");
}

BOOST_AUTO_TEST_CASE(
    history_lists_kept_generations_and_rollback_republishes_one_leaving_the_file_alone) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  for (int version = 2; version <= 3; ++version) {
    s.write(version);
    BOOST_TEST_REQUIRE(ctl(d, s, {"reload"}).exit_code() == 0);
  }
  const json::array history = parse(ctl(d, s, {"history", "--json"})).as_array();
  BOOST_TEST_REQUIRE(history.size() == 3u);
  for (std::size_t i = 0; i < history.size(); ++i) {
    const json::object& g = history[i].as_object();
    BOOST_TEST(g.at("generation").to_number<std::size_t>() == i + 1);
    BOOST_TEST(g.at("source").as_string() == s.path());
    BOOST_TEST(g.at("size").to_number<std::size_t>() > 0u);
    BOOST_TEST(std::string(g.at("published_at").as_string()).ends_with("Z"));
  }
  const RunResult table = ctl(d, s, {"history"});
  BOOST_TEST(contains(table.output, "3 (live)"), table.output);

  const std::string file_before = read_file(s.path());
  const RunResult rollback = ctl(d, s, {"rollback", "1"});
  BOOST_TEST(rollback.exit_code() == 0, rollback.output);
  BOOST_TEST(contains(rollback.output, "rollback ok: generation 4"), rollback.output);
  Reader reader(s.seg.name());
  BOOST_TEST(reader.current().generation() == 4u);
  BOOST_TEST(reader.current().get<std::int64_t>("/app/version") == 1);
  BOOST_TEST(read_file(s.path()) == file_before);

  const json::value status = parse(ctl(d, s, {"status", "--json"}));
  BOOST_TEST(!status.at("live_matches_file").as_bool());
  BOOST_TEST(contains(ctl(d, s, {"status"}).output, "the live config differs from " + s.path()));
  BOOST_TEST(contains(ctl(d, s, {"get", "/app/version"}).output, "1"));

  const RunResult gone = ctl(d, s, {"rollback", "99"});
  BOOST_TEST(gone.exit_code() == 1);
  BOOST_TEST(contains(gone.output, "generation 99 is not kept"), gone.output);

  // A reload goes back to the file.
  BOOST_TEST(ctl(d, s, {"reload"}).exit_code() == 0);
  BOOST_TEST(reader.current().get<std::int64_t>("/app/version") == 3);
  BOOST_TEST(parse(ctl(d, s, {"status", "--json"})).at("live_matches_file").as_bool());
}

BOOST_AUTO_TEST_CASE(get_through_the_daemon_matches_the_segment) {
  Setup s;
  DaemonProcess d(s.dir, s.write(7));
  require_ready(d);
  const RunResult via_daemon = ctl(d, s, {"get", "/app"});
  BOOST_TEST(via_daemon.exit_code() == 0);
  BOOST_TEST(via_daemon.output == "{\"version\":7}\n");
  const RunResult via_segment =
      run({bin("confvisorctl"), "get", "/app", "--segment", s.seg.name()});
  BOOST_TEST(via_segment.output == via_daemon.output);
  const RunResult missing = ctl(d, s, {"get", "/app/nope"});
  BOOST_TEST(missing.exit_code() == 1);
  BOOST_TEST(contains(missing.output, "/app/nope: not found in generation 1"), missing.output);
}

BOOST_AUTO_TEST_CASE(no_daemon_exits_3_and_a_stale_socket_never_blocks_a_restart) {
  Setup s;
  const std::string path = s.write(1);
  const RunResult none = run({bin("confvisorctl"), "--socket", s.socket(), "status"});
  BOOST_TEST(none.exit_code() == 3);
  BOOST_TEST(contains(none.output, "confvisord is not running"), none.output);
  {
    DaemonProcess d(s.dir, path);
    require_ready(d);
    d.signal(SIGKILL);
    d.wait_exit();
  }
  BOOST_TEST_REQUIRE(fs::is_socket(s.socket()));  // left behind by the killed daemon
  const RunResult refused = run({bin("confvisorctl"), "--socket", s.socket(), "status"});
  BOOST_TEST(refused.exit_code() == 3, refused.output);

  DaemonProcess again(s.dir, path);
  require_ready(again);
  BOOST_TEST(contains(again.log(), "was left by a daemon that is gone: replacing it"));
  BOOST_TEST(ctl(again, s, {"status"}).exit_code() == 0);
  again.signal(SIGTERM);
  BOOST_TEST(again.wait_exit() == 0);
  BOOST_TEST(!fs::exists(s.socket()));  // a clean exit removes it
}

BOOST_AUTO_TEST_CASE(a_socket_a_live_daemon_holds_is_never_taken_over) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  SegmentGuard other_seg("ctl2");
  const std::string other = s.dir.write("other.json", config_text(other_seg.name(), s.socket(), 1));
  const RunResult second = run({bin("confvisord"), "--config", other});
  BOOST_TEST(second.exit_code() == 1);
  BOOST_TEST(
      contains(second.output, "is in use by another daemon (pid " + std::to_string(d.pid()) + ")"),
      second.output);
  BOOST_TEST(ctl(d, s, {"status"}).exit_code() == 0);
}

BOOST_AUTO_TEST_CASE(the_socket_is_0660_and_others_are_refused_by_mode_and_by_peer_credentials) {
  if (::geteuid() != 0) {
    BOOST_TEST_MESSAGE("skipped: needs root to run a client as another user");
    return;
  }
  Setup s;
  fs::permissions(s.dir.path(), fs::perms::others_exec | fs::perms::group_exec,
                  fs::perm_options::add);
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  struct stat st {};
  BOOST_TEST_REQUIRE(::stat(s.socket().c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 07777) == 0660u);

  const RunResult by_mode = ctl(d, s, {"status"}, kAsNobody);
  BOOST_TEST(by_mode.exit_code() == 4, by_mode.output);
  BOOST_TEST(contains(by_mode.output, "permission denied"), by_mode.output);

  // With the file opened up, the daemon's own check still refuses, and logs who it was.
  BOOST_TEST_REQUIRE(::chmod(s.socket().c_str(), 0666) == 0);
  const RunResult by_peer = ctl(d, s, {"status"}, kAsNobody);
  BOOST_TEST(by_peer.exit_code() == 4, by_peer.output);
  BOOST_TEST(contains(by_peer.output, "is not root"), by_peer.output);
  BOOST_TEST(contains(d.log(), "control: refused pid "));
  BOOST_TEST(contains(d.log(), "uid 65534"));
}

BOOST_AUTO_TEST_CASE(members_of_the_configured_group_may_use_the_socket) {
  if (::geteuid() != 0) {
    BOOST_TEST_MESSAGE("skipped: needs root to run a client as another user");
    return;
  }
  const group* nogroup = ::getgrgid(65534);
  BOOST_TEST_REQUIRE(nogroup != nullptr);
  Setup s(std::string(", \"group\": \"") + nogroup->gr_name + "\"");
  fs::permissions(s.dir.path(), fs::perms::others_exec | fs::perms::group_exec,
                  fs::perm_options::add);
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  struct stat st {};
  BOOST_TEST_REQUIRE(::stat(s.socket().c_str(), &st) == 0);
  BOOST_TEST(st.st_gid == 65534u);
  const RunResult member = ctl(d, s, {"status"}, kAsNobody);
  BOOST_TEST(member.exit_code() == 0, member.output);
  BOOST_TEST(contains(member.output, "sleeper:0"));
}

BOOST_AUTO_TEST_CASE(the_protocol_is_versioned_ndjson_answered_in_order) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  RawClient c(s.socket());
  // Several requests in one write: one reply each, in order.
  c.send(
      "{\"version\":1,\"command\":\"get\",\"pointer\":\"/app/version\"}\n"
      "{\"command\":\"status\"}\n"
      "{\"version\":2,\"command\":\"status\"}\n"
      "{\"version\":1,\"command\":\"frobnicate\"}\n"
      "not json\n"
      "{\"version\":1,\"command\":\"stop\",\"worker\":7}\n"
      "{\"version\":1,\"command\":\"status\"}\n");
  json::object first = c.reply();
  BOOST_TEST(first.at("version").to_number<int>() == 1);
  BOOST_TEST(first.at("ok").as_bool());
  BOOST_TEST(first.at("result").at("value").to_number<int>() == 1);
  json::object no_version = c.reply();
  BOOST_TEST(!no_version.at("ok").as_bool());
  BOOST_TEST(no_version.at("code").as_string() == "bad-request");
  BOOST_TEST(contains(std::string(no_version.at("error").as_string()), "speaks version 1"));
  json::object v2 = c.reply();
  BOOST_TEST(
      contains(std::string(v2.at("error").as_string()), "protocol version 2 is not spoken here"));
  json::object unknown = c.reply();
  BOOST_TEST(
      contains(std::string(unknown.at("error").as_string()), "unknown command \"frobnicate\""));
  BOOST_TEST(c.reply().at("code").as_string() == "bad-request");  // not JSON
  BOOST_TEST(
      contains(std::string(c.reply().at("error").as_string()), "\"worker\" must be a string"));
  BOOST_TEST(c.reply().at("ok").as_bool());  // the connection still serves

  // A line longer than the limit closes the connection after one error.
  RawClient big(s.socket());
  big.send(std::string(70 * 1024, 'x'));
  BOOST_TEST(contains(std::string(big.reply().at("error").as_string()), "too long"));
  BOOST_TEST(big.closed_by_peer());
  BOOST_TEST(ctl(d, s, {"status"}).exit_code() == 0);
}

BOOST_AUTO_TEST_CASE(workers_inherit_no_descriptor_of_the_daemon) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  RawClient open_connection(s.socket());  // an accepted control connection exists too
  BOOST_TEST(ctl(d, s, {"restart", "other"}).exit_code() == 0);
  const pid_t pid = pid_of(workers_of(d, s), "other", 0);
  std::vector<std::string> fds;
  for (const auto& entry : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    fds.push_back(entry.path().filename().string() + " -> " +
                  fs::read_symlink(entry.path()).string());
  }
  std::sort(fds.begin(), fds.end());
  std::ostringstream all;
  for (const auto& f : fds) all << f << '\n';
  // stdin (/dev/null), stdout and stderr (pipes to the daemon), and nothing else: not the
  // control socket, not the signalfd, not another worker's pipes.
  BOOST_TEST(fds.size() == 3u, all.str());
}

BOOST_AUTO_TEST_CASE(duplicate_keys_and_unknown_fields_are_bad_requests_that_change_nothing) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  const pid_t before = pid_of(workers_of(d, s), "sleeper", 0);
  RawClient c(s.socket());
  // Boost.JSON alone keeps the last "command": this line would stop the worker.
  c.send("{\"version\":1,\"command\":\"status\",\"command\":\"stop\",\"worker\":\"sleeper\"}\n");
  json::object duplicate = c.reply();
  BOOST_TEST(duplicate.at("code").as_string() == "bad-request");
  BOOST_TEST(contains(std::string(duplicate.at("error").as_string()), "duplicate key \"command\""),
             duplicate);
  // A misspelt "instance" must not widen a stop to every instance.
  c.send("{\"version\":1,\"command\":\"stop\",\"worker\":\"sleeper\",\"instnace\":1}\n");
  json::object misspelt = c.reply();
  BOOST_TEST(misspelt.at("code").as_string() == "bad-request");
  BOOST_TEST(contains(std::string(misspelt.at("error").as_string()),
                      "stop: unknown field \"instnace\" (it takes \"worker\", \"instance\")"),
             misspelt);
  c.send("{\"version\":1,\"command\":\"status\",\"verbose\":true}\n");
  BOOST_TEST(contains(std::string(c.reply().at("error").as_string()),
                      "status: unknown field \"verbose\" (it takes none)"));
  c.send("{\"version\":1,\"command\":\"get\",\"pointer\":\"/app\",\"pointer\":\"/confvisor\"}\n");
  BOOST_TEST(contains(std::string(c.reply().at("error").as_string()), "duplicate key \"pointer\""));
  c.send("{\"version\":1,\"version\":1,\"command\":\"status\"}\n");
  BOOST_TEST(c.reply().at("code").as_string() == "bad-request");
  c.send("{\"version\":1,\"command\":\"status\"}\n");
  BOOST_TEST(c.reply().at("ok").as_bool());  // the connection still serves

  const json::array after = workers_of(d, s);
  BOOST_TEST(state_of(after, "sleeper", 0) == "RUNNING");
  BOOST_TEST(state_of(after, "sleeper", 1) == "RUNNING");
  BOOST_TEST(pid_of(after, "sleeper", 0) == before);
  BOOST_TEST(!contains(d.log(), "control: stop requested"));
}

namespace {

// A hostile but authorised client: a process running as `uid` (group `gid`, the socket's)
// that keeps `connections` connections open to `socket`, sends `request` on each (none: it
// stays idle) and never reads. A connection the daemon closes is opened again 250 ms later.
int abuse(const std::string& socket, uid_t uid, gid_t gid, int connections,
          const std::string& request) {
  const pid_t test = ::getppid();
  if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) return 2;
  // After setuid, which clears the parent-death signal; a test already gone ends us too.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != test) return 3;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  socket.copy(addr.sun_path, sizeof addr.sun_path - 1);
  std::vector<UniqueFd> fds(static_cast<std::size_t>(connections));
  for (;;) {
    for (UniqueFd& fd : fds) {
      if (fd) continue;
      fd = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        fd = UniqueFd();
        continue;
      }
      if (!request.empty()) (void)::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL);
    }
    std::vector<pollfd> polled;
    for (const UniqueFd& fd : fds) polled.push_back({fd ? fd.get() : -1, 0, 0});
    if (::poll(polled.data(), polled.size(), 1000) > 0) {
      for (std::size_t i = 0; i < polled.size(); ++i) {
        if (polled[i].revents & (POLLHUP | POLLERR)) fds[i] = UniqueFd();
      }
    }
    std::this_thread::sleep_for(250ms);
  }
}

std::size_t rss_kib(pid_t pid, const std::string& field) {
  std::istringstream status(read_file("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with(field + ":")) return std::stoul(line.substr(field.size() + 1));
  }
  return 0;
}

// Four unprivileged uids of the socket's group: 4 x 16 connections fill the 56 that are not
// kept for root and the daemon's user.
constexpr std::array<uid_t, 4> kAbusers = {65534, 60001, 60002, 60003};

// Runs `calls` status requests as root while abusers hold the socket; returns the failures.
int status_failures(DaemonProcess& d, const Setup& s, int calls) {
  int failures = 0;
  for (int i = 0; i < calls; ++i) {
    const RunResult r = ctl(d, s, {"status", "--timeout", "5s"});
    if (r.exit_code() != 0) {
      ++failures;
      BOOST_TEST_MESSAGE("status " << i << " failed (" << describe_wait_status(r.status)
                                   << "): " << r.output);
    }
    std::this_thread::sleep_for(100ms);
  }
  return failures;
}

struct AbuseSetup {
  AbuseSetup() {
    fs::permissions(s.dir.path(), fs::perms::others_exec | fs::perms::group_exec,
                    fs::perm_options::add);
    // A 1 MiB document: `get ""` answers with all of it.
    std::string text = config_text(s.seg.name(), s.socket(), 1, ", \"group\": \"nogroup\"");
    text.insert(2, "  \"blob\": \"" + std::string(1u << 20, 'x') + "\",\n");
    s.dir.write("app.json", text);
  }
  Setup s;
};

}  // namespace

BOOST_AUTO_TEST_CASE(clients_that_never_read_a_large_reply_cannot_lock_out_root) {
  if (::geteuid() != 0 || ::getgrnam("nogroup") == nullptr) {
    // The limits apply to uids other than root and the daemon's: without root the test
    // cannot run its abusers as such uids.
    BOOST_TEST_MESSAGE("skipped: needs root (and group nogroup) to run clients as other uids");
    return;
  }
  AbuseSetup a;
  DaemonProcess d(a.s.dir, a.s.path());
  require_ready(d);
  const std::size_t rss_before = rss_kib(d.pid(), "VmRSS");
  const std::string get_all = "{\"version\":1,\"command\":\"get\",\"pointer\":\"\"}\n";
  std::vector<Child> abusers;
  for (uid_t uid : kAbusers) {
    abusers.emplace_back([&] { return abuse(a.s.socket(), uid, 65534, 16, get_all); });
  }
  std::this_thread::sleep_for(1s);  // every abuser has its connections and replies pending

  // Over 100 calls (about 15 s, past the 10 s write timeout) root gets in every time.
  const int failures = status_failures(d, a.s, 100);
  BOOST_TEST(failures <= 1, failures << " of 100 status calls failed");
  const std::size_t rss_peak = rss_kib(d.pid(), "VmHWM");
  BOOST_TEST_MESSAGE("daemon VmRSS before " << rss_before << " KiB, VmHWM under abuse " << rss_peak
                                            << " KiB");
  // 64 unread 1 MiB replies were 80 MB; each abuser uid may leave 4 MiB unread. Under ASan
  // freed memory stays in its quarantine (up to 256 MiB), so only the plain build can tell.
#if !defined(__SANITIZE_ADDRESS__)
  BOOST_TEST(rss_peak < rss_before + 32 * 1024, "VmHWM " << rss_peak << " KiB");
#endif
  const std::string log = d.log();
  BOOST_TEST(contains(log, "did not read its reply within 10000 ms"));
  BOOST_TEST(contains(log, "are kept for root and uid 0"));
  BOOST_TEST(contains(log, "bytes of replies unread"));
  abusers.clear();
  d.signal(SIGTERM);
  BOOST_TEST(d.wait_exit() == 0);
}

BOOST_AUTO_TEST_CASE(two_hundred_idle_connections_cannot_lock_out_root) {
  if (::geteuid() != 0 || ::getgrnam("nogroup") == nullptr) {
    BOOST_TEST_MESSAGE("skipped: needs root (and group nogroup) to run clients as other uids");
    return;
  }
  AbuseSetup a;
  DaemonProcess d(a.s.dir, a.s.path());
  require_ready(d);
  std::vector<Child> abusers;
  for (uid_t uid : kAbusers) {
    abusers.emplace_back([&] { return abuse(a.s.socket(), uid, 65534, 50, ""); });
  }
  std::this_thread::sleep_for(1s);
  const int failures = status_failures(d, a.s, 100);
  BOOST_TEST(failures <= 1, failures << " of 100 status calls failed");
  const std::string log = d.log();
  BOOST_TEST(contains(log, "sent no whole request within 10000 ms"));
  BOOST_TEST(contains(log, "already has 16 control connections open"));
  abusers.clear();
  d.signal(SIGTERM);
  BOOST_TEST(d.wait_exit() == 0);
}

// The command table's effect column, through the real daemon: while it stops (its worker
// ignores SIGTERM, so the stop takes the stop_timeout), every command that changes something
// is refused with code "stopping", and the ones that only read are still answered.
BOOST_AUTO_TEST_CASE(while_the_daemon_stops_only_the_commands_that_read_are_answered) {
  Setup s;
  const std::string config = s.dir.write(
      "app.json", "{\"confvisor\": {\"segment\": \"" + s.seg.name() + "\", \"socket\": \"" +
                      s.socket() +
                      "\", \"workers\": [{\"name\": \"stubborn\", \"command\": [\"/bin/sh\", "
                      "\"-c\", \"trap '' TERM; exec sleep 1000\"], \"start_window\": \"100ms\", "
                      "\"stop_timeout\": \"3s\"}]}, \"app\": 1}");
  DaemonProcess d(s.dir, config);
  require_ready(d);
  RawClient c(s.socket());
  d.signal(SIGTERM);
  BOOST_TEST_REQUIRE(!d.wait_notify("STOPPING=1").empty());
  c.send(
      "{\"version\":1,\"command\":\"status\"}\n"
      "{\"version\":1,\"command\":\"history\"}\n"
      "{\"version\":1,\"command\":\"get\",\"pointer\":\"/app\"}\n"
      "{\"version\":1,\"command\":\"reload\"}\n"
      "{\"version\":1,\"command\":\"rollback\",\"generation\":1}\n"
      "{\"version\":1,\"command\":\"start\",\"worker\":\"stubborn\"}\n"
      "{\"version\":1,\"command\":\"stop\",\"worker\":\"stubborn\"}\n"
      "{\"version\":1,\"command\":\"restart\",\"worker\":\"stubborn\"}\n");
  const json::object status = c.reply();
  BOOST_TEST(status.at("ok").as_bool());
  BOOST_TEST(status.at("result").at("stopping").as_bool());
  BOOST_TEST(c.reply().at("ok").as_bool());                              // history
  BOOST_TEST(c.reply().at("result").at("value").to_number<int>() == 1);  // get
  for (const std::string command : {"reload", "rollback", "start", "stop", "restart"}) {
    BOOST_TEST_INFO(command);
    const json::object refused = c.reply();
    BOOST_TEST(!refused.at("ok").as_bool());
    BOOST_TEST(refused.at("code").as_string() == "stopping");
    BOOST_TEST(refused.at("error").as_string() ==
               "confvisord is stopping: " + command + " refused");
  }
  const int status_code = d.wait_exit();
  BOOST_TEST((WIFEXITED(status_code) && WEXITSTATUS(status_code) == 0), d.log());
}
