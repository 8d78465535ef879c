#include "tests/support/config_documents.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>

namespace confvisor::test {

namespace fs = std::filesystem;
using config::LoadResult;
using config::Settings;
using config::WorkerSpec;

LoadResult load(std::string_view text) {
  return config::load_config_text(text, "t.json");
}

Lines errors_of(std::string_view text) {
  return load(text).errors;
}

std::string error_of(std::string_view text) {
  const Lines errors = errors_of(text);
  BOOST_TEST_REQUIRE(errors.size() == 1u, "expected one error, got" << joined(errors));
  return errors[0];
}

std::string joined(const Lines& lines) {
  std::string all;
  for (const std::string& line : lines) all += "\n  " + line;
  return all;
}

std::string section(std::string_view body) {
  return R"({"confvisor": {"segment": "t")" + std::string(body.empty() ? "" : ", ") +
         std::string(body) + "}}";
}

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

}  // namespace confvisor::test
