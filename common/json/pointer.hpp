// Building JSON Pointers (RFC 6901), the way errors name a place in a document.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <string>
#include <string_view>

namespace confvisor {

// `parent` + "/" + `key`, with '~' and '/' in the key escaped as "~0" and "~1".
[[nodiscard]] std::string child_pointer(std::string_view parent, std::string_view key);

// `parent` + "/" + the decimal index.
[[nodiscard]] std::string child_pointer(std::string_view parent, std::size_t index);

// `pointer` for an error line: control characters (a key may hold any) written as JSON
// escapes ("\n", "\u0001"), so the line stays one line. Not a pointer to look up anymore.
[[nodiscard]] std::string printable_pointer(std::string_view pointer);

// Why `pointer` finds nothing in `document`: a malformed pointer ("invalid JSON pointer
// \"x\": ...") or a missing value ("/a/b: not found"). For a lookup that returned null.
[[nodiscard]] std::string pointer_miss(const boost::json::value& document,
                                       std::string_view pointer);
[[nodiscard]] bool pointer_is_malformed(const boost::json::value& document,
                                        std::string_view pointer);

}  // namespace confvisor
