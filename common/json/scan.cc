#include "common/json/scan.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <cstdint>
#include <string>
#include <unordered_set>

#include "common/json/pointer.hpp"
#include "common/json/structure_handler.hpp"
#include "common/json/text.hpp"

namespace confvisor {
namespace {

namespace json = boost::json;

// One open object or array, enough to name the pointer of what is inside it.
struct Frame {
  bool is_array = false;
  std::size_t elements = 0;  // arrays: elements finished so far (= the open one's index)
  std::string key;           // objects: the key of the member being read
  std::unordered_set<std::string> keys;  // objects: every key seen so far
};

// A basic_parser handler that only tracks nesting and keys. It numbers the string tokens it
// sees (keys and string values) so a duplicate's place can be found in the text afterwards:
// the parser reports events, not positions.
class ScanHandler : public StructureHandler<ScanHandler> {
 public:
  struct Found {
    std::string key;
    std::string object_pointer;
    std::size_t string_token = 0;
  };
  std::vector<Found> duplicates;

  bool open(Container container) {
    stack_.emplace_back().is_array = container == Container::array;
    return true;
  }
  bool close() {
    stack_.pop_back();
    return scalar();  // a closed container is one finished element of its parent
  }
  bool key(std::string_view key) {
    note_key(key);
    ++string_tokens_;
    return true;
  }
  bool on_string(json::string_view, std::size_t, json::error_code&) {
    ++string_tokens_;
    return scalar();
  }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) { return scalar(); }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return scalar(); }
  bool on_double(double, json::string_view, json::error_code&) { return scalar(); }
  bool on_bool(bool, json::error_code&) { return scalar(); }
  bool on_null(json::error_code&) { return scalar(); }

 private:
  bool scalar() {
    if (!stack_.empty() && stack_.back().is_array) ++stack_.back().elements;
    return true;
  }

  void note_key(std::string_view key) {
    Frame& object = stack_.back();
    object.key = key;
    if (!object.keys.insert(object.key).second) {
      duplicates.push_back({object.key, pointer_of_innermost(), string_tokens_});
    }
  }

  // The pointer of the innermost open container, from the keys and indexes leading to it.
  std::string pointer_of_innermost() const {
    std::string pointer;
    for (std::size_t i = 0; i + 1 < stack_.size(); ++i) {
      const Frame& parent = stack_[i];
      pointer = parent.is_array ? child_pointer(pointer, parent.elements)
                                : child_pointer(pointer, parent.key);
    }
    return pointer;
  }

  std::vector<Frame> stack_;
  std::size_t string_tokens_ = 0;
};

// A basic_parser handler that stops at the string value whose pointer is `target`, counting
// string tokens (keys and values) on the way, as ScanHandler does.
class StringFinder : public StructureHandler<StringFinder> {
 public:
  explicit StringFinder(std::string_view target) : target_(target) {}
  std::optional<std::size_t> found;  // the string token's number

  bool open(Container container) {
    stack_.emplace_back().is_array = container == Container::array;
    return true;
  }
  bool close() {
    stack_.pop_back();
    return element();
  }
  bool key(std::string_view key) {
    stack_.back().key = key;
    ++string_tokens_;
    return true;
  }
  bool on_string(json::string_view, std::size_t, json::error_code&) {
    if (value_pointer() == target_) {
      found = string_tokens_;
      return false;  // stops the parse: nothing further is needed
    }
    ++string_tokens_;
    return element();
  }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) { return element(); }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return element(); }
  bool on_double(double, json::string_view, json::error_code&) { return element(); }
  bool on_bool(bool, json::error_code&) { return element(); }
  bool on_null(json::error_code&) { return element(); }

 private:
  bool element() {
    if (!stack_.empty() && stack_.back().is_array) ++stack_.back().elements;
    return true;
  }
  // The pointer of the value being read, from the keys and indexes leading to it.
  std::string value_pointer() const {
    std::string pointer;
    for (const Frame& parent : stack_) {
      pointer = parent.is_array ? child_pointer(pointer, parent.elements)
                                : child_pointer(pointer, parent.key);
    }
    return pointer;
  }

  std::string_view target_;
  std::vector<Frame> stack_;
  std::size_t string_tokens_ = 0;
};

}  // namespace

std::optional<std::size_t> find_string_value(std::string_view text,
                                             const json::parse_options& options,
                                             std::string_view pointer) {
  json::basic_parser<StringFinder> parser(options, pointer);
  json::error_code error;
  (void)parser.write_some(false, text.data(), text.size(), error);
  const std::optional<std::size_t> token = parser.handler().found;
  if (!token) return std::nullopt;
  const std::vector<std::size_t> offsets = string_token_offsets(text, std::span(&*token, 1));
  if (offsets.empty()) return std::nullopt;
  return offsets.front();
}

JsonScan scan_json(std::string_view text, const json::parse_options& options) {
  json::basic_parser<ScanHandler> parser(options);
  JsonScan scan;
  const std::size_t consumed = parser.write_some(false, text.data(), text.size(), scan.error);
  // On an error write_some returns the offset where it stopped, which is the bad byte.
  scan.error_offset = consumed;
  if (!scan.error && consumed < text.size()) {
    scan.error = json::error::extra_data;
  }

  const auto& found = parser.handler().duplicates;
  std::vector<std::size_t> tokens;
  tokens.reserve(found.size());
  for (const auto& duplicate : found) tokens.push_back(duplicate.string_token);
  const std::vector<std::size_t> offsets = string_token_offsets(text, tokens);
  for (std::size_t i = 0; i < found.size() && i < offsets.size(); ++i) {
    scan.duplicates.push_back({found[i].key, found[i].object_pointer, offsets[i]});
  }
  return scan;
}

}  // namespace confvisor
