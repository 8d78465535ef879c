// The config file's text: the JSON it accepts beyond the standard (comments, trailing commas,
// a byte order mark) and the errors that name FILE:LINE:COL (syntax, end of file, data after
// the document, the depth limit, invalid UTF-8, duplicate keys), with the offsets and
// positions behind them, and the JSONTestSuite corpus run through the loader.
#define BOOST_TEST_MODULE config_syntax
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <optional>

#include "common/json/text.hpp"
#include "common/json/utf8.hpp"
#include "daemon/config/model.hpp"
#include "tests/support/config_documents.hpp"

using namespace confvisor;
using namespace confvisor::config;
using namespace confvisor::test;
namespace fs = std::filesystem;
namespace json = boost::json;

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

BOOST_AUTO_TEST_CASE(byte_order_mark_is_skipped) {
  BOOST_TEST(errors_of("\xEF\xBB\xBF{\"confvisor\": {\"segment\": \"t\"}}").empty());
}

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
