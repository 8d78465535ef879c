// conf.d: the fragments a config's /confvisor/include names, read from real files and merged
// into the document in their documented order (daemon/config/include.hpp, merge.hpp); every
// error names the fragment (FILE:LINE:COL for syntax, FILE: /pointer inside it for meaning);
// FIFOs, directories and devices are refused unread; the files count against
// max_config_size together; the text path (a kept generation, the fuzz target) reads none.
#define BOOST_TEST_MODULE config_include
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "daemon/config/model.hpp"
#include "tests/support/config_documents.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace confvisor;
using namespace confvisor::config;
using namespace confvisor::test;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// A main file "main.json" in a directory of its own, with the include list `include`.
struct Files {
  TempDir dir{"include"};
  std::string main(std::string_view include, std::string_view more = "") const {
    return dir.write("main.json", R"({"confvisor": {"segment": "t", "include": )" +
                                      std::string(include) + std::string(more) + "}}");
  }
  std::string write(std::string_view name, std::string_view text) const {
    fs::create_directories(fs::path(dir.file(name)).parent_path());
    return dir.write(name, text);
  }
  [[nodiscard]] std::string file(std::string_view name) const { return dir.file(name); }
};

std::string worker(std::string_view name) {
  return R"({"name": ")" + std::string(name) + R"(", "command": ["/bin/true"]})";
}

std::vector<std::string> names_of(const Settings& settings) {
  std::vector<std::string> names;
  for (const WorkerSpec& w : settings.workers) names.push_back(w.name);
  return names;
}

Config loaded(const std::string& path) {
  LoadResult result = load_config(path, 1 << 20);
  BOOST_TEST_REQUIRE(result.errors.empty(), "unexpected errors:" << joined(result.errors));
  return std::move(*result.config);
}

Lines errors_loading(const std::string& path, std::size_t max_size = 1 << 20) {
  return load_config(path, max_size).errors;
}

}  // namespace

BOOST_AUTO_TEST_CASE(fragments_merge_into_the_document_in_name_order) {
  Files f;
  const std::string main =
      f.main(R"(["conf.d/*.json"])", R"(, "workers": [)" + worker("main") + R"(]}, "app": {
        "db": {"host": "db1", "port": 5432}, "tags": ["a", "b"], "level": "info")");
  // Written in the other order: the name decides, not the time or the directory's order.
  const std::string b = f.write("conf.d/20-b.json", R"({
    "confvisor": {"workers": [)" + worker("b1") + ", " + worker("b2") +
                                                        R"(], "history": 3},
    "app": {"db": {"port": 6432}, "level": "debug"}})");
  const std::string a = f.write("conf.d/10-a.json", R"({
    "confvisor": {"workers": [)" + worker("a") + R"(], "history": 2},
    "app": {"db": {"user": "shop"}, "tags": ["c"], "level": "warning"}, "extra": true})");

  const Config config = loaded(main);
  // Workers concatenate: the main file's, then each fragment's in name order.
  BOOST_TEST(names_of(config.settings) == (Lines{"main", "a", "b1", "b2"}),
             boost::test_tools::per_element());
  BOOST_TEST(config.settings.history == 3u);  // the later file wins
  // Objects merge key by key at any depth; arrays and scalars are replaced whole.
  BOOST_TEST(json::serialize(config.document.at("app")) ==
             R"({"db":{"host":"db1","port":6432,"user":"shop"},"tags":["c"],"level":"debug"})");
  BOOST_TEST(config.document.at("extra") == json::value(true));
  BOOST_TEST(config.origins.files() == (Lines{main, a, b}), boost::test_tools::per_element());
  BOOST_TEST(source_of(config) == main + " + " + a + " + " + b);
}

BOOST_AUTO_TEST_CASE(entries_merge_in_list_order_and_a_file_named_twice_merges_once) {
  Files f;
  const std::string main =
      f.main(R"(["conf.d/b.json", "*.json", "conf.d/*.json", "/dev/null/x*"])");
  const std::string a =
      f.write("conf.d/a.json", R"({"confvisor": {"workers": [)" + worker("a") + "]}}");
  const std::string b =
      f.write("conf.d/b.json", R"({"confvisor": {"workers": [)" + worker("b") + "]}}");
  // "*.json" beside the main file matches it: never merged into itself. A link to a.json
  // is the same file under another name: merged once, at its first place.
  const std::string top =
      f.write("top.json", R"({"confvisor": {"workers": [)" + worker("top") + "]}}");
  fs::create_symlink(a, f.file("conf.d/c.json"));
  const Config config = loaded(main);
  BOOST_TEST(names_of(config.settings) == (Lines{"b", "top", "a"}),
             boost::test_tools::per_element());
  BOOST_TEST(config.origins.files() == (Lines{main, b, top, a}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_pattern_may_match_nothing_but_a_named_file_must_exist) {
  Files f;
  fs::create_directories(f.file("empty.d"));
  const std::string main = f.main(R"(["empty.d/*.json", "missing.d/*.json", "[.]hidden*"])");
  BOOST_TEST(loaded(main).origins.files() == Lines{main}, boost::test_tools::per_element());

  const std::string named = f.main(R"(["extra.json"])");
  BOOST_TEST(errors_loading(named) ==
                 Lines{f.file("extra.json") + ": unable to read: No such file or directory"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(hidden_files_and_other_suffixes_are_not_matched) {
  Files f;
  const std::string main = f.main(R"(["conf.d/*.json"])");
  f.write("conf.d/.a.json.swp", "not json");
  f.write("conf.d/.hidden.json", "not json");
  f.write("conf.d/a.json~", "not json");
  f.write("conf.d/a.json", R"({"app": 1})");
  BOOST_TEST(loaded(main).document.at("app") == json::value(1));
}

BOOST_AUTO_TEST_CASE(syntax_errors_name_the_fragment_line_and_column) {
  Files f;
  const std::string main = f.main(R"(["conf.d/*.json"])");
  const std::string a = f.write("conf.d/a.json", "{\n  \"app\": 1,\n  \"b\" 2\n}\n");
  const std::string b = f.write("conf.d/b.json", "{\"x\": 1,\n \"x\": 2}");
  const std::string c = f.write("conf.d/c.json", "[1]");
  // Every fragment is parsed, so every broken one is reported at once; none is validated.
  BOOST_TEST(
      errors_loading(main) == (Lines{a + ":3:7: syntax error at '2'",
                                     b + ":2:2: duplicate key \"x\" in the top-level object",
                                     c + ":1:1: the top level must be a JSON object, found array"}),
      boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(meaning_errors_name_the_fragment_and_the_pointer_inside_it) {
  Files f;
  const std::string main = f.main(R"(["conf.d/*.json"])", R"(, "workers": [)" + worker("m") + "]");
  const std::string a = f.write("conf.d/a.json", R"({"confvisor": {"history": 0, "workers": [
      {"name": "w", "command": ["/bin/true"], "restart": "sometimes"}]}})");
  const std::string b = f.write(
      "conf.d/b.json", R"({"confvisor": {"workers": [)" + worker("x") +
                           R"(, {"name": "y", "instance": 2, "command": ["/bin/true"]}]}})");
  const Lines errors = errors_loading(main);
  // In the order of the merged document: its keys as the main file has them, then new ones.
  BOOST_TEST(
      errors == (Lines{a + ": /confvisor/workers/0/restart: expected one of always, "
                           "on-failure, never; got \"sometimes\"",
                       b + ": /confvisor/workers/1/instance: unknown key \"instance\" "
                           "(did you mean \"instances\"?)",
                       a + ": /confvisor/history: expected an integer from 1 to 64, got number 0"}),
      boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_worker_name_defined_in_two_files_names_both) {
  Files f;
  const std::string main =
      f.main(R"(["conf.d/*.json"])", R"(, "workers": [)" + worker("web") + "]");
  const std::string a =
      f.write("conf.d/a.json", "{\"confvisor\": {\"workers\": [\n  " + worker("db") + ",\n  " +
                                   worker("web") + "]}}");
  const std::string b =
      f.write("conf.d/b.json", "{\"confvisor\": {\"workers\": [\n  " + worker("db") + "]}}");
  // Each name's FILE:LINE:COL too, where the string is.
  const std::string main_web = main + ":1:" + std::to_string(read_file(main).find("\"web\"") + 1);
  BOOST_TEST(errors_loading(main) ==
                 (Lines{a + ": /confvisor/workers/1/name: duplicate worker name \"web\": " + main +
                            ": /confvisor/workers/0 has it too (at " + main_web + "; this one at " +
                            a + ":3:12)",
                        b + ": /confvisor/workers/0/name: duplicate worker name \"db\": " + a +
                            ": /confvisor/workers/0 has it too (at " + a + ":2:12; this one at " +
                            b + ":2:12)"}),
             boost::test_tools::per_element());
  // Within one fragment, the pointer is the fragment's own.
  f.write("conf.d/b.json", R"({"app": {}})");
  f.write("conf.d/a.json",
          R"({"confvisor": {"workers": [)" + worker("db") + ", " + worker("db") + "]}}");
  BOOST_TEST(errors_loading(main) ==
                 Lines{a + ": /confvisor/workers/1/name: duplicate worker name \"db\": "
                           "/confvisor/workers/0 has it too"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(fifos_directories_and_devices_are_refused_unread) {
  Files f;
  const std::string main = f.main(R"(["conf.d/*.json", "/dev/null"])");
  fs::create_directories(f.file("conf.d/b.json"));
  BOOST_TEST_REQUIRE(::mkfifo(f.file("conf.d/a.json").c_str(), 0600) == 0);
  ::alarm(20);  // a read that blocks on the FIFO fails the test instead of hanging it
  BOOST_TEST(
      errors_loading(main) == (Lines{f.file("conf.d/a.json") + ": not a regular file (a FIFO)",
                                     f.file("conf.d/b.json") + ": not a regular file (a directory)",
                                     "/dev/null: not a regular file (a character device)"}),
      boost::test_tools::per_element());
  ::alarm(0);
}

BOOST_AUTO_TEST_CASE(the_files_count_against_max_config_size_together) {
  Files f;
  const std::string main = f.main(R"(["a.json", "b.json"])");
  const std::string a = f.write("a.json", R"({"app": {"a": "0123456789"}})");
  const std::string b = f.write("b.json", R"({"app": {"b": "0123456789"}})");
  const std::size_t main_size = fs::file_size(main), a_size = fs::file_size(a);
  const std::size_t all = main_size + a_size + fs::file_size(b);
  BOOST_TEST(errors_loading(main, all).empty());
  BOOST_TEST(errors_loading(main, all - 1) ==
                 Lines{b + ": file is " + std::to_string(fs::file_size(b)) + " bytes; with the " +
                       std::to_string(main_size + a_size) +
                       " bytes of the files merged before it, more than max_config_size " +
                       std::to_string(all - 1) +
                       " (which counts the main file and its fragments together)"},
             boost::test_tools::per_element());
  // The limit the files set themselves counts them together too.
  f.write("b.json", R"({"confvisor": {"max_config_size": 100}})");
  BOOST_TEST(errors_loading(main) ==
                 Lines{b +
                       ": /confvisor/max_config_size: 100 bytes is less than the size of this "
                       "file and its fragments together (" +
                       std::to_string(main_size + a_size + fs::file_size(b)) +
                       " bytes): the next reload would refuse it"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_fragment_cannot_include_or_move_the_daemon) {
  Files f;
  const std::string main = f.main(R"(["a.json"])");
  const std::string a = f.write("a.json", R"({"confvisor": {"include": ["b.json"], "segment": "u",
      "socket": "/tmp/x.sock", "history": 2}})");
  f.write("b.json", R"({"app": 1})");
  BOOST_TEST(errors_loading(main) ==
                 (Lines{a + ": /confvisor/include: a fragment cannot include other files: only "
                            "the main file's include list is followed",
                        a + ": /confvisor/segment: only the main file may set the segment (the "
                            "daemon's identity)",
                        a + ": /confvisor/socket: only the main file may set the socket "
                            "(confvisorctl --config finds the daemon through it)"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(the_include_list_is_checked) {
  BOOST_TEST(error_of(section(R"("include": "conf.d/*.json")")) ==
             "t.json: /confvisor/include: expected an array, got \"conf.d/*.json\"");
  BOOST_TEST(
      errors_of(section(R"("include": ["", 3])")) ==
          (Lines{
              "t.json: /confvisor/include/0: expected a non-empty path or glob pattern, got \"\"",
              "t.json: /confvisor/include/1: expected a string, got number 3"}),
      boost::test_tools::per_element());
}

// The fuzz target and a kept generation go through the text path: it reads no file.
BOOST_AUTO_TEST_CASE(the_text_path_checks_the_include_list_but_reads_no_file) {
  Files f;
  const std::string a = f.write("a.json", R"({"app": 1})");
  const LoadResult result = load(section(R"("include": [")" + a + R"("])"));
  BOOST_TEST_REQUIRE(result.errors.empty(), joined(result.errors));
  BOOST_TEST(!result.config->document.as_object().contains("app"));
  BOOST_TEST(result.config->settings.include == Lines{a}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_directory_that_cannot_be_read_is_an_error) {
  if (::geteuid() == 0) {
    BOOST_TEST_MESSAGE("skipped: root reads any directory");
    return;
  }
  Files f;
  const std::string main = f.main(R"(["conf.d/*.json"])");
  fs::create_directories(f.file("conf.d"));
  BOOST_TEST_REQUIRE(::chmod(f.file("conf.d").c_str(), 0) == 0);
  BOOST_TEST(
      errors_loading(main) == Lines{main + ": /confvisor/include/0: unable to read the directory " +
                                    f.file("conf.d") + ": Permission denied"},
      boost::test_tools::per_element());
  ::chmod(f.file("conf.d").c_str(), 0700);
}
