// The value parsers behind validation, each as a table of what it accepts and refuses: sizes,
// durations (and their shortest form), signal names, the edit distance behind key suggestions,
// JSON pointers.
#define BOOST_TEST_MODULE config_values
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "common/json/describe.hpp"
#include "common/json/pointer.hpp"
#include "common/json/units.hpp"
#include "common/os/signal_names.hpp"
#include "confvisor/error.hpp"
#include "daemon/config/model.hpp"
#include "daemon/config/suggest.hpp"

using namespace confvisor;
using namespace confvisor::config;
using namespace std::chrono_literals;

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
