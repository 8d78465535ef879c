#include "daemon/config/overlay.hpp"

#include <algorithm>
#include <boost/json/object.hpp>
#include <charconv>
#include <map>
#include <numeric>
#include <vector>

#include "common/json/depth_limit.hpp"
#include "common/json/describe.hpp"
#include "common/json/pointer.hpp"
#include "common/json/units.hpp"
#include "common/json/utf8.hpp"
#include "confvisor/error.hpp"
#include "daemon/config/model.hpp"

namespace confvisor::config {

namespace json = boost::json;

namespace {

constexpr std::string_view kSection = "confvisor";
constexpr std::string_view kSectionRefusal =
    "refused: nothing from etcd may land in /confvisor (it decides what runs, and as whom)";

// One reference token of the key's path, "~0" and "~1" decoded as RFC 6901 says.
std::string decode_token(std::string_view token) {
  if (token.empty()) {
    throw Error(
        "its path has an empty segment (\"//\", or a '/' at its end): each segment "
        "names a member");
  }
  if (token == "." || token == "..") {
    throw Error("its path has a " + quote_text(token) +
                " segment: keys are JSON pointers, where nothing is relative");
  }
  std::string decoded;
  for (std::size_t i = 0; i < token.size(); ++i) {
    if (token[i] != '~') {
      decoded += token[i];
      continue;
    }
    const char next = i + 1 < token.size() ? token[i + 1] : '\0';
    if (next != '0' && next != '1') {
      throw Error(
          "its path has a '~' not followed by 0 or 1 (a JSON pointer writes '~' as ~0 "
          "and '/' as ~1)");
    }
    decoded += next == '0' ? '~' : '/';
    ++i;
  }
  return decoded;
}

// An array index as RFC 6901 writes it: "0", or digits without a leading zero.
std::optional<std::size_t> array_index(std::string_view token) {
  if (token.empty() || (token.size() > 1 && token.front() == '0')) return std::nullopt;
  std::size_t index = 0;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
  if (ec != std::errc() || end != token.data() + token.size()) return std::nullopt;
  return index;
}

// The pointers placed so far and the key that placed each, to say where a value that blocks a
// later key came from.
using Placed = std::map<std::string, std::string, std::less<>>;

std::string origin_of(const Placed& placed, std::string_view pointer) {
  for (std::string_view p = pointer;; p = p.substr(0, p.rfind('/'))) {
    if (const auto it = placed.find(p); it != placed.end()) {
      return "etcd key " + quote_text(it->second);
    }
    if (p.empty()) return "the file";
  }
}

// Puts `value` at `place` in `document`, creating objects on the way. Throws Error if a value
// on the way is neither an object nor an array that has the index.
void place_value(json::value& document, const OverlayPlace& place, json::value value,
                 const Placed& placed) {
  json::value* at = &document;
  std::string pointer;
  for (std::size_t i = 0; i < place.tokens.size(); ++i) {
    const std::string& token = place.tokens[i];
    const bool last = i + 1 == place.tokens.size();
    if (json::object* object = at->if_object()) {
      if (last) {
        (*object)[token] = std::move(value);
        return;
      }
      at = &(*object)[token];
    } else if (json::array* array = at->if_array()) {
      const auto index = array_index(token);
      if (!index || *index >= array->size()) {
        throw Error((pointer.empty() ? std::string("the top level") : printable_pointer(pointer)) +
                    " is an array of " + std::to_string(array->size()) + " (from " +
                    origin_of(placed, pointer) + "): " + quote_text(token) +
                    " is not one of its indexes; place the whole array instead");
      }
      if (last) {
        (*array)[*index] = std::move(value);
        return;
      }
      at = &(*array)[*index];
    } else {
      throw Error(printable_pointer(pointer) + " holds " + describe_value(*at) + " (from " +
                  origin_of(placed, pointer) + "), not an object: nothing can be placed below it");
    }
    pointer = child_pointer(pointer, token);
    if (at->is_null()) *at = json::object();
  }
}

// The key equal to the prefix: the whole base but the file's /confvisor.
void replace_base(json::value& document, json::value value) {
  std::optional<json::value> section;
  if (json::value* own = document.as_object().if_contains(kSection))
    section.emplace(std::move(*own));
  document = std::move(value);
  if (section) document.as_object()[kSection] = std::move(*section);
}

std::size_t total_size(std::span<const OverlayEntry> entries) {
  return std::accumulate(
      entries.begin(), entries.end(), std::size_t{0},
      [](std::size_t sum, const OverlayEntry& e) { return sum + e.value.size(); });
}

}  // namespace

OverlayPlace overlay_place(std::string_view key, std::string_view prefix) {
  if (!key.starts_with(prefix)) throw Error("is not under the prefix " + quote_text(prefix));
  if (find_invalid_utf8(key)) throw Error("is not valid UTF-8, as JSON member names must be");
  OverlayPlace place;
  std::string_view path = key.substr(prefix.size());
  if (path.empty()) return place;  // the whole base
  // The prefix ends in '/' (the validator makes sure), so the path is the pointer's rest.
  if (!prefix.ends_with('/')) throw Error("is below a prefix that does not end in '/'");
  for (std::size_t begin = 0;;) {
    const std::size_t slash = std::min(path.find('/', begin), path.size());
    place.tokens.push_back(decode_token(path.substr(begin, slash - begin)));
    if (place.tokens.size() >= kMaxConfigDepth) {
      throw Error("its path is more than " + std::to_string(kMaxConfigDepth - 1) +
                  " segments deep, past the config depth limit");
    }
    if (slash == path.size()) break;
    begin = slash + 1;
  }
  for (const std::string& token : place.tokens) place.pointer = child_pointer(place.pointer, token);
  return place;
}

bool in_daemon_section(const OverlayPlace& place) {
  return !place.tokens.empty() && place.tokens.front() == kSection;
}

std::string overlay_entry_name(std::string_view key, std::int64_t mod_revision,
                               std::optional<std::string_view> pointer) {
  std::string name =
      "etcd key " + quote_text(key, 256) + " (mod_revision " + std::to_string(mod_revision);
  if (pointer) {
    name += ", at " +
            (pointer->empty() ? std::string("the whole document") : printable_pointer(*pointer));
  }
  return name + ")";
}

std::optional<json::value> parse_overlay_value(std::string_view value, const std::string& name,
                                               std::size_t depth, Errors& errors) {
  ParsedText parsed = parse_config_text(value, name, kMaxConfigDepth - depth);
  if (!parsed.errors.empty()) {
    errors.add(parsed.errors);
    return std::nullopt;
  }
  if (depth == 0) {
    if (!parsed.value->is_object()) {
      errors.add(name + ": the whole document must be a JSON object, found " +
                 std::string(kind_name(*parsed.value)));
      return std::nullopt;
    }
    if (parsed.value->as_object().contains(kSection)) {
      errors.add(name + ": it has a \"confvisor\" member: " + std::string(kSectionRefusal));
      return std::nullopt;
    }
  }
  return std::move(parsed.value);
}

OverlayResult overlay(const json::value& base, std::string_view prefix,
                      std::span<const OverlayEntry> entries, std::size_t max_size) {
  OverlayResult result;
  if (const std::size_t size = total_size(entries); size > max_size) {
    result.errors.add("etcd prefix " + quote_text(prefix) + ": its " +
                      std::to_string(entries.size()) + " values add up to " + std::to_string(size) +
                      " bytes, more than max_config_size " + std::to_string(max_size));
    return result;
  }
  std::vector<const OverlayEntry*> order;
  for (const OverlayEntry& e : entries) order.push_back(&e);
  std::stable_sort(order.begin(), order.end(),
                   [](const OverlayEntry* a, const OverlayEntry* b) { return a->key < b->key; });

  json::value document(base, json::storage_ptr());
  if (!document.is_object()) throw Error("the base document must be an object");
  Placed placed;
  for (const OverlayEntry* e : order) {
    OverlayPlace place;
    try {
      place = overlay_place(e->key, prefix);
    } catch (const Error& why) {
      result.errors.add(overlay_entry_name(e->key, e->mod_revision, std::nullopt) + ": " +
                        why.what());
      continue;
    }
    const std::string name = overlay_entry_name(e->key, e->mod_revision, place.pointer);
    if (in_daemon_section(place)) {
      result.errors.add(name + ": " + std::string(kSectionRefusal));
      continue;
    }
    std::optional<json::value> value =
        parse_overlay_value(e->value, name, place.tokens.size(), result.errors);
    if (!value) continue;
    // The value's storage is the parser's arena: copied into the document's own.
    json::value copy(*value, document.storage());
    try {
      if (place.tokens.empty()) {
        replace_base(document, std::move(copy));
      } else {
        place_value(document, place, std::move(copy), placed);
      }
      placed[place.pointer] = e->key;
    } catch (const Error& why) {
      result.errors.add(name + ": " + why.what());
    }
  }
  if (result.errors.empty()) result.document.emplace(std::move(document));
  return result;
}

}  // namespace confvisor::config
