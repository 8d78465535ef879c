// libFuzzer target: any bytes through the config loader's text path (UTF-8 check, scan for
// syntax errors and duplicate keys, parse, validation, ${VAR} expansion). It must never
// crash, hang or leak, and what it returns must keep the loader's promises. The text path
// never follows /confvisor/include (only load_config, given a file, reads fragments): an
// input that names "/" or "/proc/*/*" makes the fuzzer check a list of strings, not walk the
// file system. The target holds the loader to that too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "daemon/config/model.hpp"

namespace {

// A broken promise is a crash, so libFuzzer keeps the input that shows it.
void require(bool promise) {
  if (!promise) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const confvisor::config::LoadResult result =
      confvisor::config::load_config_text(text, "fuzz.json");

  // A config iff no errors; every error one line that names the file.
  require(result.config.has_value() == result.errors.empty());
  for (const std::string& line : result.errors) {
    require(line.starts_with("fuzz.json:"));
    require(line.find_first_of("\n\r") == std::string::npos);
  }
  if (result.config) {
    require(result.config->document.is_object());
    // Nothing was merged in: the main "file" is the only one.
    require(result.config->origins.files().size() == 1);
  }
  return 0;
}
