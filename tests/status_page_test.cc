// The status page at / in a real browser: Debian's chromium, headless, driven over the
// DevTools protocol (tests/support/headless_browser.hpp), against the real daemon. The page
// must show what status says, follow a reload by itself, and render hostile text (a config
// file name and a reload error full of markup) as text. A screenshot of the page after the
// reload is kept in build/tests/artifacts/status-page.png.
#define BOOST_TEST_MODULE status_page
#include <signal.h>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>

#include "tests/support/daemon_client.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/headless_browser.hpp"
#include "tests/support/process_wait.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/text_search.hpp"

using namespace confvisor;
using namespace confvisor::test;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// Markup that would run if the page ever rendered text as HTML.
constexpr const char* kHostile = "<img src=x onerror=window.pwned=1>";

std::string config_text(const std::string& segment, const std::string& socket, int version) {
  return "{\"confvisor\": {\"segment\": \"" + segment + "\", \"socket\": \"" + socket +
         "\", \"http\": {\"listen\": \"127.0.0.1:0\"},\n"
         " \"workers\": [\n"
         "  {\"name\": \"web\", \"command\": [\"/bin/sleep\", \"1000\"], \"instances\": 2,"
         " \"start_window\": \"100ms\"},\n"
         "  {\"name\": \"jobs\", \"command\": [\"/bin/sleep\", \"1001\"], \"start_window\": "
         "\"100ms\"}]},\n"
         " \"app\": {\"version\": " +
         std::to_string(version) + "}}\n";
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_page_shows_the_workers_and_follows_a_reload_rendering_text_as_text) {
  SegmentGuard seg("page");
  TempDir dir("page");
  const std::string socket = dir.path() + "/ctl.sock";
  // The config file's own name is hostile: status names it as the source.
  const std::string file = std::string(kHostile) + ".json";
  const std::string path = dir.write(file, config_text(seg.name(), socket, 1));
  DaemonProcess d(dir, path);
  require_ready(d);
  const RunResult status_run = confvisorctl(d, {"--socket", socket, "status", "--json"});
  BOOST_TEST_REQUIRE(status_run.exit_code() == 0, status_run.output);
  const json::object status = json::parse(status_run.output).as_object();
  const std::string url = "http://" + std::string(status.at("http").as_string()) + "/";

  HeadlessBrowser browser;
  browser.navigate(url);
  BOOST_TEST_REQUIRE(browser.wait_until("document.getElementById('generation').textContent === "
                                        "'1' && document.querySelectorAll('#workers tbody "
                                        "tr').length === 3",
                                        15s),
                     "the page did not render generation 1 and 3 workers; chromium:\n"
                         << tail(browser.log()));

  // Each row is the instance status names, in its order.
  const json::array rows = browser
                               .evaluate(
                                   "[...document.querySelectorAll('#workers tbody tr')].map(r => "
                                   "[...r.cells].map(c => c.textContent))")
                               .as_array();
  const json::array& workers = status.at("workers").as_array();
  BOOST_TEST_REQUIRE(rows.size() == workers.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const json::array& cells = rows[i].as_array();
    const json::object& w = workers[i].as_object();
    BOOST_TEST_INFO("row " << i << ": " << json::serialize(cells));
    BOOST_TEST(cells.at(0).as_string() == w.at("name").as_string());
    BOOST_TEST(cells.at(1).as_string() == std::to_string(w.at("instance").to_number<int>()));
    BOOST_TEST(cells.at(2).as_string() == "RUNNING");
    BOOST_TEST(cells.at(3).as_string() == std::to_string(w.at("pid").to_number<int>()));
    BOOST_TEST(cells.at(5).as_string() == "0");  // restarts
  }
  BOOST_TEST(browser.evaluate("document.getElementById('source').textContent").as_string() == path);

  // A reload refused for a key full of markup: the error is shown, as text.
  dir.write(file, "{\"confvisor\": {\"segment\": \"" + seg.name() + "\", \"socket\": \"" + socket +
                      "\", \"http\": {\"listen\": \"127.0.0.1:0\"}, \"" + kHostile + "\": 1}}");
  d.signal(SIGHUP);
  BOOST_TEST_REQUIRE(
      browser.wait_until("document.getElementById('last-result').textContent === "
                         "'failed'",
                         15s));
  const std::string error = std::string(
      browser.evaluate("document.getElementById('last-error').textContent").as_string());
  BOOST_TEST(contains(error, std::string("unknown key \"") + kHostile + "\""), error);

  // Nothing of it became markup or ran.
  BOOST_TEST(browser.evaluate("document.querySelectorAll('img').length").to_number<int>() == 0);
  BOOST_TEST(browser.evaluate("typeof window.pwned").as_string() == "undefined");
  BOOST_TEST(contains(std::string(browser
                                      .evaluate("document.getElementById('last-error')."
                                                "innerHTML")
                                      .as_string()),
                      "&lt;img src=x"));

  // A good reload: the page shows generation 2 without being reloaded.
  dir.write(file, config_text(seg.name(), socket, 2));
  d.signal(SIGHUP);
  BOOST_TEST_REQUIRE(
      browser.wait_until("document.getElementById('generation').textContent === '2' && "
                         "document.getElementById('last-result').textContent === 'ok' && "
                         "document.querySelectorAll('#history tbody tr').length === 2",
                         15s));
  BOOST_TEST(browser.evaluate("document.getElementById('last-error').hidden").as_bool());
  BOOST_TEST(browser.evaluate("document.querySelector('#history tbody tr').cells[0].textContent")
                 .as_string() == "2 (live)");
  BOOST_TEST(browser.evaluate("typeof window.pwned").as_string() == "undefined");

  const std::string png = browser.screenshot_png();
  BOOST_TEST(png.starts_with("\x89PNG\r\n"));
  fs::create_directories(CONFVISOR_ARTIFACT_DIR);
  std::ofstream(CONFVISOR_ARTIFACT_DIR "/status-page.png", std::ios::binary) << png;
  BOOST_TEST_MESSAGE("screenshot: " CONFVISOR_ARTIFACT_DIR "/status-page.png");
}
