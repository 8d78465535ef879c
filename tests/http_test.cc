// confvisord's HTTP endpoint (/confvisor/http) as Prometheus, a load balancer's health check
// and an operator's browser use it: the real daemon on a real TCP port (port 0, so suites run
// in parallel), real workers, real signals; the metrics checked by promtool and against what
// `confvisorctl status --json` reports; and the bounds that keep a hostile or broken client
// from holding supervision up, checked while the daemon goes on answering and restarting.
#define BOOST_TEST_MODULE http
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "common/os/unique_fd.hpp"
#include "confvisor/error.hpp"
#include "daemon/http/exposition.hpp"
#include "tests/support/daemon_client.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process_wait.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/text_search.hpp"

using namespace confvisor;
using namespace confvisor::test;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// Two instances of a sleeper and a worker that runs only while DIR/flaky-ok exists: without
// it, it exits at once and is FATAL after two restarts.
std::string config_text(const std::string& segment, const std::string& dir, int version,
                        const std::string& listen = "127.0.0.1:0") {
  return "{\n  \"confvisor\": {\"segment\": \"" + segment + "\", \"socket\": \"" + dir +
         "/ctl.sock\",\n    \"http\": {\"listen\": \"" + listen +
         "\"},\n"
         "    \"workers\": [\n"
         "      {\"name\": \"sleeper\", \"command\": [\"/bin/sleep\", \"1000\"], \"instances\": "
         "2,\n"
         "       \"start_window\": \"100ms\", \"backoff\": {\"initial\": \"10ms\"}},\n"
         "      {\"name\": \"flaky\", \"command\": [\"/bin/sh\", \"-c\", \"test -e " +
         dir +
         "/flaky-ok && exec sleep 1000; exit 3\"],\n"
         "       \"start_window\": \"100ms\", \"backoff\": {\"initial\": \"10ms\", \"max\": "
         "\"10ms\"},\n"
         "       \"restart_limit\": {\"count\": 2, \"period\": \"10s\"}}\n"
         "    ]},\n"
         "  \"app\": {\"version\": " +
         std::to_string(version) + "}\n}\n";
}

struct Setup {
  SegmentGuard seg{"http"};
  TempDir dir{"http"};
  explicit Setup(bool flaky_ok = true) {
    if (flaky_ok) dir.write("flaky-ok", "");
  }
  std::string write(int version, const std::string& listen = "127.0.0.1:0") const {
    return dir.write("app.json", config_text(seg.name(), dir.path(), version, listen));
  }
  [[nodiscard]] std::string socket() const { return dir.path() + "/ctl.sock"; }
};

// `confvisorctl status --json` (it exits 5 while an instance is FATAL: still one document).
json::object status_of(DaemonProcess& d, const Setup& s) {
  const RunResult r = confvisorctl(d, {"--socket", s.socket(), "status", "--json"});
  BOOST_TEST_REQUIRE((r.exit_code() == 0 || r.exit_code() == 5), r.output);
  return json::parse(r.output).as_object();
}

// Where the daemon listens, as status names it: "127.0.0.1:PORT".
std::string address_of(DaemonProcess& d, const Setup& s) {
  const json::object status = status_of(d, s);
  BOOST_TEST_REQUIRE(status.at("http").is_string());
  return std::string(status.at("http").as_string());
}

// The samples of a /metrics body: "name{labels}" -> value.
std::map<std::string, double> samples_of(const std::string& text) {
  std::map<std::string, double> out;
  for (const std::string& line : lines_of(text)) {
    if (line.empty() || line.starts_with('#')) continue;
    const std::size_t space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

// promtool's verdict on a /metrics body: its exit code and what it said.
RunResult promtool_check(const TempDir& dir, const std::string& text) {
  const std::string path = dir.write("metrics.txt", text);
  return run({"/bin/sh", "-c", "exec promtool check metrics < " + path});
}

bool have_promtool() {
  return run({"/bin/sh", "-c", "command -v promtool"}).exit_code() == 0;
}

// Waits (bounded) until the instance shows `restarts` restarts and is RUNNING.
json::object wait_for_restart(DaemonProcess& d, const Setup& s, const std::string& name,
                              unsigned instance, int restarts) {
  const auto deadline = Clock::now() + 10s;
  for (;;) {
    json::object status = status_of(d, s);
    for (const auto& w : status.at("workers").as_array()) {
      if (w.at("name").as_string() == name && w.at("instance").to_number<unsigned>() == instance &&
          w.at("restarts").to_number<int>() == restarts && w.at("state").as_string() == "RUNNING")
        return status;
    }
    if (Clock::now() > deadline) BOOST_FAIL(name << "[" << instance << "] was not restarted");
    // The daemon says when it restarts; its log is the event to wait for.
    (void)wait_for_log(d, "worker " + name + "[" + std::to_string(instance) + "]", 100ms, 1);
  }
}

// Milliseconds since `t`.
long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// A status request through confvisorctl, timed: what "supervision goes on" looks like to
// an operator.
long long timed_status_ms(DaemonProcess& d, const Setup& s) {
  const auto start = Clock::now();
  const RunResult r = confvisorctl(d, {"--socket", s.socket(), "status", "--json"});
  BOOST_TEST((r.exit_code() == 0 || r.exit_code() == 5), r.output);
  return ms_since(start);
}

}  // namespace

BOOST_AUTO_TEST_CASE(each_path_answers_with_its_status_and_content_type) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  const std::string at = address_of(d, s);
  BOOST_TEST(at.starts_with("127.0.0.1:"));
  BOOST_TEST(contains(d.log(), "http: listening on " + at));

  const HttpReply page = http_get(at, "/");
  BOOST_TEST(page.status == 200);
  BOOST_TEST(page.field("content-type") == "text/html; charset=utf-8");
  BOOST_TEST(contains(page.body, "<title>confvisor</title>"));
  // Only the page's own script and style run, and it fetches only from the daemon.
  const std::string policy = page.field("content-security-policy");
  BOOST_TEST(contains(policy, "default-src 'none'"), policy);
  BOOST_TEST(contains(policy, "connect-src 'self'"), policy);
  const std::size_t nonce_at = policy.find("'nonce-");
  BOOST_TEST_REQUIRE(nonce_at != std::string::npos);
  const std::string nonce = policy.substr(nonce_at + 7, 32);
  BOOST_TEST(contains(page.body, "<script nonce=\"" + nonce + "\">"));
  BOOST_TEST(!contains(page.body, "@NONCE@"));
  BOOST_TEST(!contains(http_get(at, "/").field("content-security-policy"), nonce));  // fresh
  BOOST_TEST(page.field("x-content-type-options") == "nosniff");

  const HttpReply metrics = http_get(at, "/metrics");
  BOOST_TEST(metrics.status == 200);
  BOOST_TEST(metrics.field("content-type") == "text/plain; version=0.0.4; charset=utf-8");

  const HttpReply health = http_get(at, "/healthz");
  BOOST_TEST(health.status == 200);
  BOOST_TEST(health.body == "ok\n");
  BOOST_TEST(health.field("content-type") == "text/plain; charset=utf-8");

  const HttpReply status = http_get(at, "/status");
  BOOST_TEST(status.status == 200);
  BOOST_TEST(status.field("content-type") == "application/json");
  BOOST_TEST(json::parse(status.body).at("generation").to_number<int>() == 1);

  const HttpReply history = http_get(at, "/history");
  BOOST_TEST(history.status == 200);
  BOOST_TEST(history.field("content-type") == "application/json");
  BOOST_TEST(json::parse(history.body).as_array().size() == 1u);

  const HttpReply missing = http_get(at, "/metrics/../etc/passwd");
  BOOST_TEST(missing.status == 404);
  BOOST_TEST(http_get(at, "/nope").status == 404);

  const HttpReply post = http_request(at, "POST", "/metrics", "Content-Length: 3\r\n\r\nabc");
  BOOST_TEST(post.status == 405);
  BOOST_TEST(post.field("allow") == "GET, HEAD");
  BOOST_TEST(http_request(at, "DELETE", "/status").status == 405);

  // HEAD: the length of what GET would send, and no body.
  const HttpReply head = http_request(at, "HEAD", "/healthz");
  BOOST_TEST(head.status == 200);
  BOOST_TEST(head.field("content-length") == "3");
  BOOST_TEST(head.body.empty());

  // A query string is not part of the path.
  BOOST_TEST(http_get(at, "/healthz?verbose=1").status == 200);
}

BOOST_AUTO_TEST_CASE(status_is_exactly_what_confvisorctl_status_json_reports) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  const std::string at = address_of(d, s);
  json::object over_http = json::parse(http_get(at, "/status").body).as_object();
  json::object over_ctl = status_of(d, s);
  // Uptimes and memory move between the two requests; everything else is the same.
  for (json::object* status : {&over_http, &over_ctl}) {
    for (auto& w : status->at("workers").as_array()) {
      w.as_object().erase("uptime_ms");
      w.as_object().erase("memory_current");
    }
  }
  BOOST_TEST(json::serialize(over_http) == json::serialize(over_ctl));
  BOOST_TEST(json::parse(http_get(at, "/history").body) ==
             json::parse(confvisorctl(d, {"--socket", s.socket(), "history", "--json"}).output));
}

BOOST_AUTO_TEST_CASE(metrics_pass_promtool_and_say_what_status_says) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  const std::string at = address_of(d, s);

  // A reload that publishes, one that changes nothing, one that fails.
  s.write(2);
  BOOST_TEST(confvisorctl(d, {"--socket", s.socket(), "reload"}).exit_code() == 0);
  BOOST_TEST(confvisorctl(d, {"--socket", s.socket(), "reload"}).exit_code() == 0);
  s.dir.write("app.json",
              "{\"confvisor\": {\"segment\": \"" + s.seg.name() + "\", \"histroy\": 1}}");
  BOOST_TEST(confvisorctl(d, {"--socket", s.socket(), "reload"}).exit_code() == 1);
  s.write(2);  // back to what is live

  // A worker killed is restarted: its restart is counted.
  const json::object before = status_of(d, s);
  pid_t sleeper0 = 0;
  for (const auto& w : before.at("workers").as_array()) {
    if (w.at("name").as_string() == "sleeper" && w.at("instance").to_number<int>() == 0)
      sleeper0 = w.at("pid").to_number<pid_t>();
  }
  BOOST_TEST_REQUIRE(sleeper0 > 0);
  BOOST_TEST_REQUIRE(::kill(sleeper0, SIGKILL) == 0);
  const json::object status = wait_for_restart(d, s, "sleeper", 0, 1);

  const HttpReply reply = http_get(at, "/metrics");
  BOOST_TEST_REQUIRE(reply.status == 200);
  if (have_promtool()) {
    const RunResult lint = promtool_check(s.dir, reply.body);
    BOOST_TEST(lint.exit_code() == 0, lint.output << "\n" << reply.body);
  } else {
    BOOST_TEST_MESSAGE("promtool is not installed (Debian's prometheus): format not linted");
  }
  // One HELP and one TYPE per family.
  for (const char* family :
       {"confvisor_build_info", "confvisor_generation", "confvisor_reloads_total",
        "confvisor_last_reload_timestamp_seconds", "confvisor_live_matches_file",
        "confvisor_segment_size_bytes", "confvisor_config_size_bytes", "confvisor_worker_instances",
        "confvisor_worker_restarts_total", "confvisor_worker_up",
        "confvisor_worker_memory_bytes"}) {
    BOOST_TEST(count_lines(reply.body, std::string("# TYPE ") + family + " ") == 1u, family);
    BOOST_TEST(count_lines(reply.body, std::string("# HELP ") + family + " ") == 1u, family);
  }
  const std::map<std::string, double> m = samples_of(reply.body);
  auto value = [&](const std::string& key) {
    const auto it = m.find(key);
    BOOST_TEST_REQUIRE((it != m.end()), "no sample " << key << " in\n" << reply.body);
    return it->second;
  };
  BOOST_TEST(value("confvisor_generation") == status.at("generation").to_number<double>());
  BOOST_TEST(value("confvisor_generation") == 2);
  BOOST_TEST(value("confvisor_reloads_total{result=\"ok\"}") == 1);
  BOOST_TEST(value("confvisor_reloads_total{result=\"unchanged\"}") == 1);
  BOOST_TEST(value("confvisor_reloads_total{result=\"failed\"}") == 1);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (const char* result : {"ok", "unchanged", "failed"}) {
    const double at_time =
        value(std::string("confvisor_last_reload_timestamp_seconds{result=\"") + result + "\"}");
    BOOST_TEST(at_time <= now);
    BOOST_TEST(at_time > now - 60);
  }
  BOOST_TEST(value("confvisor_live_matches_file") == 1);
  struct stat st {};
  BOOST_TEST_REQUIRE(::stat(("/dev/shm/confvisor." + s.seg.name()).c_str(), &st) == 0);
  BOOST_TEST(value("confvisor_segment_size_bytes") == static_cast<double>(st.st_size));
  const json::array history =
      json::parse(confvisorctl(d, {"--socket", s.socket(), "history", "--json"}).output).as_array();
  BOOST_TEST(value("confvisor_config_size_bytes") == history.back().at("size").to_number<double>());
  BOOST_TEST(value("confvisor_build_info{version=\"" CONFVISOR_VERSION "\"}") == 1);

  // The workers: each instance's state, up and memory as status has them.
  std::map<std::string, double> by_state;
  std::map<std::string, double> restarts;
  for (const auto& w : status.at("workers").as_array()) {
    const std::string name(w.at("name").as_string());
    const std::string instance = std::to_string(w.at("instance").to_number<int>());
    const std::string state(w.at("state").as_string());
    by_state["confvisor_worker_instances{worker=\"" + name + "\",state=\"" + state + "\"}"] += 1;
    restarts[name] += w.at("restarts").to_number<double>();
    const std::string labels = "{worker=\"" + name + "\",instance=\"" + instance + "\"}";
    BOOST_TEST(value("confvisor_worker_up" + labels) == (state == "RUNNING" ? 1 : 0));
    if (!w.at("memory_current").is_null()) {
      BOOST_TEST(value("confvisor_worker_memory_bytes" + labels) > 0);
    } else {
      BOOST_TEST(m.count("confvisor_worker_memory_bytes" + labels) == 0u);
    }
  }
  for (const auto& [key, n] : by_state) BOOST_TEST(value(key) == n, key);
  BOOST_TEST(value("confvisor_worker_instances{worker=\"sleeper\",state=\"RUNNING\"}") == 2);
  BOOST_TEST(value("confvisor_worker_instances{worker=\"sleeper\",state=\"FATAL\"}") == 0);
  for (const auto& [name, n] : restarts)
    BOOST_TEST(value("confvisor_worker_restarts_total{worker=\"" + name + "\"}") == n, name);
  BOOST_TEST(value("confvisor_worker_restarts_total{worker=\"sleeper\"}") == 1);

  // An edit not reloaded yet.
  s.write(3);
  BOOST_TEST(samples_of(http_get(at, "/metrics").body).at("confvisor_live_matches_file") == 0);
}

BOOST_AUTO_TEST_CASE(label_values_and_help_are_escaped_as_the_format_says) {
  http::Exposition out;
  out.family("t_escaped", "gauge", "a help with a \\ and a\nnewline");
  out.sample("t_escaped", {{"text", "quote \" backslash \\ newline \n end"}}, std::uint64_t{1});
  out.sample("t_escaped", {{"text", "plain"}}, 0.25);
  BOOST_TEST(out.text() ==
             "# HELP t_escaped a help with a \\\\ and a\\nnewline\n"
             "# TYPE t_escaped gauge\n"
             "t_escaped{text=\"quote \\\" backslash \\\\ newline \\n end\"} 1\n"
             "t_escaped{text=\"plain\"} 0.25\n");
  if (have_promtool()) {
    TempDir dir{"http-escape"};
    const RunResult lint = promtool_check(dir, out.text());
    BOOST_TEST(lint.exit_code() == 0, lint.output);
  }
}

BOOST_AUTO_TEST_CASE(healthz_is_503_while_a_worker_is_fatal_and_200_again_once_it_runs) {
  Setup s(false);  // flaky exits at once
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);  // READY=1 once flaky is FATAL
  const std::string at = address_of(d, s);
  const HttpReply sick = http_get(at, "/healthz");
  BOOST_TEST(sick.status == 503);
  BOOST_TEST(sick.body == "worker flaky[0] is FATAL (last exit: exit code 3)\n", sick.body);
  BOOST_TEST(http_request(at, "HEAD", "/healthz").status == 503);
  BOOST_TEST(samples_of(http_get(at, "/metrics").body)
                 .at("confvisor_worker_instances{worker=\"flaky\",state=\"FATAL\"}") == 1);

  s.dir.write("flaky-ok", "");
  const RunResult start = confvisorctl(d, {"--socket", s.socket(), "start", "flaky"});
  BOOST_TEST_REQUIRE(start.exit_code() == 0, start.output);
  const HttpReply well = http_get(at, "/healthz");
  BOOST_TEST(well.status == 200);
  BOOST_TEST(well.body == "ok\n");
  BOOST_TEST(samples_of(http_get(at, "/metrics").body)
                 .at("confvisor_worker_up{worker=\"flaky\",instance=\"0\"}") == 1);

  // Stopping: a load balancer takes it out first.
  d.signal(SIGTERM);
  (void)wait_for_log(d, "stopping on SIGTERM", 5s);
}

BOOST_AUTO_TEST_CASE(an_oversized_header_is_refused_with_431) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  const std::string at = address_of(d, s);
  HttpConnection c(at);
  c.send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(20000, 'a') + "\r\n\r\n");
  const HttpReply reply = parse_http_reply(c.read_all(5s));
  BOOST_TEST(reply.status == 431);
  BOOST_TEST(c.closed_within(1s));
  BOOST_TEST(http_get(at, "/healthz").status == 200);  // and the endpoint goes on
}

BOOST_AUTO_TEST_CASE(a_slowloris_client_is_closed_after_the_request_timeout_meanwhile_all_goes_on) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  const std::string at = address_of(d, s);
  HttpConnection slow(at);
  const auto opened = Clock::now();
  slow.send("GET /metrics HTTP/1.1\r\n");
  // A header line every 200 ms, never the blank line that ends the request: each byte is on
  // time, the request never is.
  bool closed = false;
  long long slowest_status_ms = 0;
  for (int i = 0; i < 60 && !closed; ++i) {
    try {
      slow.send("X-Slow-" + std::to_string(i) + ": a\r\n");
    } catch (const Error&) {
      closed = true;  // the daemon has closed it (a reset)
      break;
    }
    slowest_status_ms = std::max(slowest_status_ms, timed_status_ms(d, s));
    closed = slow.closed_within(200ms);
  }
  const long long lasted_ms = ms_since(opened);
  BOOST_TEST(closed);
  BOOST_TEST(lasted_ms >= 4500);  // the documented 5 s, not sooner
  BOOST_TEST(lasted_ms < 8000);
  BOOST_TEST(slowest_status_ms < 1000);
  // Beast's timer closes the socket before the read's handler runs and logs why.
  BOOST_TEST(wait_for_log(d, "closed: no whole request within 5000 ms", 2s), d.log());
}

BOOST_AUTO_TEST_CASE(a_client_that_never_reads_is_dropped_after_the_write_timeout) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  const std::string at = address_of(d, s);
  // A small receive window and thousands of pipelined requests for the page: far more
  // response than the two socket buffers hold.
  HttpConnection deaf(at, 4096);
  std::string requests;
  for (int i = 0; i < 1000; ++i) requests += "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  deaf.send(requests);
  const auto sent = Clock::now();
  BOOST_TEST(wait_for_log(d, "closed: the response was not read within 5000 ms", 9s));
  BOOST_TEST(ms_since(sent) >= 4500);
  BOOST_TEST(timed_status_ms(d, s) < 1000);
  // What it got is far less than what it asked for, and then the end.
  const std::string got = deaf.read_all(5s);
  BOOST_TEST(got.size() < 1000u * 10000u);
  BOOST_TEST(deaf.closed_within(1s));
}

BOOST_AUTO_TEST_CASE(connections_beyond_the_limit_are_refused_and_supervision_goes_on) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  const std::string at = address_of(d, s);
  // 100 clients that connect and say nothing: 64 are held until the request timeout, the
  // rest refused at once.
  std::vector<std::unique_ptr<HttpConnection>> idle;
  for (int i = 0; i < 100; ++i) idle.push_back(std::make_unique<HttpConnection>(at));
  // The daemon accepts in order: once the last is answered, every one before it has been.
  const std::string last = idle.back()->read_all(3s);
  BOOST_TEST_REQUIRE(parse_http_reply(last).status == 503, last);
  std::size_t refused = 1;
  for (std::size_t i = 0; i + 1 < idle.size(); ++i) {
    if (parse_http_reply(idle[i]->read_all(0ms)).status == 503) ++refused;
  }
  BOOST_TEST(refused == 36u);
  const HttpReply busy = http_get(at, "/healthz");
  BOOST_TEST(busy.status == 503);
  BOOST_TEST(busy.body == "too many connections\n");

  // Meanwhile the daemon answers, and restarts a worker that dies.
  BOOST_TEST(timed_status_ms(d, s) < 1000);
  const json::object status = status_of(d, s);
  const pid_t victim = status.at("workers").at(1).at("pid").to_number<pid_t>();
  BOOST_TEST_REQUIRE(::kill(victim, SIGKILL) == 0);
  (void)wait_for_restart(d, s, "sleeper", 1, 1);

  // Once the idle ones time out, the endpoint serves again.
  idle.clear();
  const auto deadline = Clock::now() + 8s;
  HttpReply after;
  while (Clock::now() < deadline) {
    after = http_get(at, "/metrics");
    if (after.status == 200) break;
    (void)wait_for_log(d, "http: connection from", 100ms, 1000000);
  }
  BOOST_TEST_REQUIRE(after.status == 200);
  BOOST_TEST(samples_of(after.body).at("confvisor_http_connections_refused_total") >= 37);
  BOOST_TEST(contains(d.log(), "connection(s) refused: 64 are open, the most allowed"));
}

BOOST_AUTO_TEST_CASE(a_port_already_bound_is_a_clear_start_error_and_nothing_is_published) {
  // Another process's listener on a port of its own.
  UniqueFd taken(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_TEST_REQUIRE(::bind(taken.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  BOOST_TEST_REQUIRE(::listen(taken.get(), 1) == 0);
  socklen_t length = sizeof addr;
  BOOST_TEST_REQUIRE(::getsockname(taken.get(), reinterpret_cast<sockaddr*>(&addr), &length) == 0);
  const std::string listen = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  Setup s;
  DaemonProcess d(s.dir, s.write(1, listen));
  BOOST_TEST(exit_code(d.wait_exit(10s)) == 1);
  BOOST_TEST(contains(d.log(), "unable to start: unable to listen on " + listen +
                                   " (/confvisor/http/listen): Address already in use"),
             tail(d.log()));
  BOOST_TEST(!fs::exists("/dev/shm/confvisor." + s.seg.name()));
}

BOOST_AUTO_TEST_CASE(a_reload_that_changes_the_listener_is_refused_and_it_keeps_serving) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1));
  require_ready(d);
  const std::string at = address_of(d, s);
  s.write(2, "127.0.0.1:1");
  const RunResult reload = confvisorctl(d, {"--socket", s.socket(), "reload"});
  BOOST_TEST(reload.exit_code() == 1);
  BOOST_TEST(contains(reload.output,
                      "/confvisor/http changed from \"127.0.0.1:0\" to "
                      "\"127.0.0.1:1\": restart confvisord to apply it"),
             reload.output);
  BOOST_TEST(http_get(at, "/healthz").status == 200);
  BOOST_TEST(json::parse(http_get(at, "/status").body).at("generation").to_number<int>() == 1);
}

BOOST_AUTO_TEST_CASE(it_listens_on_ipv6_loopback) {
  UniqueFd probe(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_loopback;
  if (!probe || ::bind(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    BOOST_TEST_MESSAGE("no IPv6 loopback here: skipped");
    return;
  }
  probe.reset();
  Setup s;
  DaemonProcess d(s.dir, s.write(1, "[::1]:0"));
  require_ready(d);
  const std::string at = address_of(d, s);
  BOOST_TEST(at.starts_with("[::1]:"));
  BOOST_TEST(http_get(at, "/healthz").status == 200);
}
