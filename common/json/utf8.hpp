// UTF-8 well-formedness, checked over a whole config file before any JSON parsing so that
// comments (which the JSON parser does not inspect) are held to the same rule as strings.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace confvisor {

// The offset of the first byte of the first ill-formed sequence in `text`, or nullopt if all
// of it is well-formed UTF-8 (RFC 3629, Unicode table 3-7): overlong forms, UTF-16
// surrogates (U+D800..U+DFFF), code points above U+10FFFF, stray continuation bytes and
// sequences cut short are all ill-formed.
[[nodiscard]] std::optional<std::size_t> find_invalid_utf8(std::string_view text) noexcept;

}  // namespace confvisor
