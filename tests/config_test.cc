// The config file: text checks (FILE:LINE:COL), validation of the "confvisor" section (JSON
// pointers, every error at once), the value parsers behind it, the examples in config/ and
// the JSON Schema that describes the section.
#define BOOST_TEST_MODULE config
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "common/json/describe.hpp"
#include "common/json/pointer.hpp"
#include "common/json/text.hpp"
#include "common/json/units.hpp"
#include "common/json/utf8.hpp"
#include "common/os/signal_names.hpp"
#include "common/os/unique_fd.hpp"
#include "confvisor/error.hpp"
#include "daemon/config/model.hpp"
#include "daemon/config/suggest.hpp"

using namespace confvisor;
using namespace confvisor::config;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace json = boost::json;
using Lines = std::vector<std::string>;

namespace {

LoadResult load(std::string_view text) {
  return load_config_text(text, "t.json");
}

Lines errors_of(std::string_view text) {
  return load(text).errors;
}

std::string joined(const Lines& lines) {
  std::string all;
  for (const std::string& line : lines) all += "\n  " + line;
  return all;
}

// A document whose section is {"segment": "t", BODY}.
std::string section(std::string_view body) {
  return R"({"confvisor": {"segment": "t")" + std::string(body.empty() ? "" : ", ") +
         std::string(body) + "}}";
}

// A document with one worker {"name": "w", "command": ["/bin/true"], BODY}.
std::string one_worker(std::string_view body) {
  return section(R"("workers": [{"name": "w", "command": ["/bin/true"])" +
                 std::string(body.empty() ? "" : ", ") + std::string(body) + "}]");
}

Settings settings_of(std::string_view text) {
  LoadResult result = load(text);
  BOOST_TEST_REQUIRE(result.errors.empty(), "unexpected errors:" << joined(result.errors));
  BOOST_TEST_REQUIRE(result.config.has_value());
  return result.config->settings;
}

WorkerSpec worker_of(std::string_view body) {
  Settings settings = settings_of(one_worker(body));
  BOOST_TEST_REQUIRE(settings.workers.size() == 1u);
  return settings.workers[0];
}

WorkerSpec default_worker() {
  WorkerSpec w;
  w.name = "w";
  w.command = {"/bin/true"};
  return w;
}

// The one error `text` gives.
std::string error_of(std::string_view text) {
  const Lines errors = errors_of(text);
  BOOST_TEST_REQUIRE(errors.size() == 1u, "expected one error, got" << joined(errors));
  return errors[0];
}

// A directory removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "confvisor-config-XXXXXX").string();
    BOOST_TEST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] std::string write(const std::string& name, std::string_view text) const {
    std::string file = (path_ / name).string();
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::vector<fs::path> files_in(const fs::path& dir, std::string_view extension) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == extension) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string_view> property_names(const json::value& schema, std::string_view pointer) {
  std::vector<std::string_view> names;
  for (const auto& member : schema.at_pointer(pointer).as_object()) names.push_back(member.key());
  return names;
}

json::value schema() {
  std::ifstream in(CONFVISOR_CONFIG_DIR "/confvisor.schema.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return json::parse(text);
}

}  // namespace

// ---------------------------------------------------------------- a valid file and defaults

BOOST_AUTO_TEST_SUITE(valid)

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
  BOOST_TEST(s.workers.empty());  // a config without workers only publishes
}

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

BOOST_AUTO_TEST_CASE(comments_and_trailing_commas_are_allowed_and_stripped) {
  const LoadResult result = load(
      "// leading comment\n"
      "{\n"
      "  /* block\n     comment */ \"confvisor\": {\"segment\": \"t\",}, // after\n"
      "  \"list\": [1, 2, 3,],\n"
      "}\n"
      "// trailing comment\n");
  BOOST_TEST_REQUIRE(result.errors == Lines{}, boost::test_tools::per_element());
  BOOST_TEST(json::serialize(result.config->document) ==
             R"({"confvisor":{"segment":"t"},"list":[1,2,3]})");
  BOOST_TEST(result.config->path == "t.json");
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

BOOST_AUTO_TEST_CASE(byte_order_mark_is_skipped) {
  BOOST_TEST(errors_of("\xEF\xBB\xBF{\"confvisor\": {\"segment\": \"t\"}}").empty());
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

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- FILE:LINE:COL errors

BOOST_AUTO_TEST_SUITE(syntax)

BOOST_AUTO_TEST_CASE(syntax_error_names_line_and_column) {
  const std::string text =
      "{\n"
      "  \"confvisor\": {\n"
      "    \"segment\": \"x\",\n"
      "    \"history\": 8 8\n"
      "  }\n"
      "}\n";
  BOOST_TEST(error_of(text) == "t.json:4:18: syntax error at '8'");
}

BOOST_AUTO_TEST_CASE(syntax_errors_show_what_was_found) {
  BOOST_TEST(error_of("{\n  \"a\": }") == "t.json:2:8: syntax error at '}'");
  BOOST_TEST(error_of("{\"a\": tru}") == "t.json:1:7: syntax error at 't'");  // the token's start
  BOOST_TEST(error_of("{\"a\": \"x\ny\"}") == "t.json:1:9: syntax error at control character 0x0a");
  BOOST_TEST(error_of("{\"a\": é}") == "t.json:1:7: syntax error at 'é'");
  BOOST_TEST(error_of("{\"a\": 1 /* open comment") == "t.json:1:24: unexpected end of file");
}

BOOST_AUTO_TEST_CASE(end_of_file_inside_the_document) {
  BOOST_TEST(error_of("") == "t.json:1:1: unexpected end of file");
  BOOST_TEST(error_of("  // only a comment\n") == "t.json:2:1: unexpected end of file");
  BOOST_TEST(error_of("{\"confvisor\": {\"segment\": \"x\"}") ==
             "t.json:1:31: unexpected end of file");
}

BOOST_AUTO_TEST_CASE(data_after_the_document) {
  BOOST_TEST(error_of("{}\n// fine\n{}") ==
             "t.json:3:1: unexpected '{' after the end of the document");
}

BOOST_AUTO_TEST_CASE(top_level_must_be_an_object) {
  BOOST_TEST(error_of("[1, 2]") == "t.json:1:1: the top level must be a JSON object, found array");
  BOOST_TEST(error_of("// the config\n  \"text\"") ==
             "t.json:2:3: the top level must be a JSON object, found string");
  BOOST_TEST(error_of("null") == "t.json:1:1: the top level must be a JSON object, found null");
  BOOST_TEST(error_of("42") == "t.json:1:1: the top level must be a JSON object, found number");
}

// `depth` arrays nested in the value of "deep", on line 2.
std::string nested(std::size_t depth) {
  return "{\"confvisor\": {\"segment\": \"t\"},\n\"deep\": " + std::string(depth, '[') +
         std::string(depth, ']') + "}";
}

BOOST_AUTO_TEST_CASE(depth_limit_is_far_above_boosts_default) {
  BOOST_TEST(errors_of(nested(900)).empty());
  BOOST_TEST(errors_of(nested(kMaxConfigDepth - 1)).empty());  // the top object is a level
  // The array that is level 1001 is the 1000th '[' after `"deep": ` (8 bytes) on line 2.
  BOOST_TEST(error_of(nested(1500)) ==
             "t.json:2:1008: nested deeper than 1000 levels (the depth limit of config files)");
  BOOST_TEST(error_of(nested(kMaxConfigDepth)) ==
             "t.json:2:1008: nested deeper than 1000 levels (the depth limit of config files)");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_anywhere_is_refused_with_its_place) {
  // In a string, in a comment, overlong, a surrogate, above U+10FFFF, cut short, stray.
  BOOST_TEST(error_of("{\"a\": \"caf\xC3\"}") == "t.json:1:11: invalid UTF-8");
  BOOST_TEST(error_of("// caf\xE9 (Latin-1)\n{}") == "t.json:1:7: invalid UTF-8");
  BOOST_TEST(error_of("{\n /* \xC0\xAF */ }") == "t.json:2:5: invalid UTF-8");
  BOOST_TEST(error_of("{\"a\": \"\xE0\x80\xAF\"}") == "t.json:1:8: invalid UTF-8");
  BOOST_TEST(error_of("{\"a\": \"\xED\xA0\x80\"}") == "t.json:1:8: invalid UTF-8");
  BOOST_TEST(error_of("{\"a\": \"\xF4\x90\x80\x80\"}") == "t.json:1:8: invalid UTF-8");
  BOOST_TEST(error_of("{\"a\": \"\xE2\x82\"}") == "t.json:1:8: invalid UTF-8");
  BOOST_TEST(error_of("{} // \xF0\x9F\x98") == "t.json:1:7: invalid UTF-8");
  BOOST_TEST(error_of("{\"\x80\": 1}") == "t.json:1:3: invalid UTF-8");
}

BOOST_AUTO_TEST_CASE(find_invalid_utf8_table) {
  struct Case {
    std::string_view text;
    std::optional<std::size_t> bad;
  };
  const Case cases[] = {
      {"", std::nullopt},
      {"plain ASCII \x7F", std::nullopt},
      {"\xC3\xA9", std::nullopt},          // é
      {"\xE2\x82\xAC", std::nullopt},      // €
      {"\xED\x9F\xBF", std::nullopt},      // U+D7FF, just below the surrogates
      {"\xEE\x80\x80", std::nullopt},      // U+E000, just above them
      {"\xF0\x9F\x98\x80", std::nullopt},  // U+1F600
      {"\xF4\x8F\xBF\xBF", std::nullopt},  // U+10FFFF, the last code point
      {"ab\x80", 2},                       // stray continuation byte
      {"\xC0\x80", 0},                     // overlong NUL
      {"\xC1\xBF", 0},                     // overlong 2-byte
      {"\xE0\x9F\xBF", 0},                 // overlong 3-byte
      {"\xF0\x8F\xBF\xBF", 0},             // overlong 4-byte
      {"\xED\xA0\x80", 0},                 // U+D800
      {"\xED\xBF\xBF", 0},                 // U+DFFF
      {"\xF4\x90\x80\x80", 0},             // U+110000
      {"\xF5\x80\x80\x80", 0},             // no lead byte above F4
      {"\xFF", 0},
      {"x\xC3", 1},  // cut short at the end
      {"x\xE2\x82", 1},
      {"x\xF0\x9F\x98", 1},
      {"\xE2\x82x", 0},             // cut short by an ASCII byte
      {"ok \xC3\xA9 \xC3\x28", 6},  // the first bad one
  };
  for (const Case& c : cases) {
    BOOST_TEST_INFO("text of " << c.text.size() << " bytes: " << c.text);
    BOOST_TEST((find_invalid_utf8(c.text) == c.bad));
  }
}

BOOST_AUTO_TEST_CASE(duplicate_keys_name_their_object_and_place) {
  const std::string text =
      "{\n"
      "  \"confvisor\": {\"segment\": \"t\"},\n"
      "  \"database\": {\"port\": 1,\n"
      "               \"port\": 2},\n"
      "  \"list\": [{}, {\"a\": {\"k\": 1, \"k\": 2, \"k\": 3}}],\n"
      "  \"a/b~\": {\"x\": 1, \"\\u0078\": 2}\n"
      "}\n";
  const Lines expected{
      R"(t.json:4:16: duplicate key "port" in /database)",
      R"(t.json:5:31: duplicate key "k" in /list/1/a)",
      R"(t.json:5:39: duplicate key "k" in /list/1/a)",
      R"(t.json:6:20: duplicate key "x" in /a~1b~0)",  // written "\u0078"
  };
  BOOST_TEST(errors_of(text) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(duplicate_top_level_key) {
  BOOST_TEST(error_of(R"({"confvisor": {"segment": "t"}, "confvisor": {"segment": "u"}})") ==
             R"(t.json:1:33: duplicate key "confvisor" in the top-level object)");
}

BOOST_AUTO_TEST_CASE(duplicate_keys_and_meaning_errors_are_reported_together) {
  const std::string text =
      "{\"confvisor\": {\"segment\": \"t\", \"history\": 0},\n"
      " \"x\": 1, \"x\": 2}";
  const Lines expected{
      R"(t.json:2:10: duplicate key "x" in the top-level object)",
      "t.json: /confvisor/history: expected an integer from 1 to 64, got number 0",
  };
  BOOST_TEST(errors_of(text) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(duplicates_before_a_syntax_error_are_reported_with_it) {
  const Lines expected{
      R"(t.json:1:10: duplicate key "a" in the top-level object)",
      "t.json:1:17: unexpected end of file",
  };
  BOOST_TEST(errors_of(R"({"a": 1, "a": 2,)") == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(position_of_table) {
  BOOST_TEST(position_of("ab\ncd", 0).line == 1u);
  BOOST_TEST(position_of("ab\ncd", 0).column == 1u);
  BOOST_TEST(position_of("ab\ncd", 2).column == 3u);  // the newline itself ends line 1
  BOOST_TEST(position_of("ab\ncd", 3).line == 2u);
  BOOST_TEST(position_of("ab\ncd", 3).column == 1u);
  BOOST_TEST(position_of("ab\ncd", 5).column == 3u);     // the end
  BOOST_TEST(position_of("\xC3\xA9x", 2).column == 3u);  // columns count bytes
  BOOST_TEST(position_of("ab", 99).column == 3u);
}

BOOST_AUTO_TEST_CASE(skip_blank_and_string_tokens) {
  BOOST_TEST(skip_blank(" // c\n /* d */ x", 0) == 15u);
  BOOST_TEST(skip_blank("  /* open", 0) == 9u);
  const std::string_view text = R"({"a": "s\"//", /* "no" */ "b": [// "no"
"c"]})";
  const std::vector<std::size_t> all{0, 1, 2, 3};
  BOOST_TEST(string_token_offsets(text, all) == (std::vector<std::size_t>{1, 6, 26, 40}),
             boost::test_tools::per_element());
  const std::vector<std::size_t> some{2};
  BOOST_TEST(string_token_offsets(text, some) == std::vector<std::size_t>{26});
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- FILE: /pointer: errors

BOOST_AUTO_TEST_SUITE(meaning)

BOOST_AUTO_TEST_CASE(missing_or_wrong_section) {
  BOOST_TEST(error_of(R"({"database": {}})") ==
             "t.json: /confvisor: missing: the daemon's settings live under this key");
  BOOST_TEST(error_of(R"({"confvisor": [1, 2]})") ==
             "t.json: /confvisor: expected an object, got array [1,2]");
  BOOST_TEST(error_of(R"({"confvisor": {}})") == "t.json: /confvisor/segment: missing (required)");
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
             "mode group socket history max_config_size max_instances workers");
  BOOST_TEST(error_of(one_worker(R"("backoff": {"x": 1})")) ==
             "t.json: /confvisor/workers/0/backoff/x: unknown key \"x\"; known keys: initial max");
  // A control character in a key stays an escape: one error, one line.
  BOOST_TEST(error_of(section(R"("a\nb\u0001": 1)")) ==
             R"(t.json: /confvisor/a\nb\u0001: unknown key "a\nb\u0001"; known keys: segment )"
             "segment_size mode group socket history max_config_size max_instances workers");
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

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- workers

BOOST_AUTO_TEST_SUITE(workers)

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

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- value parsers

BOOST_AUTO_TEST_SUITE(parsers)

BOOST_AUTO_TEST_CASE(sizes) {
  const std::pair<std::string_view, std::uint64_t> good[] = {
      {"0", 0},
      {"4096", 4096},
      {"512B", 512},
      {"64KiB", 64 * 1024},
      {"4MiB", 4u << 20},
      {"1GiB", 1u << 30},
      {"1TiB", 1ull << 40},
      {"4KB", 4000},
      {"4kB", 4000},
      {"4MB", 4'000'000},
      {"1GB", 1'000'000'000},
      {"2TB", 2'000'000'000'000},
      {"007KiB", 7 * 1024},
      {"18446744073709551615", 18446744073709551615ull},
      {"16777215TiB", 16777215ull << 40},
  };
  for (const auto& [text, bytes] : good) {
    BOOST_TEST_INFO(text);
    BOOST_TEST(parse_size(text) == bytes);
  }
  const std::string_view bad[] = {"",    "-1",  "+4",    "1.5MiB", "4 MiB", "4mib", "MiB",
                                  "4XB", "4Mi", "4MiBs", " 4",     "0x10",  "4e3"};
  for (std::string_view text : bad) {
    BOOST_TEST_INFO(text);
    BOOST_CHECK_EXCEPTION((void)parse_size(text), Error, [&](const Error& e) {
      return std::string(e.what()) ==
             "expected " + std::string(kSizeForms) + ", got " + quote_text(text);
    });
  }
  for (std::string_view text :
       {"18446744073709551616", "16777216TiB", "99999999999999999999999B"}) {
    BOOST_TEST_INFO(text);
    BOOST_CHECK_EXCEPTION((void)parse_size(text), Error, [&](const Error& e) {
      return std::string(e.what()) == quote_text(text) + " is too large";
    });
  }
}

BOOST_AUTO_TEST_CASE(durations) {
  const std::pair<std::string_view, std::int64_t> good[] = {
      {"0s", 0},        {"0ms", 0},         {"100ms", 100},
      {"10s", 10'000},  {"1m", 60'000},     {"2h", 7'200'000},
      {"1500ms", 1500}, {"90m", 5'400'000}, {"9223372036854775807ms", 9223372036854775807},
  };
  for (const auto& [text, millis] : good) {
    BOOST_TEST_INFO(text);
    BOOST_TEST(parse_duration(text).count() == millis);
  }
  const std::string_view bad[] = {"",    "10",  "1.5s", "10 s", "10sec", "1d",   "250us",
                                  "-1s", "+1s", "s",    "1S",   "1M",    "1ms ", "1h30m"};
  for (std::string_view text : bad) {
    BOOST_TEST_INFO(text);
    BOOST_CHECK_EXCEPTION((void)parse_duration(text), Error, [&](const Error& e) {
      return std::string(e.what()) ==
             "expected " + std::string(kDurationForms) + ", got " + quote_text(text);
    });
  }
  for (std::string_view text :
       {"9223372036854775808ms", "2562047788016h", "99999999999999999999s"}) {
    BOOST_TEST_INFO(text);
    BOOST_CHECK_EXCEPTION((void)parse_duration(text), Error, [&](const Error& e) {
      return std::string(e.what()) == quote_text(text) + " is too large";
    });
  }
}

BOOST_AUTO_TEST_CASE(format_duration_is_the_shortest_exact_form) {
  BOOST_TEST(format_duration(0ms) == "0s");
  BOOST_TEST(format_duration(100ms) == "100ms");
  BOOST_TEST(format_duration(1500ms) == "1500ms");
  BOOST_TEST(format_duration(30s) == "30s");
  BOOST_TEST(format_duration(90s) == "90s");
  BOOST_TEST(format_duration(1min) == "1m");
  BOOST_TEST(format_duration(2h) == "2h");
  for (auto d : {0ms, 7ms, 1000ms, 61'000ms, 3'600'000ms}) {
    BOOST_TEST(parse_duration(format_duration(d)) == d);
  }
}

BOOST_AUTO_TEST_CASE(signal_names_table) {
  const std::pair<std::string_view, int> good[] = {
      {"SIGHUP", 1},   {"HUP", 1},       {"SIGINT", 2},   {"SIGQUIT", 3},  {"SIGABRT", 6},
      {"SIGIOT", 6},   {"SIGKILL", 9},   {"SIGUSR1", 10}, {"USR2", 12},    {"SIGPIPE", 13},
      {"SIGTERM", 15}, {"TERM", 15},     {"SIGCHLD", 17}, {"SIGCLD", 17},  {"SIGCONT", 18},
      {"SIGSTOP", 19}, {"SIGWINCH", 28}, {"SIGIO", 29},   {"SIGPOLL", 29}, {"SIGSYS", 31},
  };
  for (const auto& [name, number] : good) {
    BOOST_TEST_INFO(name);
    BOOST_TEST((signal_number(name) == std::optional<int>(number)));
  }
  for (std::string_view name :
       {"", "SIG", "sigterm", "Term", "SIGTERM ", "SIGFOO", "SIGRTMIN", "15"}) {
    BOOST_TEST_INFO(name);
    BOOST_TEST(!signal_number(name).has_value());
  }
  BOOST_TEST(signal_name(15) == "SIGTERM");
  BOOST_TEST(signal_name(6) == "SIGABRT");
  BOOST_TEST(signal_name(17) == "SIGCHLD");
  BOOST_TEST(signal_name(40) == "signal 40");
}

BOOST_AUTO_TEST_CASE(edit_distance_and_suggestions) {
  BOOST_TEST(edit_distance("", "") == 0u);
  BOOST_TEST(edit_distance("abc", "") == 3u);
  BOOST_TEST(edit_distance("", "abc") == 3u);
  BOOST_TEST(edit_distance("kitten", "sitting") == 3u);
  BOOST_TEST(edit_distance("histroy", "history") == 2u);
  BOOST_TEST(edit_distance("same", "same") == 0u);
  const std::vector<std::string_view> keys = settings_keys();
  BOOST_TEST(nearest_word("histroy", keys).value() == "history");
  BOOST_TEST(nearest_word("Segment", keys).value() == "segment");
  BOOST_TEST(!nearest_word("max_config", keys).has_value());  // 5 edits for 10 bytes: too far
  BOOST_TEST(!nearest_word("colour", keys).has_value());
  BOOST_TEST(!nearest_word("x", worker_keys()).has_value());  // not taken for "env"
  BOOST_TEST(!nearest_word("", worker_keys()).has_value());
}

BOOST_AUTO_TEST_CASE(json_pointers_escape_tilde_and_slash) {
  BOOST_TEST(child_pointer("", "a") == "/a");
  BOOST_TEST(child_pointer("/a", "b/c~d") == "/a/b~1c~0d");
  BOOST_TEST(child_pointer("/a", std::size_t{3}) == "/a/3");
  BOOST_TEST(child_pointer("/a", "") == "/a/");
  BOOST_TEST(printable_pointer("/a\nb/\x01\x7f/\t/é") == R"(/a\nb/\u0001\u007f/\t/é)");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- files

BOOST_AUTO_TEST_SUITE(files)

BOOST_AUTO_TEST_CASE(a_file_loads) {
  TempDir dir;
  const std::string file = dir.write("c.json", R"({"confvisor": {"segment": "t"}})");
  const LoadResult result = load_config(file, 1 << 20);
  BOOST_TEST(result.errors.empty());
  BOOST_TEST(result.config->path == file);
}

BOOST_AUTO_TEST_CASE(errors_name_the_file) {
  TempDir dir;
  const std::string file = dir.write("c.json", "{\n  \"confvisor\": 5\n}");
  BOOST_TEST(load_config(file, 1 << 20).errors ==
                 Lines{file + ": /confvisor: expected an object, got number 5"},
             boost::test_tools::per_element());
  const std::string broken = dir.write("b.json", "{\n  \"confvisor\" 5\n}");
  BOOST_TEST(load_config(broken, 1 << 20).errors == Lines{broken + ":2:15: syntax error at '5'"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(unreadable_files) {
  TempDir dir;
  const std::string missing = (dir.path() / "missing.json").string();
  BOOST_TEST(load_config(missing, 1 << 20).errors ==
                 Lines{missing + ": unable to read: No such file or directory"},
             boost::test_tools::per_element());
}

// The daemon reads its config on its event loop: what is not a regular file is refused
// without a read that could wait (a FIFO without a writer blocked the open itself).
BOOST_AUTO_TEST_CASE(only_a_regular_file_is_read) {
  TempDir dir;
  const std::string fifo = (dir.path() / "fifo.json").string();
  BOOST_TEST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string socket = (dir.path() / "socket.json").string();
  const UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket.c_str());
  BOOST_TEST_REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  // A pipe with data: it was read once, and it has a writer that could hold it open.
  int fds[2];
  BOOST_TEST_REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  const UniqueFd read_end(fds[0]), write_end(fds[1]);
  BOOST_TEST_REQUIRE(::write(write_end.get(), "{}", 2) == 2);
  const std::string pipe = "/proc/self/fd/" + std::to_string(read_end.get());

  ::alarm(20);  // a read that blocks fails the test instead of hanging it
  for (const auto& [path, kind] :
       std::vector<std::pair<std::string, std::string>>{{fifo, "a FIFO"},
                                                        {pipe, "a FIFO"},
                                                        {dir.path().string(), "a directory"},
                                                        {socket, "a socket"},
                                                        {"/dev/null", "a character device"}}) {
    BOOST_TEST(
        load_config(path, 1 << 20).errors == Lines{path + ": not a regular file (" + kind + ")"},
        boost::test_tools::per_element());
  }
  ::alarm(0);
}

BOOST_AUTO_TEST_CASE(files_larger_than_the_limit_are_refused_before_reading) {
  TempDir dir;
  const std::string file =
      dir.write("big.json", R"({"confvisor": {"segment": "t"}, "pad": "xxxxxxxxxxx"})");
  BOOST_TEST(load_config(file, 10).errors ==
                 Lines{file + ": file is 53 bytes, larger than max_config_size 10"},
             boost::test_tools::per_element());
  BOOST_TEST(load_config(file, 53).errors.empty());
}

BOOST_AUTO_TEST_CASE(a_file_larger_than_its_own_max_config_size_is_refused) {
  const std::string text = section(R"("max_config_size": 16)");
  BOOST_TEST(error_of(text) ==
             "t.json: /confvisor/max_config_size: 16 bytes is less than the size of this file (" +
                 std::to_string(text.size()) + " bytes): the next reload would refuse it");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- config/: examples, schema

BOOST_AUTO_TEST_SUITE(config_dir)

std::vector<fs::path> example_files() {
  std::vector<fs::path> files;
  for (const fs::path& file : files_in(CONFVISOR_CONFIG_DIR, ".json")) {
    if (file.filename() != "confvisor.schema.json") files.push_back(file);
  }
  return files;
}

BOOST_AUTO_TEST_CASE(every_example_validates) {
  const std::vector<fs::path> files = example_files();
  BOOST_TEST(files.size() >= 1u);
  // The demo's commands are relative to where scripts/demo.sh runs the daemon: the root.
  struct InRoot {
    fs::path was = fs::current_path();
    InRoot() { fs::current_path(CONFVISOR_CONFIG_DIR "/.."); }
    ~InRoot() { fs::current_path(was); }
  } in_root;
  for (const fs::path& file : files) {
    BOOST_TEST_INFO(file);
    const LoadResult result = load_config(file.string(), 64u << 20);
    BOOST_TEST(result.errors == Lines{}, boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(example_json_documents_every_key) {
  const LoadResult result = load_config(CONFVISOR_CONFIG_DIR "/example.json", 1 << 20);
  BOOST_TEST_REQUIRE(result.config.has_value());
  const json::value& section = result.config->document.at("confvisor");
  auto keys = [](const json::value& object) {
    std::set<std::string_view> names;
    for (const auto& member : object.as_object()) names.insert(member.key());
    return names;
  };
  auto known = [](const std::vector<std::string_view>& list) {
    return std::set<std::string_view>(list.begin(), list.end());
  };
  BOOST_TEST((keys(section) == known(settings_keys())));
  // Every worker key is shown by some worker (one key, watchdog, needs another's "ready").
  std::set<std::string_view> worker_keys_shown;
  for (const auto& worker : section.at("workers").as_array()) {
    for (const auto& member : worker.as_object()) worker_keys_shown.insert(member.key());
  }
  BOOST_TEST((worker_keys_shown == known(worker_keys())));
  const json::value& first = section.at("workers").at(0);
  BOOST_TEST((keys(first.at("backoff")) == known(backoff_keys())));
  BOOST_TEST((keys(first.at("restart_limit")) == known(restart_limit_keys())));
  BOOST_TEST(result.config->settings.workers.size() >= 2u);
}

BOOST_AUTO_TEST_CASE(schema_properties_are_the_validators_keys) {
  const json::value s = schema();
  BOOST_TEST(s.at("$schema").as_string() == "https://json-schema.org/draft/2020-12/schema");
  BOOST_TEST(s.at_pointer("/properties/confvisor/$ref").as_string() == "#/$defs/settings");
  BOOST_TEST(property_names(s, "/$defs/settings/properties") == settings_keys(),
             boost::test_tools::per_element());
  BOOST_TEST(property_names(s, "/$defs/worker/properties") == worker_keys(),
             boost::test_tools::per_element());
  BOOST_TEST(property_names(s, "/$defs/worker/properties/backoff/properties") == backoff_keys(),
             boost::test_tools::per_element());
  BOOST_TEST(property_names(s, "/$defs/worker/properties/restart_limit/properties") ==
                 restart_limit_keys(),
             boost::test_tools::per_element());
  BOOST_TEST(s.at_pointer("/$defs/settings/required") == json::parse(R"(["segment"])"));
  BOOST_TEST(s.at_pointer("/$defs/worker/required") == json::parse(R"(["name", "command"])"));
  BOOST_TEST(s.at_pointer("/$defs/settings/additionalProperties") == json::value(false));
  BOOST_TEST(s.at_pointer("/$defs/worker/additionalProperties") == json::value(false));
}

BOOST_AUTO_TEST_CASE(schema_describes_every_key) {
  const json::value s = schema();
  for (std::string_view pointer : {"/$defs/settings/properties", "/$defs/worker/properties",
                                   "/$defs/worker/properties/backoff/properties",
                                   "/$defs/worker/properties/restart_limit/properties"}) {
    for (const auto& member : s.at_pointer(pointer).as_object()) {
      BOOST_TEST_INFO(pointer << "/" << member.key());
      BOOST_TEST(member.value().as_object().contains("description"));
    }
  }
}

BOOST_AUTO_TEST_CASE(schema_defaults_are_the_validators_defaults) {
  // Setting a key to the default the schema names must change nothing.
  const json::value s = schema();
  for (const auto& member : s.at_pointer("/$defs/worker/properties").as_object()) {
    const json::value* fallback = member.value().as_object().if_contains("default");
    if (fallback == nullptr) continue;
    BOOST_TEST_INFO("worker key " << member.key());
    const std::string body = "\"" + std::string(member.key()) + "\": " + json::serialize(*fallback);
    BOOST_TEST((worker_of(body) == default_worker()));
  }
  const Settings defaults = settings_of(section(""));
  for (const auto& member : s.at_pointer("/$defs/settings/properties").as_object()) {
    const json::value* fallback = member.value().as_object().if_contains("default");
    if (fallback == nullptr) continue;
    BOOST_TEST_INFO("settings key " << member.key());
    const Settings with = settings_of(
        section("\"" + std::string(member.key()) + "\": " + json::serialize(*fallback)));
    BOOST_TEST(with.segment_size == defaults.segment_size);
    BOOST_TEST(with.mode == defaults.mode);
    BOOST_TEST(with.history == defaults.history);
    BOOST_TEST(with.max_config_size == defaults.max_config_size);
    BOOST_TEST(with.workers.size() == defaults.workers.size());
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- JSONTestSuite

BOOST_AUTO_TEST_CASE(json_test_suite_never_crashes_and_refuses_what_is_invalid) {
  const fs::path dir = fs::path(CONFVISOR_TESTDATA_DIR) / "JSONTestSuite" / "test_parsing";
  BOOST_TEST_REQUIRE(fs::is_directory(dir), dir << " is missing");
  std::size_t files = 0;
  for (const fs::path& file : files_in(dir, ".json")) {
    ++files;
    BOOST_TEST_INFO(file.filename());
    const LoadResult result = load_config(file.string(), 64u << 20);
    BOOST_TEST(result.config.has_value() == result.errors.empty());
    for (const std::string& line : result.errors) {
      BOOST_TEST(line.starts_with(file.string() + ":"));
      BOOST_TEST(line.find('\n') == std::string::npos);
    }
    // None of them has a valid "confvisor" section, so none loads; the n_ ones must be
    // refused whatever extensions the loader allows.
    if (file.filename().string().starts_with("n_")) BOOST_TEST(!result.errors.empty());
  }
  BOOST_TEST(files >= 300u);
}

BOOST_AUTO_TEST_CASE(the_readme_config_reference_names_every_key) {
  std::ifstream f(CONFVISOR_CONFIG_DIR "/../README.md");
  const std::string readme((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  BOOST_TEST_REQUIRE(!readme.empty());
  for (const auto& keys : {settings_keys(), worker_keys(), backoff_keys(), restart_limit_keys()}) {
    for (std::string_view key : keys) {
      BOOST_TEST(readme.find("`" + std::string(key) + "`") != std::string::npos, key);
    }
  }
}
