// What describes the config agrees with the validator: every example in config/ validates,
// config/example.json shows every key, the JSON Schema has the validator's keys, required
// keys, descriptions and defaults, and the README's config reference names every key.
#define BOOST_TEST_MODULE config_schema
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "daemon/config/model.hpp"
#include "daemon/config/suggest.hpp"
#include "tests/support/config_documents.hpp"

using namespace confvisor;
using namespace confvisor::config;
using namespace confvisor::test;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

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

std::vector<fs::path> example_files() {
  std::vector<fs::path> files;
  for (const fs::path& file : files_in(CONFVISOR_CONFIG_DIR, ".json")) {
    if (!file.filename().string().ends_with(".schema.json")) files.push_back(file);
  }
  return files;
}

}  // namespace

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
  BOOST_TEST((keys(section.at("http")) == known(http_keys())));
  BOOST_TEST((keys(section.at("rollout")) == known(rollout_keys())));
  BOOST_TEST((keys(section.at("rollout").at("canary")) == known(canary_keys())));
  const json::value& first = section.at("workers").at(0);
  BOOST_TEST((keys(first.at("backoff")) == known(backoff_keys())));
  BOOST_TEST((keys(first.at("restart_limit")) == known(restart_limit_keys())));
  BOOST_TEST((keys(first.at("log")) == known(log_keys())));
  BOOST_TEST(result.config->settings.workers.size() >= 2u);
}

BOOST_AUTO_TEST_CASE(schema_properties_are_the_validators_keys) {
  const json::value s = schema();
  BOOST_TEST(s.at("$schema").as_string() == "https://json-schema.org/draft/2020-12/schema");
  BOOST_TEST(s.at_pointer("/properties/confvisor/$ref").as_string() == "#/$defs/settings");
  BOOST_TEST(property_names(s, "/$defs/settings/properties") == settings_keys(),
             boost::test_tools::per_element());
  BOOST_TEST(property_names(s, "/$defs/settings/properties/http/properties") == http_keys(),
             boost::test_tools::per_element());
  BOOST_TEST(s.at_pointer("/$defs/settings/properties/http/required") ==
             json::parse(R"(["listen"])"));
  BOOST_TEST(s.at_pointer("/$defs/settings/properties/http/additionalProperties") ==
             json::value(false));
  BOOST_TEST(property_names(s, "/$defs/settings/properties/rollout/properties") == rollout_keys(),
             boost::test_tools::per_element());
  BOOST_TEST(s.at_pointer("/$defs/settings/properties/rollout/required") ==
             json::parse(R"(["verify"])"));
  BOOST_TEST(property_names(s, "/$defs/settings/properties/rollout/properties/canary/properties") ==
                 canary_keys(),
             boost::test_tools::per_element());
  BOOST_TEST(s.at_pointer("/$defs/settings/properties/rollout/additionalProperties") ==
             json::value(false));
  BOOST_TEST(property_names(s, "/$defs/worker/properties") == worker_keys(),
             boost::test_tools::per_element());
  BOOST_TEST(property_names(s, "/$defs/worker/properties/backoff/properties") == backoff_keys(),
             boost::test_tools::per_element());
  BOOST_TEST(property_names(s, "/$defs/worker/properties/restart_limit/properties") ==
                 restart_limit_keys(),
             boost::test_tools::per_element());
  BOOST_TEST(property_names(s, "/$defs/worker/properties/log/properties") == log_keys(),
             boost::test_tools::per_element());
  BOOST_TEST(property_names(s, "/$defs/settings/properties/source/properties") == source_keys(),
             boost::test_tools::per_element());
  BOOST_TEST(property_names(s, "/$defs/etcd/properties") == etcd_keys(),
             boost::test_tools::per_element());
  BOOST_TEST(property_names(s, "/$defs/etcd/properties/tls/properties") == etcd_tls_keys(),
             boost::test_tools::per_element());
  BOOST_TEST(property_names(s, "/$defs/etcd/properties/auth/properties") == etcd_auth_keys(),
             boost::test_tools::per_element());
  BOOST_TEST(s.at_pointer("/$defs/etcd/required") == json::parse(R"(["endpoints", "prefix"])"));
  BOOST_TEST(s.at_pointer("/$defs/settings/required") == json::parse(R"(["segment"])"));
  BOOST_TEST(s.at_pointer("/$defs/worker/required") == json::parse(R"(["name", "command"])"));
  BOOST_TEST(s.at_pointer("/$defs/settings/additionalProperties") == json::value(false));
  BOOST_TEST(s.at_pointer("/$defs/worker/additionalProperties") == json::value(false));
}

BOOST_AUTO_TEST_CASE(schema_describes_every_key) {
  const json::value s = schema();
  for (std::string_view pointer :
       {"/$defs/settings/properties", "/$defs/settings/properties/http/properties",
        "/$defs/settings/properties/rollout/properties", "/$defs/worker/properties",
        "/$defs/worker/properties/backoff/properties",
        "/$defs/worker/properties/restart_limit/properties",
        "/$defs/worker/properties/log/properties", "/$defs/etcd/properties",
        "/$defs/etcd/properties/tls/properties", "/$defs/etcd/properties/auth/properties"}) {
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

BOOST_AUTO_TEST_CASE(schema_log_defaults_are_the_validators_defaults) {
  const json::value s = schema();
  for (const auto& member : s.at_pointer("/$defs/worker/properties/log/properties").as_object()) {
    BOOST_TEST_INFO("log key " << member.key());
    const json::value* fallback = member.value().as_object().if_contains("default");
    BOOST_TEST_REQUIRE(fallback != nullptr);
    const std::string body =
        "\"log\": {\"" + std::string(member.key()) + "\": " + json::serialize(*fallback) + "}";
    BOOST_TEST((worker_of(body) == default_worker()));
  }
}

BOOST_AUTO_TEST_CASE(the_readme_config_reference_names_every_key) {
  std::ifstream f(CONFVISOR_CONFIG_DIR "/../README.md");
  const std::string readme((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  BOOST_TEST_REQUIRE(!readme.empty());
  for (const auto& keys : {settings_keys(), http_keys(), worker_keys(), backoff_keys(),
                           restart_limit_keys(), log_keys(), rollout_keys(), canary_keys(),
                           etcd_keys(), etcd_tls_keys(), etcd_auth_keys()}) {
    for (std::string_view key : keys) {
      BOOST_TEST(readme.find("`" + std::string(key) + "`") != std::string::npos, key);
    }
  }
}
