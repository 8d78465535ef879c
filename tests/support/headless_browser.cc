#include "tests/support/headless_browser.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <thread>
#include <vector>

#include "common/base/error.hpp"
#include "tests/support/daemon_process.hpp"

namespace confvisor::test {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

std::string decode_base64(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (char c : text) {
    const int v = value(c);
    if (v < 0) continue;  // padding
    bits = (bits << 6) | static_cast<unsigned>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

std::vector<std::string> chromium_argv(const std::string& profile) {
  std::vector<std::string> argv{kChromium,
                                "--headless",
                                "--remote-debugging-pipe",
                                "--user-data-dir=" + profile,
                                "--disable-gpu",
                                "--no-first-run",
                                "--no-default-browser-check",
                                "--disable-extensions",
                                "--disable-background-networking",
                                "--disable-component-update",
                                "--window-size=1200,900",
                                "--hide-scrollbars"};
  // Its sandbox refuses to run as root; the pages it loads here are the test's own.
  if (::geteuid() == 0) argv.emplace_back("--no-sandbox");
  argv.emplace_back("about:blank");
  return argv;
}

}  // namespace

HeadlessBrowser::HeadlessBrowser(std::chrono::milliseconds startup)
    : profile_("chromium"), log_path_(profile_.file("chromium.log")), process_([&]() -> Child {
        int commands[2];
        int replies[2];
        if (::pipe2(commands, O_CLOEXEC) != 0 || ::pipe2(replies, O_CLOEXEC) != 0)
          throw_sys("create the DevTools pipes");
        to_browser_ = UniqueFd(commands[1]);
        from_browser_ = UniqueFd(replies[0]);
        UniqueFd their_commands(commands[0]);
        UniqueFd their_replies(replies[1]);
        const std::vector<std::string> args = chromium_argv(profile_.path() + "/profile");
        std::vector<char*> argv;
        for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        const int in = their_commands.get();
        const int out = their_replies.get();
        ChildOptions options;
        options.output_file = log_path_;
        options.null_input = true;
        options.own_process_group = true;
        options.dies_with_parent = true;
        // Between fork and exec: only async-signal-safe calls. The descriptors go up out of
        // the way first, so that moving them to 3 and 4 never overwrites one of them.
        return Child(
            [&]() -> int {
              const int high_in = ::fcntl(in, F_DUPFD_CLOEXEC, 10);
              const int high_out = ::fcntl(out, F_DUPFD_CLOEXEC, 10);
              if (high_in < 0 || high_out < 0 || ::dup2(high_in, 3) != 3 ||
                  ::dup2(high_out, 4) != 4)
                return 126;
              ::execv(argv[0], argv.data());
              return 127;
            },
            options);
      }()) {
  const json::value target = call("Target.createTarget", {{"url", "about:blank"}}, startup, false);
  const json::value attached =
      call("Target.attachToTarget", {{"targetId", target.at("targetId")}, {"flatten", true}},
           std::chrono::seconds(15), false);
  session_ = std::string(attached.at("sessionId").as_string());
}

HeadlessBrowser::~HeadlessBrowser() {
  if (process_.reaped()) return;
  // Its renderers and helpers are in its process group: end them all.
  ::kill(-process_.pid(), SIGKILL);
  (void)process_.wait();
}

std::string HeadlessBrowser::log() const {
  return read_file(log_path_);
}

void HeadlessBrowser::send(const json::value& message) {
  const std::string text = json::serialize(message) + std::string(1, '\0');
  std::size_t sent = 0;
  while (sent < text.size()) {
    const ssize_t n = ::write(to_browser_.get(), text.data() + sent, text.size() - sent);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys("write to chromium's DevTools pipe");
    sent += static_cast<std::size_t>(n);
  }
}

json::object HeadlessBrowser::receive(std::uint64_t id, Clock::time_point deadline) {
  for (;;) {
    for (std::size_t end; (end = buffer_.find('\0')) != std::string::npos;) {
      const std::string message = buffer_.substr(0, end);
      buffer_.erase(0, end + 1);
      json::value v = json::parse(message);
      // Events and replies to earlier calls are not what is awaited.
      const json::value* got = v.as_object().if_contains("id");
      if (got != nullptr && got->to_number<std::uint64_t>() == id) return std::move(v.as_object());
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) throw Error("chromium did not answer in time; its log:\n" + log());
    pollfd p{from_browser_.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char chunk[65536];
    const ssize_t n = ::read(from_browser_.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error("chromium closed its DevTools pipe; its log:\n" + log());
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

json::value HeadlessBrowser::call(const std::string& method, json::object params,
                                  std::chrono::milliseconds timeout, bool on_page) {
  const std::uint64_t id = next_id_++;
  json::object message{{"id", id}, {"method", method}, {"params", std::move(params)}};
  if (on_page) message["sessionId"] = session_;
  send(message);
  json::object reply = receive(id, Clock::now() + timeout);
  if (const json::value* error = reply.if_contains("error"))
    throw Error(method + " failed: " + json::serialize(*error));
  return reply["result"];
}

void HeadlessBrowser::navigate(const std::string& url) {
  const json::value result = call("Page.navigate", {{"url", url}});
  if (const json::value* error = result.as_object().if_contains("errorText"))
    throw Error("unable to load " + url + ": " + json::serialize(*error));
}

json::value HeadlessBrowser::evaluate(const std::string& expression,
                                      std::chrono::milliseconds timeout) {
  const json::value result = call("Runtime.evaluate",
                                  {{"expression", expression},
                                   {"awaitPromise", true},
                                   {"returnByValue", true},
                                   {"timeout", timeout.count()}},
                                  timeout + std::chrono::seconds(5));
  if (const json::value* thrown = result.as_object().if_contains("exceptionDetails"))
    throw Error("the page threw: " + json::serialize(*thrown));
  const json::value& value = result.at("result");
  const json::value* v = value.as_object().if_contains("value");
  return v == nullptr ? json::value(nullptr) : *v;
}

bool HeadlessBrowser::wait_until(const std::string& condition, std::chrono::milliseconds timeout) {
  const std::string script =
      "new Promise((resolve) => {"
      "  const holds = () => { try { return !!(" +
      condition +
      "); } catch (e) { return false; } };"
      "  if (holds()) return resolve(true);"
      "  const observer = new MutationObserver(() => {"
      "    if (holds()) { observer.disconnect(); resolve(true); } });"
      "  observer.observe(document, {subtree: true, childList: true, characterData: true,"
      "                              attributes: true});"
      "  setTimeout(() => { observer.disconnect(); resolve(holds()); }, " +
      std::to_string(timeout.count()) + ");})";
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    try {
      return evaluate(script, timeout + std::chrono::seconds(1)).as_bool();
    } catch (const Error&) {
      // The page navigated away under the evaluation (its context was destroyed): once more
      // in the new one.
      if (Clock::now() >= deadline) throw;
    }
  }
}

std::string HeadlessBrowser::screenshot_png() {
  const json::value shot = call("Page.captureScreenshot", {{"format", "png"}});
  return decode_base64(shot.at("data").as_string());
}

}  // namespace confvisor::test
