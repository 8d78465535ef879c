// The keys of a worker (/confvisor/workers/N): the defaults of a worker given only its name
// and command, and each key's rules and errors at its JSON pointer: names and duplicates,
// command, env, cwd, the enumerations, exit codes, backoff, watchdog, the restart limit and
// durations, signals.
#define BOOST_TEST_MODULE config_workers
#include <boost/test/unit_test.hpp>
#include <string>

#include "common/json/units.hpp"
#include "daemon/config/model.hpp"
#include "tests/support/config_documents.hpp"

using namespace confvisor;
using namespace confvisor::config;
using namespace confvisor::test;

BOOST_AUTO_TEST_CASE(worker_with_required_keys_takes_every_default) {
  const WorkerSpec w = worker_of("");
  BOOST_TEST((w == default_worker()));
  BOOST_TEST(w.instances == 1u);
  BOOST_TEST((w.restart == RestartPolicy::on_failure));
  BOOST_TEST(w.success_exit_codes == std::vector<int>{0});
  BOOST_TEST(w.backoff.initial.count() == 100);
  BOOST_TEST(w.backoff.max.count() == 30'000);
  BOOST_TEST(w.start_window.count() == 1'000);
  BOOST_TEST(w.restart_limit.count == 5u);
  BOOST_TEST(w.restart_limit.period.count() == 10'000);
  BOOST_TEST(!w.fatal_retry_after.has_value());
  BOOST_TEST(w.stop_signal == 15);
  BOOST_TEST(w.stop_timeout.count() == 10'000);
  BOOST_TEST((w.on_reload == ReloadAction::none));
  BOOST_TEST(w.reload_signal == 1);
  BOOST_TEST((w.ready == Readiness::started));
}

BOOST_AUTO_TEST_CASE(the_example_of_the_issue) {
  const std::string text = section(R"("workers": [
      {"name": "a", "command": ["/bin/true"]},
      {"name": "b", "command": ["/bin/true"]},
      {"name": "c", "command": ["/bin/true"], "restart": "sometimes"}])");
  BOOST_TEST(error_of(text) ==
             "t.json: /confvisor/workers/2/restart: expected one of always, "
             "on-failure, never; got \"sometimes\"");
}

BOOST_AUTO_TEST_CASE(required_keys) {
  const Lines expected{
      "t.json: /confvisor/workers/0/name: missing (required)",
      "t.json: /confvisor/workers/0/command: missing (required)",
  };
  BOOST_TEST(errors_of(section(R"("workers": [{}])")) == expected,
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(names) {
  BOOST_TEST(settings_of(section(R"("workers": [{"name": "a-b_c.9", "command": ["/bin/true"]}])"))
                 .workers.at(0)
                 .name == "a-b_c.9");
  BOOST_TEST(
      error_of(section(R"("workers": [{"name": "a b", "command": ["/bin/true"]}])")) ==
      R"(t.json: /confvisor/workers/0/name: expected a name of A-Z a-z 0-9 _ . - characters, got "a b")");
  BOOST_TEST(
      error_of(section(R"("workers": [{"name": "", "command": ["/bin/true"]}])")) ==
      R"(t.json: /confvisor/workers/0/name: expected a name of A-Z a-z 0-9 _ . - characters, got "")");
}

BOOST_AUTO_TEST_CASE(duplicate_names_are_reported_at_the_second_with_the_first) {
  const std::string text = section(R"("workers": [
      {"name": "api", "command": ["/bin/true"]},
      {"name": "web", "command": ["/bin/true"]},
      {"name": "api", "command": ["/bin/true"]},
      {"name": "web", "command": ["/bin/true"]}])");
  const Lines expected{
      R"(t.json: /confvisor/workers/2/name: duplicate worker name "api": /confvisor/workers/0 has it too)",
      R"(t.json: /confvisor/workers/3/name: duplicate worker name "web": /confvisor/workers/1 has it too)",
  };
  BOOST_TEST(errors_of(text) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(command_is_a_non_empty_array_of_non_empty_strings) {
  BOOST_TEST(error_of(section(R"("workers": [{"name": "w", "command": []}])")) ==
             "t.json: /confvisor/workers/0/command: expected a non-empty array of strings (the "
             "program and its arguments), got array []");
  BOOST_TEST(
      error_of(section(R"("workers": [{"name": "w", "command": "/bin/true"}])")) ==
      R"(t.json: /confvisor/workers/0/command: expected an array of strings (the program and its arguments, run without a shell), got "/bin/true": write ["/bin/true"])");
  const Lines expected{
      "t.json: /confvisor/workers/0/command/1: expected a string, got number 5",
      R"(t.json: /confvisor/workers/0/command/2: expected a non-empty string, got "")",
      R"(t.json: /confvisor/workers/0/command/3: must not contain a NUL character (\u0000), got "a\u0000b")",
  };
  BOOST_TEST(
      errors_of(section(
          R"("workers": [{"name": "w", "command": ["/bin/x", 5, "", "a\u0000b"]}])")) == expected,
      boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(env) {
  const Lines expected{
      R"(t.json: /confvisor/workers/0/env/A=B: invalid variable name "A=B": expected a non-empty name without '=' or NUL)",
      R"(t.json: /confvisor/workers/0/env/: invalid variable name "": expected a non-empty name without '=' or NUL)",
      R"(t.json: /confvisor/workers/0/env/CONFVISOR_WORKER: "CONFVISOR_WORKER" is set by confvisord for every worker)",
      "t.json: /confvisor/workers/0/env/N: expected a string, got number 5",
  };
  BOOST_TEST(errors_of(one_worker(
                 R"("env": {"A=B": "x", "": "y", "CONFVISOR_WORKER": "z", "N": 5, "OK": "1"})")) ==
                 expected,
             boost::test_tools::per_element());
  BOOST_TEST(error_of(one_worker(R"("env": ["A=1"])")) ==
             R"(t.json: /confvisor/workers/0/env: expected an object, got array ["A=1"])");
}

BOOST_AUTO_TEST_CASE(cwd_is_absolute) {
  BOOST_TEST(error_of(one_worker(R"("cwd": "srv/api")")) ==
             R"(t.json: /confvisor/workers/0/cwd: expected an absolute path, got "srv/api")");
}

BOOST_AUTO_TEST_CASE(enumerations) {
  BOOST_TEST((worker_of(R"("restart": "never")").restart == RestartPolicy::never));
  BOOST_TEST((worker_of(R"("on_reload": "restart")").on_reload == ReloadAction::restart));
  BOOST_TEST((worker_of(R"("ready": "notify")").ready == Readiness::notify));
  BOOST_TEST(error_of(one_worker(R"("restart": "on_failure")")) ==
             "t.json: /confvisor/workers/0/restart: expected one of always, on-failure, never; got "
             "\"on_failure\"");
  BOOST_TEST(error_of(one_worker(R"("on_reload": 1)")) ==
             "t.json: /confvisor/workers/0/on_reload: expected one of signal, restart, none; got "
             "number 1");
  BOOST_TEST(
      error_of(one_worker(R"("ready": "Started")")) ==
      "t.json: /confvisor/workers/0/ready: expected one of started, notify; got \"Started\"");
}

BOOST_AUTO_TEST_CASE(success_exit_codes) {
  BOOST_TEST(worker_of(R"("success_exit_codes": [])").success_exit_codes.empty());
  const Lines expected{
      "t.json: /confvisor/workers/0/success_exit_codes/1: expected an integer from 0 to 255, got "
      "number 256",
      "t.json: /confvisor/workers/0/success_exit_codes/2: expected an integer from 0 to 255, got "
      "number -1",
      R"(t.json: /confvisor/workers/0/success_exit_codes/3: expected an integer from 0 to 255, got "3")",
  };
  BOOST_TEST(errors_of(one_worker(R"("success_exit_codes": [0, 256, -1, "3"])")) == expected,
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(backoff) {
  BOOST_TEST(worker_of(R"("backoff": {"max": "1m"})").backoff.max.count() == 60'000);
  BOOST_TEST(worker_of(R"("backoff": {"initial": "5s", "max": "5s"})").backoff.initial.count() ==
             5'000);
  BOOST_TEST(error_of(one_worker(R"("backoff": {"initial": "1m", "max": "10s"})")) ==
             "t.json: /confvisor/workers/0/backoff: initial (1m) is longer than max (10s)");
  // Compared with the default max (30s) when only initial is given.
  BOOST_TEST(error_of(one_worker(R"("backoff": {"initial": "31s"})")) ==
             "t.json: /confvisor/workers/0/backoff: initial (31s) is longer than max (30s)");
  // 0 means restart at once (the restart limit still stops a crash loop).
  BOOST_TEST(worker_of(R"("backoff": {"initial": "0ms"})").backoff.initial.count() == 0);
  // A bad value is not compared too (its default would make a second, false error).
  BOOST_TEST(error_of(one_worker(R"("backoff": {"initial": "soon", "max": "10ms"})")) ==
             "t.json: /confvisor/workers/0/backoff/initial: expected " +
                 std::string(kDurationForms) + R"(, got "soon")");
  BOOST_TEST(error_of(one_worker(R"("backoff": "1s")")) ==
             R"(t.json: /confvisor/workers/0/backoff: expected an object, got "1s")");
}

BOOST_AUTO_TEST_CASE(log_bounds_file_and_rotation) {
  const config::LogSettings defaults = default_worker().log;
  BOOST_TEST(defaults.lines == 1000u);
  BOOST_TEST(defaults.bytes == 256u * 1024);
  BOOST_TEST(!defaults.file.has_value());
  BOOST_TEST(defaults.max_size.value() == 10u << 20);
  BOOST_TEST(defaults.keep == 5u);
  const auto w = worker_of(
      R"("log": {"lines": 0, "bytes": "1MiB", "file": "/tmp/w.log", "max_size": null, "keep": 0})");
  BOOST_TEST(w.log.lines == 0u);
  BOOST_TEST(w.log.bytes == 1u << 20);
  BOOST_TEST(w.log.file.value() == "/tmp/w.log");
  BOOST_TEST(!w.log.max_size.has_value());
  const Lines expected{
      "t.json: /confvisor/workers/0/log/lines: expected an integer from 0 to 1000000, got "
      "number -1",
      R"(t.json: /confvisor/workers/0/log/bytes: expected a size of at most 64MiB, got "1GiB")",
      R"(t.json: /confvisor/workers/0/log/file: expected an absolute path, got "w.log")",
      R"(t.json: /confvisor/workers/0/log/max_size: expected a size of at least 4KiB, or null (never rotated by size), got "1KiB")",
      R"(t.json: /confvisor/workers/0/log/rotate: unknown key "rotate"; known keys: lines bytes file max_size keep)",
  };
  BOOST_TEST(errors_of(one_worker(R"("log": {"lines": -1, "bytes": "1GiB", "file": "w.log",
                                              "max_size": "1KiB", "rotate": 3})")) == expected,
             boost::test_tools::per_element());
  // One file per worker: two rotating one file would lose lines.
  BOOST_TEST(
      error_of(section(R"("workers": [
        {"name": "a", "command": ["/bin/true"], "log": {"file": "/tmp/x.log"}},
        {"name": "b", "command": ["/bin/true"], "log": {"file": "/tmp/x.log"}}])")) ==
      R"(t.json: /confvisor/workers/1/log/file: "/tmp/x.log" is the log file of /confvisor/workers/0 too: give each worker a file of its own)");
}

BOOST_AUTO_TEST_CASE(watchdog_needs_notify) {
  auto w = worker_of(R"("ready": "notify", "watchdog": "2s")");
  BOOST_TEST(w.watchdog.has_value());
  BOOST_TEST(w.watchdog->count() == 2'000);
  BOOST_TEST(!worker_of("").watchdog.has_value());
  BOOST_TEST(
      error_of(one_worker(R"("watchdog": "2s")")) ==
      R"(t.json: /confvisor/workers/0/watchdog: needs "ready": "notify": pings come over the notify socket)");
  BOOST_TEST(
      error_of(one_worker(R"("ready": "notify", "watchdog": "0s")")) ==
      R"(t.json: /confvisor/workers/0/watchdog: expected a duration longer than 0, got "0s")");
}

BOOST_AUTO_TEST_CASE(restart_limit_and_durations) {
  const Lines expected{
      "t.json: /confvisor/workers/0/restart_limit/count: expected an integer from 1 to 1000000, "
      "got number 0",
      R"(t.json: /confvisor/workers/0/restart_limit/period: expected a duration longer than 0, got "0ms")",
  };
  BOOST_TEST(errors_of(one_worker(R"("restart_limit": {"count": 0, "period": "0ms"})")) == expected,
             boost::test_tools::per_element());
  BOOST_TEST(worker_of(R"("start_window": "0s")").start_window.count() == 0);
  BOOST_TEST(!worker_of(R"("fatal_retry_after": null)").fatal_retry_after.has_value());
  BOOST_TEST(worker_of(R"("fatal_retry_after": "5m")").fatal_retry_after.value().count() ==
             300'000);
  BOOST_TEST(error_of(one_worker(R"("stop_timeout": 10)")) ==
             "t.json: /confvisor/workers/0/stop_timeout: expected " + std::string(kDurationForms) +
                 ", got number 10");
  BOOST_TEST(error_of(one_worker(R"("fatal_retry_after": false)")) ==
             "t.json: /confvisor/workers/0/fatal_retry_after: expected " +
                 std::string(kDurationForms) + ", got false");
}

BOOST_AUTO_TEST_CASE(signals) {
  BOOST_TEST(worker_of(R"("stop_signal": "SIGINT")").stop_signal == 2);
  BOOST_TEST(worker_of(R"("stop_signal": "QUIT")").stop_signal == 3);
  BOOST_TEST(worker_of(R"("reload_signal": "SIGUSR2")").reload_signal == 12);
  BOOST_TEST(worker_of(R"("reload_signal": 40)").reload_signal == 40);
  const std::string form =
      R"(expected a signal name like "SIGTERM" or "TERM", or a number from 1 to 64, got )";
  BOOST_TEST(error_of(one_worker(R"("stop_signal": "sigterm")")) ==
             "t.json: /confvisor/workers/0/stop_signal: " + form + "\"sigterm\"");
  BOOST_TEST(error_of(one_worker(R"("stop_signal": 0)")) ==
             "t.json: /confvisor/workers/0/stop_signal: " + form + "number 0");
  BOOST_TEST(error_of(one_worker(R"("reload_signal": 65)")) ==
             "t.json: /confvisor/workers/0/reload_signal: " + form + "number 65");
  BOOST_TEST(error_of(one_worker(R"("reload_signal": 1.0)")) ==
             "t.json: /confvisor/workers/0/reload_signal: " + form + "number 1");
}
