// A real browser for the tests of the status page: Debian's chromium, headless, driven over
// the DevTools protocol on a pipe (--remote-debugging-pipe: NUL-terminated JSON messages on
// its descriptors 3 and 4), so it needs no port, no WebSocket client and no npm package. It
// runs in a profile directory of its own, removed with it, in a process group of its own,
// which is killed when it goes, pass or fail. Every call is bounded by a timeout.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <string>

#include "common/os/unique_fd.hpp"
#include "tests/support/child.hpp"
#include "tests/support/temp_dir.hpp"

namespace confvisor::test {

inline constexpr const char* kChromium = "/usr/bin/chromium";

class HeadlessBrowser {
 public:
  // Starts chromium with one blank page, attached. Throws Error if it does not answer within
  // `startup`.
  explicit HeadlessBrowser(std::chrono::milliseconds startup = std::chrono::seconds(60));
  ~HeadlessBrowser();
  HeadlessBrowser(const HeadlessBrowser&) = delete;
  HeadlessBrowser& operator=(const HeadlessBrowser&) = delete;

  // A DevTools command on the page (or on the browser with `on_page` false); its result.
  // Throws Error with the browser's message if it fails, or after `timeout`.
  boost::json::value call(const std::string& method, boost::json::object params = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(15),
                          bool on_page = true);
  // Loads `url` in the page.
  void navigate(const std::string& url);
  // The value of a JavaScript expression in the page (a promise is awaited).
  boost::json::value evaluate(const std::string& expression,
                              std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // Waits until the expression is true in the page, re-checked on every change of the DOM
  // (a MutationObserver, no polling); false after `timeout`. A page still loading is waited
  // for too.
  bool wait_until(const std::string& condition, std::chrono::milliseconds timeout);
  // The page as a PNG image.
  std::string screenshot_png();
  // The browser's own stderr, for failure messages.
  [[nodiscard]] std::string log() const;

 private:
  void send(const boost::json::value& message);
  boost::json::object receive(std::uint64_t id, std::chrono::steady_clock::time_point deadline);

  TempDir profile_;
  UniqueFd to_browser_;
  UniqueFd from_browser_;
  std::string log_path_;
  Child process_;
  std::string buffer_;
  std::uint64_t next_id_ = 1;
  std::string session_;
};

}  // namespace confvisor::test
