// Short, safe renderings of JSON values for error messages: "number 5", "\"sometimes\"",
// "array [1,2,3]". Long values are cut, so a message stays one readable line.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <string>
#include <string_view>

namespace confvisor {

// "object", "array", "string", "number", "boolean" or "null".
[[nodiscard]] std::string_view kind_name(const boost::json::value& value) noexcept;

// How an error shows the value it got: strings quoted as JSON ("\"sometimes\""), booleans
// and null as themselves, numbers, arrays and objects with their kind first ("number 5",
// "array [1,2]"). Cut to about `max_chars` bytes with "..." (never inside a UTF-8 character).
[[nodiscard]] std::string describe_value(const boost::json::value& value,
                                         std::size_t max_chars = 40);

// `text` as a JSON string literal (quotes, escapes), cut like describe_value.
[[nodiscard]] std::string quote_text(std::string_view text, std::size_t max_chars = 40);

}  // namespace confvisor
