// libFuzzer target: any bytes as the keys and values of an etcd prefix, placed over a fixed
// base document by the etcd overlay (daemon/config/overlay.hpp). It must never crash, hang or
// leak, and what it returns must keep the overlay's promises: above all, nothing from etcd
// ever changes /confvisor.
//
// The input is entries separated by 0x1e; in each, the key and the value are separated by the
// first 0x1f (a key without one gets an empty value). Keys are taken below the prefix "/p/"
// unless they start with '!', which passes the key as it is.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/config/overlay.hpp"

namespace {

namespace json = boost::json;

// A broken promise is a crash, so libFuzzer keeps the input that shows it.
void require(bool promise) {
  if (!promise) std::abort();
}

const json::value& base() {
  static const json::value doc = json::parse(
      R"({"confvisor": {"segment": "fuzz", "workers": [{"name": "w", "command": ["/bin/true"]}]},
          "a": {"b": [1, 2, {"c": null}]}, "s": "text"})");
  return doc;
}

std::vector<confvisor::config::OverlayEntry> entries_of(std::string_view input) {
  std::vector<confvisor::config::OverlayEntry> entries;
  std::int64_t revision = 1;
  for (std::size_t begin = 0; begin <= input.size();) {
    const std::size_t end = std::min(input.find('\x1e', begin), input.size());
    const std::string_view entry = input.substr(begin, end - begin);
    const std::size_t split = std::min(entry.find('\x1f'), entry.size());
    std::string key(entry.substr(0, split));
    key = key.starts_with('!') ? key.substr(1) : "/p/" + key;
    const std::string_view value = split < entry.size() ? entry.substr(split + 1) : "";
    entries.push_back({key, std::string(value), revision++});
    begin = end + 1;
  }
  return entries;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto entries = entries_of(input);
  const confvisor::config::OverlayResult result =
      confvisor::config::overlay(base(), "/p/", entries, 1 << 20);

  // A document iff no errors; every error one line that names an etcd key or the prefix.
  require(result.document.has_value() == result.errors.empty());
  for (const std::string& line : result.errors) {
    require(line.starts_with("etcd key \"") || line.starts_with("etcd prefix \""));
    require(line.find_first_of("\n\r") == std::string::npos);
  }
  if (result.document) {
    require(result.document->is_object());
    // The daemon's section is the file's, whatever etcd holds.
    require(result.document->at("confvisor") == base().at("confvisor"));
    // What is published is valid JSON that reads back to the same document.
    require(json::parse(json::serialize(*result.document)) == *result.document);
  }
  return 0;
}
