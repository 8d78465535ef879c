// The etcd overlay: every key under a prefix holds a JSON value, placed in the file's document
// at the JSON pointer its path under the prefix names ("/config/shop/database" at /database,
// "/config/shop/limits/qps" at /limits/qps; the key equal to the prefix is the whole base).
// A pure function of its inputs: the daemon validates what it returns like a file.
//
// Nothing from etcd may land in /confvisor: whoever can write etcd must not choose the
// commands that run as root. The key equal to the prefix replaces the file's document but for
// its /confvisor section, which stays the file's.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/errors.hpp"

namespace confvisor::config {

struct OverlayEntry {
  std::string key;
  std::string value;  // JSON text, as a config file (comments and trailing commas allowed)
  std::int64_t mod_revision = 0;
};

struct OverlayResult {
  std::optional<boost::json::value> document;  // set iff errors is empty
  Errors errors;
};

// `base` over which the entries go, in key order (so a key's value is placed before the keys
// below it, which then replace parts of it). Each refused entry is an error line naming it:
//   etcd key "/config/shop/database" (mod_revision 12, at /database):1:5: syntax error at '}'
//   etcd key "/config/shop/confvisor/workers" (mod_revision 9, at /confvisor/workers):
//     refused: nothing from etcd may land in /confvisor (it decides what runs, and as whom)
// A key whose path is no JSON pointer (an empty segment, a "." or "..", a '~' that is not
// "~0" or "~1", invalid UTF-8), a value that is not JSON (FILE:LINE:COL inside the value,
// duplicate keys, nesting that would take the document past the config depth limit), a key
// below a value that is neither an object nor an array with that index, and values that add
// up to more than `max_size` bytes are refused too. The returned document uses the default
// memory resource, never `base`'s.
[[nodiscard]] OverlayResult overlay(const boost::json::value& base, std::string_view prefix,
                                    std::span<const OverlayEntry> entries, std::size_t max_size);

// Where `key` goes under `prefix`: its JSON pointer ("" for the whole base), decoded into its
// reference tokens. Throws Error saying why the key names no place (it is not under the prefix,
// its path is no JSON pointer).
struct OverlayPlace {
  std::string pointer;              // "/limits/qps"; "/a~1b" for the key ".../a~1b"
  std::vector<std::string> tokens;  // decoded: {"limits", "qps"}, {"a/b"}
};
[[nodiscard]] OverlayPlace overlay_place(std::string_view key, std::string_view prefix);

// Whether `place` is in or at /confvisor, where nothing from etcd may go.
[[nodiscard]] bool in_daemon_section(const OverlayPlace& place);

// The name of an entry in errors: etcd key "KEY" (mod_revision N, at POINTER), without the
// place when the key names none.
[[nodiscard]] std::string overlay_entry_name(std::string_view key, std::int64_t mod_revision,
                                             std::optional<std::string_view> pointer);

// Checks `value` as the value of one key placed `depth` levels below the top-level object
// (0 for the whole base): JSON by the config's rules, no deeper than the config depth limit
// allows there, and for the whole base an object without "confvisor". Errors name `name`
// (and LINE:COL inside the value). Returns the parsed value if there are none.
[[nodiscard]] std::optional<boost::json::value> parse_overlay_value(std::string_view value,
                                                                    const std::string& name,
                                                                    std::size_t depth,
                                                                    Errors& errors);

}  // namespace confvisor::config
