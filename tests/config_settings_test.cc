// The "confvisor" section as validation reads it: the daemon's settings and their defaults,
// every key read, the document kept whole for workers, and errors that name the JSON pointer
// of the bad value: a missing section, unknown keys (with the nearest known key), wrong types
// shown with the value found, the rules of each setting, and every error of a file at once.
#define BOOST_TEST_MODULE config_settings
#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>
#include <map>
#include <optional>

#include "common/json/describe.hpp"
#include "common/json/units.hpp"
#include "daemon/config/model.hpp"
#include "tests/support/config_documents.hpp"
#include "tests/support/temp_dir.hpp"

using namespace confvisor;
using namespace confvisor::config;
using namespace confvisor::test;
namespace json = boost::json;

namespace {
bool contains_text(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}
}  // namespace

BOOST_AUTO_TEST_CASE(minimal_section_takes_every_default) {
  const Settings s = settings_of(R"({"confvisor": {"segment": "demo"}})");
  BOOST_TEST(s.segment == "demo");
  BOOST_TEST(s.segment_size == 4u << 20);
  BOOST_TEST(s.mode == 0640u);
  BOOST_TEST(!s.group.has_value());
  BOOST_TEST(s.socket == "/run/confvisor/demo.sock");
  BOOST_TEST(s.history == 8u);
  BOOST_TEST(s.max_config_size == 64u << 20);
  BOOST_TEST(s.max_instances == 1000u);
  BOOST_TEST(s.workers.empty());       // a config without workers only publishes
  BOOST_TEST(!s.http.has_value());     // nothing listens unless asked to
  BOOST_TEST(!s.rollout.has_value());  // reloads are not verified unless asked to
}

BOOST_AUTO_TEST_CASE(rollout_takes_a_verify_window_and_what_a_failure_does) {
  const auto rollout = settings_of(section(R"("rollout": {"verify": "1500ms"})")).rollout;
  BOOST_TEST_REQUIRE(rollout.has_value());
  BOOST_TEST(rollout->verify.count() == 1500);
  BOOST_TEST((rollout->on_failure == RolloutAction::rollback));  // the default
  BOOST_TEST((settings_of(section(R"("rollout": {"verify": "2m", "on_failure": "keep"})"))
                  .rollout->on_failure == RolloutAction::keep));
  BOOST_TEST(error_of(section(R"("rollout": {"on_failure": "keep"})")) ==
             "t.json: /confvisor/rollout/verify: missing (required)");
  BOOST_TEST(error_of(section(R"("rollout": {"verify": "0s"})")) ==
             R"(t.json: /confvisor/rollout/verify: expected a duration longer than 0, got "0s")");
  BOOST_TEST(contains_text(error_of(section(R"("rollout": {"verify": 10})")),
                           "t.json: /confvisor/rollout/verify: expected "));
  BOOST_TEST(
      error_of(section(R"("rollout": {"verify": "1s", "on_failure": "retry"})")) ==
      R"(t.json: /confvisor/rollout/on_failure: expected one of rollback, keep; got "retry")");
  BOOST_TEST(
      (errors_of(section(R"("rollout": {"verfy": "1s"})")) ==
       Lines{R"(t.json: /confvisor/rollout/verfy: unknown key "verfy" (did you mean "verify"?))",
             "t.json: /confvisor/rollout/verify: missing (required)"}));
  BOOST_TEST(error_of(section(R"("rollout": "10s")")) ==
             R"(t.json: /confvisor/rollout: expected an object, got "10s")");
}

BOOST_AUTO_TEST_CASE(http_listen_is_an_address_literal_and_a_port) {
  const auto with_listen = [](std::string_view listen) {
    return section(R"("http": {"listen": ")" + std::string(listen) + R"("})");
  };
  const auto v4 = settings_of(with_listen("127.0.0.1:9187")).http;
  BOOST_TEST_REQUIRE(v4.has_value());
  BOOST_TEST(v4->listen == "127.0.0.1:9187");
  BOOST_TEST(v4->address == "127.0.0.1");
  BOOST_TEST(v4->port == 9187u);
  const auto v6 = settings_of(with_listen("[::1]:9187")).http;
  BOOST_TEST_REQUIRE(v6.has_value());
  BOOST_TEST(v6->address == "::1");
  // Port 0: a free port, which the log and status name.
  BOOST_TEST(settings_of(with_listen("0.0.0.0:0")).http->port == 0u);
  BOOST_TEST(settings_of(with_listen("[::]:65535")).http->port == 65535u);

  const auto error = [&](std::string_view listen) { return error_of(with_listen(listen)); };
  BOOST_TEST(error(":9187") ==
             R"(t.json: /confvisor/http/listen: no address in ":9187": write "0.0.0.0:PORT" or )"
             R"("[::]:PORT" to listen on every interface)");
  BOOST_TEST(error("localhost:9187") ==
             R"(t.json: /confvisor/http/listen: expected an address and a port like )"
             R"("127.0.0.1:9187" or "[::1]:9187", the address a literal (IPv6 in brackets), )"
             R"(got "localhost:9187")");
  BOOST_TEST(contains_text(error("::1:9187"), "the address a literal (IPv6 in brackets)"));
  BOOST_TEST(contains_text(error("[127.0.0.1]:9187"), "the address a literal"));
  BOOST_TEST(error("127.0.0.1:65536") ==
             R"(t.json: /confvisor/http/listen: port "65536" in "127.0.0.1:65536": expected a )"
             "number from 0 to 65535");
  BOOST_TEST(contains_text(error("127.0.0.1:http"), R"(port "http")"));
  BOOST_TEST(contains_text(error("127.0.0.1"), "expected an address and a port"));
  BOOST_TEST(error_of(section(R"("http": {})")) ==
             "t.json: /confvisor/http/listen: missing (required)");
  BOOST_TEST(contains_text(error_of(section(R"("http": {"listen": "127.0.0.1:1", "port": 2})")),
                           R"(t.json: /confvisor/http/port: unknown key "port")"));
  BOOST_TEST(error_of(section(R"("http": "127.0.0.1:9187")")) ==
             R"(t.json: /confvisor/http: expected an object, got "127.0.0.1:9187")");
}

BOOST_AUTO_TEST_CASE(every_key_is_read) {
  const Settings s = settings_of(R"({"confvisor": {
    "segment": "shop", "segment_size": "1MiB", "mode": "0600", "group": "root",
    "socket": "/tmp/shop.sock", "history": 3, "max_config_size": 100000,
    "workers": [{
      "name": "api.v2", "command": ["/bin/sleep", "infinity"], "instances": 4,
      "env": {"A": "1", "lower_case-ok": ""}, "cwd": "/srv", "user": "nobody", "group": "0",
      "umask": "027", "restart": "always", "success_exit_codes": [0, 3, 255],
      "backoff": {"initial": "250ms", "max": "1m"}, "start_window": "2s",
      "restart_limit": {"count": 7, "period": "1h"}, "fatal_retry_after": "15m",
      "stop_signal": "INT", "stop_timeout": "500ms", "on_reload": "signal",
      "reload_signal": 10, "ready": "notify"}]}})");
  BOOST_TEST(s.segment == "shop");
  BOOST_TEST(s.segment_size == 1u << 20);
  BOOST_TEST(s.mode == 0600u);
  BOOST_TEST(s.group.value() == "root");
  BOOST_TEST(s.socket == "/tmp/shop.sock");
  BOOST_TEST(s.history == 3u);
  BOOST_TEST(s.max_config_size == 100000u);
  BOOST_TEST_REQUIRE(s.workers.size() == 1u);
  const WorkerSpec& w = s.workers[0];
  BOOST_TEST(w.name == "api.v2");
  BOOST_TEST(w.command == (std::vector<std::string>{"/bin/sleep", "infinity"}));
  BOOST_TEST(w.instances == 4u);
  BOOST_TEST((w.env == std::map<std::string, std::string>{{"A", "1"}, {"lower_case-ok", ""}}));
  BOOST_TEST(w.cwd.value() == "/srv");
  BOOST_TEST(w.user.value() == "nobody");
  BOOST_TEST(w.group.value() == "0");
  BOOST_TEST(w.umask.value() == 027u);
  BOOST_TEST((w.restart == RestartPolicy::always));
  BOOST_TEST(w.success_exit_codes == (std::vector<int>{0, 3, 255}));
  BOOST_TEST(w.backoff.initial.count() == 250);
  BOOST_TEST(w.backoff.max.count() == 60'000);
  BOOST_TEST(w.start_window.count() == 2'000);
  BOOST_TEST(w.restart_limit.count == 7u);
  BOOST_TEST(w.restart_limit.period.count() == 3'600'000);
  BOOST_TEST(w.fatal_retry_after.value().count() == 900'000);
  BOOST_TEST(w.stop_signal == 2);
  BOOST_TEST(w.stop_timeout.count() == 500);
  BOOST_TEST((w.on_reload == ReloadAction::signal));
  BOOST_TEST(w.reload_signal == 10);
  BOOST_TEST((w.ready == Readiness::notify));
}

BOOST_AUTO_TEST_CASE(the_whole_document_is_kept_for_workers) {
  LoadResult result =
      load(R"({"confvisor": {"segment": "t"}, "database": {"host": "db1", "port": 5432}})");
  BOOST_TEST_REQUIRE(result.config.has_value());
  BOOST_TEST(result.config->document.at_pointer("/database/port").as_int64() == 5432);
  BOOST_TEST(result.config->document.at_pointer("/confvisor/segment").as_string() == "t");
  // In an arena of its own (freeing a node is a no-op there), moved, never copied, out of the
  // loader: the daemon's reload cost depends on it (bench/RESULTS.md).
  BOOST_TEST(result.config->document.storage().is_deallocate_trivial());
  std::optional<Config> kept;
  kept.emplace(std::move(*result.config));  // as Daemon keeps it
  BOOST_TEST(kept->document.storage().is_deallocate_trivial());
}

BOOST_AUTO_TEST_CASE(validate_config_takes_a_parsed_document) {
  const LoadResult ok = validate_config("doc", json::parse(R"({"confvisor": {"segment": "t"}})"));
  BOOST_TEST(ok.config.has_value());
  BOOST_TEST(ok.config->path == "doc");
  const LoadResult bad = validate_config("doc", json::parse("[1]"));
  BOOST_TEST(bad.errors == Lines{"doc: the top level must be a JSON object, found array"},
             boost::test_tools::per_element());
  BOOST_TEST(!bad.config.has_value());
}

BOOST_AUTO_TEST_CASE(missing_or_wrong_section) {
  BOOST_TEST(error_of(R"({"database": {}})") ==
             "t.json: /confvisor: missing: the daemon's settings live under this key");
  BOOST_TEST(error_of(R"({"confvisor": [1, 2]})") ==
             "t.json: /confvisor: expected an object, got array [1,2]");
  BOOST_TEST(error_of(R"({"confvisor": {}})") == "t.json: /confvisor/segment: missing (required)");
}

BOOST_AUTO_TEST_CASE(unknown_keys_suggest_the_nearest_known_key) {
  BOOST_TEST(error_of(section(R"("histroy": 8)")) ==
             R"(t.json: /confvisor/histroy: unknown key "histroy" (did you mean "history"?))");
  BOOST_TEST(
      error_of(section(R"("segment_sise": "1MiB")")) ==
      R"(t.json: /confvisor/segment_sise: unknown key "segment_sise" (did you mean "segment_size"?))");
  BOOST_TEST(error_of(section(R"("worker": [])")) ==
             R"(t.json: /confvisor/worker: unknown key "worker" (did you mean "workers"?))");
  BOOST_TEST(
      error_of(one_worker(R"("comand": [])")) ==
      R"(t.json: /confvisor/workers/0/comand: unknown key "comand" (did you mean "command"?))");
  BOOST_TEST(
      error_of(one_worker(R"("stop_timout": "1s")")) ==
      R"(t.json: /confvisor/workers/0/stop_timout: unknown key "stop_timout" (did you mean "stop_timeout"?))");
  BOOST_TEST(
      error_of(one_worker(R"("backoff": {"inital": "1s"})")) ==
      R"(t.json: /confvisor/workers/0/backoff/inital: unknown key "inital" (did you mean "initial"?))");
  BOOST_TEST(
      error_of(one_worker(R"("restart_limit": {"counts": 2})")) ==
      R"(t.json: /confvisor/workers/0/restart_limit/counts: unknown key "counts" (did you mean "count"?))");
}

BOOST_AUTO_TEST_CASE(unknown_keys_far_from_any_list_the_known_keys) {
  BOOST_TEST(error_of(section(R"("colour": "blue")")) ==
             "t.json: /confvisor/colour: unknown key \"colour\"; known keys: segment segment_size "
             "mode group socket history max_config_size max_instances http rollout workers schema "
             "include source state_dir");
  BOOST_TEST(error_of(one_worker(R"("backoff": {"x": 1})")) ==
             "t.json: /confvisor/workers/0/backoff/x: unknown key \"x\"; known keys: initial max");
  // A control character in a key stays an escape: one error, one line.
  BOOST_TEST(error_of(section(R"("a\nb\u0001": 1)")) ==
             R"(t.json: /confvisor/a\nb\u0001: unknown key "a\nb\u0001"; known keys: segment )"
             "segment_size mode group socket history max_config_size max_instances http rollout "
             "workers schema include source state_dir");
  BOOST_TEST(error_of("{\"confvisor\": {\"segment\": \"t\"}, \"x\\ty\": {\"k\": 1, \"k\": 2}}") ==
             R"(t.json:1:50: duplicate key "k" in /x\ty)");
  // A key with '/' or '~' is escaped in the pointer.
  BOOST_TEST(error_of(section(R"("a/b~c": 1)"))
                 .starts_with("t.json: /confvisor/a~1b~0c: unknown key \"a/b~c\";"));
}

BOOST_AUTO_TEST_CASE(wrong_types_show_the_value_they_got) {
  BOOST_TEST(error_of(R"({"confvisor": {"segment": 5}})") ==
             "t.json: /confvisor/segment: expected a string, got number 5");
  BOOST_TEST(error_of(section(R"("history": "8")")) ==
             R"(t.json: /confvisor/history: expected an integer from 1 to 64, got "8")");
  BOOST_TEST(error_of(section(R"("history": 2.5)")) ==
             "t.json: /confvisor/history: expected an integer from 1 to 64, got number 2.5");
  BOOST_TEST(error_of(section(R"("history": 65)")) ==
             "t.json: /confvisor/history: expected an integer from 1 to 64, got number 65");
  BOOST_TEST(error_of(section(R"("history": 18446744073709551615)")) ==
             "t.json: /confvisor/history: expected an integer from 1 to 64, got number "
             "18446744073709551615");
  BOOST_TEST(error_of(section(R"("workers": {"name": "a"})")) ==
             R"(t.json: /confvisor/workers: expected an array, got object {"name":"a"})");
  BOOST_TEST(error_of(section(R"("workers": ["api"])")) ==
             R"(t.json: /confvisor/workers/0: expected an object, got "api")");
  BOOST_TEST(
      error_of(one_worker(R"("instances": true)")) ==
      "t.json: /confvisor/workers/0/instances: expected an integer from 1 to 1000, got true");
  BOOST_TEST(error_of(one_worker(R"("instances": 1001)")) ==
             "t.json: /confvisor/workers/0/instances: expected an integer from 1 to 1000, got "
             "number 1001");
  BOOST_TEST(error_of(one_worker(R"("cwd": null)")) ==
             "t.json: /confvisor/workers/0/cwd: expected a string, got null");
}

BOOST_AUTO_TEST_CASE(long_values_are_cut_in_messages) {
  const std::string long_string(100, 'x');
  BOOST_TEST(error_of(section(R"("history": ")" + long_string + "\"")) ==
             "t.json: /confvisor/history: expected an integer from 1 to 64, got \"" +
                 std::string(39, 'x') + "...");
  BOOST_TEST(describe_value(json::parse("[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]")) ==
             "array [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,...");
  // Never inside a UTF-8 character: 39 x then a 2-byte character that would end at byte 41.
  BOOST_TEST(quote_text(std::string(38, 'x') + "\xC3\xA9" + "tail") ==
             "\"" + std::string(38, 'x') + "...");
  BOOST_TEST(describe_value(json::value(1.5)) == "number 1.5");
  BOOST_TEST(describe_value(json::value(-3)) == "number -3");
  BOOST_TEST(describe_value(json::value(false)) == "false");
  BOOST_TEST(describe_value(json::parse(R"({"a":{}})")) == R"(object {"a":{}})");
  BOOST_TEST(describe_value(json::value("tab\there")) == R"("tab\there")");
}

BOOST_AUTO_TEST_CASE(segment_name_rules) {
  BOOST_TEST(error_of(R"({"confvisor": {"segment": "a.b"}})") ==
             "t.json: /confvisor/segment: invalid segment name \"a.b\": expected 1 to 200 "
             "characters of A-Z a-z 0-9 _ -");
  BOOST_TEST(!errors_of(R"({"confvisor": {"segment": ""}})").empty());
  BOOST_TEST(!errors_of(R"({"confvisor": {"segment": ")" + std::string(201, 'a') + "\"}}").empty());
  BOOST_TEST(errors_of(R"({"confvisor": {"segment": "a-Z_09"}})").empty());
  // NAME.canary is the canary segment of NAME's daemon, never a daemon's own.
  BOOST_TEST(error_of(R"({"confvisor": {"segment": "a.canary"}})") ==
             "t.json: /confvisor/segment: \"a.canary\" is the name of a canary segment "
             "(\"a\"'s): choose a name without \".canary\"");
  BOOST_TEST(!errors_of(R"({"confvisor": {"segment": "a.canary.canary"}})").empty());
}

BOOST_AUTO_TEST_CASE(segment_size_and_max_config_size) {
  BOOST_TEST(settings_of(section(R"("segment_size": 65536)")).segment_size == 65536u);
  BOOST_TEST(settings_of(section(R"("segment_size": "64KiB")")).segment_size == 65536u);
  BOOST_TEST(settings_of(section(R"("segment_size": "1GB")")).segment_size == 1'000'000'000u);
  BOOST_TEST(error_of(section(R"("segment_size": "32KiB")")) ==
             R"(t.json: /confvisor/segment_size: expected a size of at least 64KiB, got "32KiB")");
  BOOST_TEST(error_of(section(R"("segment_size": -1)")) ==
             "t.json: /confvisor/segment_size: expected " + std::string(kSizeForms) +
                 ", got number -1");
  BOOST_TEST(error_of(section(R"("segment_size": "4 MiB")")) ==
             "t.json: /confvisor/segment_size: expected " + std::string(kSizeForms) +
                 R"(, got "4 MiB")");
  BOOST_TEST(settings_of(section(R"("max_config_size": "1MB")")).max_config_size == 1'000'000u);
}

BOOST_AUTO_TEST_CASE(mode_and_umask_are_octal_strings_of_permission_bits) {
  BOOST_TEST(settings_of(section(R"("mode": "0600")")).mode == 0600u);
  BOOST_TEST(settings_of(section(R"("mode": "644")")).mode == 0644u);
  BOOST_TEST(settings_of(section(R"("mode": "0777")")).mode == 0777u);
  const std::string form = R"(expected an octal string of permission bits like "0640", got )";
  BOOST_TEST(error_of(section(R"("mode": 420)")) ==
             "t.json: /confvisor/mode: " + form + "number 420");
  BOOST_TEST(error_of(section(R"("mode": "1777")")) ==
             "t.json: /confvisor/mode: " + form + "\"1777\"");
  BOOST_TEST(error_of(section(R"("mode": "0680")")) ==
             "t.json: /confvisor/mode: " + form + "\"0680\"");
  BOOST_TEST(error_of(section(R"("mode": "64")")) == "t.json: /confvisor/mode: " + form + "\"64\"");
  BOOST_TEST(error_of(section(R"("mode": "00640")")) ==
             "t.json: /confvisor/mode: " + form + "\"00640\"");
  BOOST_TEST(worker_of(R"("umask": "0077")").umask.value() == 077u);
  BOOST_TEST(error_of(one_worker(R"("umask": "22")")) ==
             "t.json: /confvisor/workers/0/umask: " + form + "\"22\"");
}

BOOST_AUTO_TEST_CASE(users_and_groups_must_exist) {
  BOOST_TEST(settings_of(section(R"("group": "root")")).group.value() == "root");
  BOOST_TEST(settings_of(section(R"("group": "0")")).group.value() == "0");
  BOOST_TEST(error_of(section(R"("group": "no-such-group-x")")) ==
             R"(t.json: /confvisor/group: no group "no-such-group-x" on this machine)");
  BOOST_TEST(error_of(section(R"("group": "4000000000")")) ==
             R"(t.json: /confvisor/group: no group "4000000000" on this machine)");
  BOOST_TEST(worker_of(R"("user": "root", "group": "root")").user.value() == "root");
  BOOST_TEST(worker_of(R"("user": "0")").user.value() == "0");
  BOOST_TEST(error_of(one_worker(R"("user": "no-such-user-x")")) ==
             R"(t.json: /confvisor/workers/0/user: no user "no-such-user-x" on this machine)");
  BOOST_TEST(error_of(one_worker(R"("group": "no-such-group-x")")) ==
             R"(t.json: /confvisor/workers/0/group: no group "no-such-group-x" on this machine)");
  // A NUL would cut the name short at the C library: "root\u0000x" is not "root".
  BOOST_TEST(
      error_of(one_worker(R"("user": "root\u0000x")")) ==
      R"(t.json: /confvisor/workers/0/user: must not contain a NUL character (\u0000), got "root\u0000x")");
}

BOOST_AUTO_TEST_CASE(socket_paths) {
  BOOST_TEST(error_of(section(R"("socket": "run/x.sock")")) ==
             R"(t.json: /confvisor/socket: expected an absolute path, got "run/x.sock")");
  const std::string long_path = "/" + std::string(107, 's');
  BOOST_TEST(error_of(section(R"("socket": ")" + long_path + "\"")) ==
             "t.json: /confvisor/socket: socket path is 108 bytes, longer than the 107 a Unix "
             "socket address holds");
  const std::string longest = "/" + std::string(106, 's');
  BOOST_TEST(settings_of(section(R"("socket": ")" + longest + "\"")).socket == longest);
  // The default for a long segment name would not fit either.
  const std::string segment(100, 'g');
  BOOST_TEST(error_of(R"({"confvisor": {"segment": ")" + segment + "\"}}") ==
             R"(t.json: /confvisor/socket: the default "/run/confvisor/)" + segment +
                 R"(.sock" is too long for a Unix socket address: set a shorter one)");
}

BOOST_AUTO_TEST_CASE(every_error_of_a_file_is_reported_at_once) {
  const std::string text = R"({
    "confvisor": {
      "segment": "shop",
      "segment_size": "4MB!",
      "histroy": 8,
      "workers": [
        {"name": "api", "command": ["/bin/true"], "restart": "sometimes"},
        {"name": "api", "command": ["/bin/true"], "stop_timeout": "10"},
        {"command": ["/bin/true"]}
      ]
    }
  })";
  const Lines expected{
      "t.json: /confvisor/segment_size: expected " + std::string(kSizeForms) + R"(, got "4MB!")",
      R"(t.json: /confvisor/histroy: unknown key "histroy" (did you mean "history"?))",
      R"(t.json: /confvisor/workers/0/restart: expected one of always, on-failure, never; got "sometimes")",
      "t.json: /confvisor/workers/1/stop_timeout: expected " + std::string(kDurationForms) +
          R"(, got "10")",
      R"(t.json: /confvisor/workers/1/name: duplicate worker name "api": /confvisor/workers/0 has it too)",
      "t.json: /confvisor/workers/2/name: missing (required)",
  };
  const LoadResult result = load(text);
  BOOST_TEST(result.errors == expected, boost::test_tools::per_element());
  BOOST_TEST(!result.config.has_value());
}

// ---------------------------------------------------------------- /confvisor/source/etcd

namespace {

std::string etcd_section(const std::string& etcd) {
  return section(R"("state_dir": "/var/tmp/confvisor-state", "source": {"etcd": )" + etcd + "}");
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_etcd_source_and_state_dir_are_read) {
  TempDir dir;
  const std::string pass = dir.write("etcd.pass", "s3cret\n");
  ::chmod(pass.c_str(), 0600);
  const std::string ca = dir.write("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  const Settings s = settings_of(etcd_section(
      R"({"endpoints": ["https://10.0.0.1:2379", "https://[::1]"], "prefix": "/config/shop/",
          "tls": {"ca": ")" +
      ca + R"(", "cert": ")" + ca + R"(", "key": ")" + ca + R"("},
          "auth": {"user": "shop-ro", "password_file": ")" +
      pass + R"("}})"));
  BOOST_TEST(s.state_dir == "/var/tmp/confvisor-state");
  BOOST_TEST_REQUIRE(s.etcd.has_value());
  BOOST_TEST(s.etcd->endpoints ==
             (std::vector<std::string>{"https://10.0.0.1:2379", "https://[::1]"}));
  BOOST_TEST(s.etcd->prefix == "/config/shop/");
  BOOST_TEST(s.etcd->tls.value().ca == ca);
  BOOST_TEST(s.etcd->tls.value().key == ca);
  BOOST_TEST(s.etcd->auth.value().user == "shop-ro");
  BOOST_TEST(s.etcd->auth.value().password == "s3cret");      // the first line, without its newline
  BOOST_TEST(s.etcd->watch_liveness.count() == 11 * 60'000);  // etcd's 10 min notifications pass

  const Settings quick = settings_of(
      etcd_section(R"({"endpoints": ["http://a:1"], "prefix": "/p/", "watch_liveness": "30s"})"));
  BOOST_TEST(quick.etcd.value().watch_liveness.count() == 30'000);
}

BOOST_AUTO_TEST_CASE(without_a_source_there_is_no_etcd_and_state_dir_has_its_default) {
  const Settings s = settings_of(section(""));
  BOOST_TEST(!s.etcd.has_value());
  BOOST_TEST(s.state_dir == default_state_dir());
  BOOST_TEST(s.state_dir.ends_with("/confvisor"));
}

BOOST_AUTO_TEST_CASE(etcd_mistakes_are_named_at_their_pointer) {
  struct Case {
    std::string etcd;
    std::string error;
  };
  const std::vector<Case> cases{
      {R"({"prefix": "/p/"})", "t.json: /confvisor/source/etcd/endpoints: missing (required)"},
      {R"({"endpoints": [], "prefix": "/p/"})",
       "t.json: /confvisor/source/etcd/endpoints: expected a non-empty array of URLs"},
      {R"({"endpoints": ["ftp://h:1"], "prefix": "/p/"})",
       "t.json: /confvisor/source/etcd/endpoints/0: "},
      {R"({"endpoints": ["http://h:1"], "prefix": "/config/shop"})",
       "t.json: /confvisor/source/etcd/prefix: expected a prefix ending in '/', got "
       "\"/config/shop\": write \"/config/shop/\""},
      {R"({"endpoints": ["http://a:1", "https://b:1"], "prefix": "/p/"})",
       "t.json: /confvisor/source/etcd/endpoints/1: is https where "
       "/confvisor/source/etcd/endpoints/0 is http: use one scheme for the cluster"},
      {R"({"endpoints": ["http://a:1"], "prefix": "/p/", "tls": {}})",
       "t.json: /confvisor/source/etcd/tls: applies to https:// endpoints"},
      {R"({"endpoints": ["https://a:1"], "prefix": "/p/", "tls": {"cert": "/etc/hostname"}})",
       "t.json: /confvisor/source/etcd/tls: a client certificate needs both \"cert\" and \"key\""},
      {R"({"endpoints": ["https://a:1"], "prefix": "/p/", "tls": {"ca": "/nonexistent.pem"}})",
       "t.json: /confvisor/source/etcd/tls/ca: \"/nonexistent.pem\": unable to read: No such file"},
      {R"({"endpoints": ["https://a:1"], "prefix": "/p/", "tls": {"ca": "/tmp"}})",
       "t.json: /confvisor/source/etcd/tls/ca: \"/tmp\": not a regular file (a directory)"},
      {R"({"endpoints": ["http://a:1"], "prefix": "/p/", "auth": {"user": "u"}})",
       "t.json: /confvisor/source/etcd/auth/password_file: missing (required)"},
      {R"({"endpoints": ["http://a:1"], "prefix": "/p/", "auth": {"user": "u", "password_file": "pass"}})",
       "t.json: /confvisor/source/etcd/auth/password_file: expected an absolute path"},
      {R"({"endpoints": ["http://a:1"], "prefix": "/p/", "watch_liveness": "500ms"})",
       "t.json: /confvisor/source/etcd/watch_liveness: expected a duration of at least 1s, got "
       "\"500ms\""},
      {R"({"endpoints": ["http://a:1"], "prefix": "/p/", "prefx": 1})",
       "t.json: /confvisor/source/etcd/prefx: unknown key \"prefx\" (did you mean \"prefix\"?)"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_INFO(c.etcd);
    const std::string e = error_of(etcd_section(c.etcd));
    BOOST_TEST(e.starts_with(c.error), e);
  }
  BOOST_TEST(error_of(section(R"("source": {"consul": {}})"))
                 .starts_with("t.json: /confvisor/source/consul: unknown key \"consul\""));
  BOOST_TEST(error_of(section(R"("state_dir": "var/lib")")) ==
             "t.json: /confvisor/state_dir: expected an absolute path, got \"var/lib\"");
}

BOOST_AUTO_TEST_CASE(a_password_file_is_read_like_other_files) {
  TempDir dir;
  const std::string etcd = R"({"endpoints": ["http://a:1"], "prefix": "/p/",
                              "auth": {"user": "u", "password_file": ")";
  const std::string empty = dir.write("empty", "\nsecond line\n");
  BOOST_TEST(error_of(etcd_section(etcd + empty + "\"}}"))
                 .ends_with("the password file's first line is empty"));
  BOOST_TEST(::mkfifo(dir.file("fifo").c_str(), 0600) == 0);  // refused unread, never waited on
  BOOST_TEST(error_of(etcd_section(etcd + dir.file("fifo") + "\"}}"))
                 .ends_with("not a regular file (a FIFO)"));
  const std::string crlf = dir.write("crlf", "pw\r\n");
  ::chmod(crlf.c_str(), 0600);
  BOOST_TEST(settings_of(etcd_section(etcd + crlf + "\"}}")).etcd.value().auth.value().password ==
             "pw");
}
