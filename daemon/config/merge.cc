#include "daemon/config/merge.hpp"

#include <string_view>

#include "common/json/pointer.hpp"

namespace confvisor::config {
namespace {

namespace json = boost::json;

constexpr std::string_view kWorkers = "/confvisor/workers";

// The keys a fragment may not set, and why.
std::string_view refusal(std::string_view pointer) {
  if (pointer == "/confvisor/include") {
    return "a fragment cannot include other files: only the main file's include list is "
           "followed";
  }
  if (pointer == "/confvisor/segment") {
    return "only the main file may set the segment (the daemon's identity)";
  }
  if (pointer == "/confvisor/socket") {
    return "only the main file may set the socket (confvisorctl --config finds the daemon "
           "through it)";
  }
  return {};
}

class Merge {
 public:
  Merge(std::size_t file, Origins& origins, Errors& errors)
      : file_(file), origins_(origins), errors_(errors) {}

  // `into` is at `merged` in the document, `from` at `pointer` in the fragment.
  void objects(json::object& into, const json::object& from, const std::string& merged,
               const std::string& pointer) {
    for (const auto& member : from) {
      const std::string merged_child = child_pointer(merged, member.key());
      const std::string child = child_pointer(pointer, member.key());
      if (const std::string_view why = refusal(merged_child); !why.empty()) {
        errors_.add(origins_.files()[file_] + ": " + printable_pointer(child) + ": " +
                    std::string(why));
        continue;
      }
      value(into, member.key(), member.value(), merged_child, child);
    }
  }

 private:
  void value(json::object& into, std::string_view key, const json::value& from,
             const std::string& merged, const std::string& pointer) {
    json::value* there = into.if_contains(key);
    if (from.is_object()) {
      // An object that replaces another value is merged into an empty one, so that the keys
      // a fragment may not set are refused however deep the fragment brings them in.
      if (there == nullptr || !there->is_object()) {
        there = &(into[key] = json::object(into.storage()));
        origins_.record(merged, file_, pointer);
      }
      objects(there->get_object(), from.get_object(), merged, pointer);
      return;
    }
    if (merged == kWorkers && there != nullptr && there->is_array() && from.is_array()) {
      json::array& workers = there->get_array();
      for (std::size_t i = 0; i < from.get_array().size(); ++i) {
        origins_.record(child_pointer(merged, workers.size()), file_, child_pointer(pointer, i));
        workers.push_back(from.get_array()[i]);
      }
      return;
    }
    into.insert_or_assign(key, from);
    origins_.record(merged, file_, pointer);
  }

  std::size_t file_;
  Origins& origins_;
  Errors& errors_;
};

}  // namespace

void merge_fragment(json::object& document, const json::object& fragment, std::size_t file,
                    Origins& origins, Errors& errors) {
  Merge(file, origins, errors).objects(document, fragment, "", "");
}

}  // namespace confvisor::config
