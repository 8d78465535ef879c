// The bound on worker instances in all (/confvisor/max_instances), through the real
// confvisord: `--check` refuses a config past it naming the worker that goes over, and a
// reload to such a config changes nothing.
#define BOOST_TEST_MODULE limits
#include <signal.h>

#include <boost/test/unit_test.hpp>
#include <string>
#include <thread>

#include "confvisor/worker.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/text_search.hpp"

using namespace confvisor;
using namespace confvisor::test;
using namespace std::chrono_literals;

namespace {

// Workers "a" and "b" of `a` and `b` instances of /bin/sleep, and `extra` settings.
std::string config(const std::string& segment, const std::string& socket, unsigned a, unsigned b,
                   const std::string& extra = "") {
  const auto worker = [](const char* name, unsigned n) {
    return std::string("{\"name\": \"") + name +
           "\", \"command\": [\"/bin/sleep\", \"1000\"], \"instances\": " + std::to_string(n) + "}";
  };
  return "{\"confvisor\": {\"segment\": \"" + segment + "\", \"socket\": \"" + socket + "\"" +
         extra + ", \"workers\": [" + worker("a", a) + ", " + worker("b", b) + "]}}\n";
}

struct Setup {
  SegmentGuard seg{"lim"};
  TempDir dir;
  [[nodiscard]] std::string socket() const { return dir.path() + "/ctl.sock"; }
  std::string write(unsigned a, unsigned b, const std::string& extra = "") const {
    return dir.write("app.json", config(seg.name(), socket(), a, b, extra));
  }
};

RunResult check(const std::string& path) {
  return run({bin("confvisord"), "--check", "--config", path});
}

}  // namespace

BOOST_AUTO_TEST_CASE(check_refuses_more_instances_in_all_than_max_instances_naming_the_worker) {
  Setup s;
  const std::string path = s.write(600, 600);
  const RunResult over = check(path);
  BOOST_TEST(over.exit_code() == 1, over.output);
  BOOST_TEST(
      contains(over.output, path + ": /confvisor/workers/1: its 600 instance(s) bring the "
                                   "total to 1200, more than /confvisor/max_instances (1000)"),
      over.output);

  BOOST_TEST(check(s.write(500, 500)).exit_code() == 0);  // exactly the default bound
  const RunResult raised = check(s.write(600, 600, ", \"max_instances\": 1200"));
  BOOST_TEST(raised.exit_code() == 0, raised.output);
  const RunResult lowered = check(s.write(2, 2, ", \"max_instances\": 3"));
  BOOST_TEST(lowered.exit_code() == 1, lowered.output);
  BOOST_TEST(contains(lowered.output,
                      "/confvisor/workers/1: its 2 instance(s) bring the total "
                      "to 4, more than /confvisor/max_instances (3)"),
             lowered.output);
  for (const char* bad : {"0", "65537", "\"many\""}) {
    const RunResult r = check(s.write(1, 1, std::string(", \"max_instances\": ") + bad));
    BOOST_TEST(r.exit_code() == 1, r.output);
    BOOST_TEST(contains(r.output, "/confvisor/max_instances: "), r.output);
  }
}

BOOST_AUTO_TEST_CASE(a_reload_past_max_instances_changes_nothing) {
  Setup s;
  DaemonProcess d(s.dir, s.write(1, 1, ", \"max_instances\": 4"));
  BOOST_TEST_REQUIRE(!d.wait_notify("READY=1").empty(), d.log());
  Reader reader(s.seg.name());
  BOOST_TEST(reader.current().generation() == 1u);
  s.write(3, 2, ", \"max_instances\": 4");
  d.drain_notifications();
  const RunResult reload = run({bin("confvisorctl"), "--socket", s.socket(), "reload"});
  BOOST_TEST(reload.exit_code() == 1, reload.output);
  BOOST_TEST(contains(reload.output,
                      "/confvisor/workers/1: its 2 instance(s) bring the total to "
                      "5, more than /confvisor/max_instances (4)"),
             reload.output);
  BOOST_TEST(reader.current().generation() == 1u);
  const RunResult status = run({bin("confvisorctl"), "--socket", s.socket(), "status"});
  BOOST_TEST(contains(status.output, "a:0"), status.output);
  BOOST_TEST(!contains(status.output, "a:1"), status.output);  // no instance was started
  d.signal(SIGTERM);
  BOOST_TEST(d.wait_exit() == 0);
}
