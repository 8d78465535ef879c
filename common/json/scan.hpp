// A checking pass over JSON text that builds nothing: finds the first syntax error (with its
// byte offset, which boost::json::parse does not give) and every duplicate key, which
// Boost.JSON 1.81 accepts silently (it keeps one of the values).
#pragma once

#include <boost/json/error.hpp>
#include <boost/json/parse_options.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace confvisor {

struct DuplicateKey {
  std::string key;             // unescaped
  std::string object_pointer;  // JSON pointer of the object holding it; "" for the top level
  std::size_t offset = 0;      // of the opening quote of the second (or later) occurrence
};

struct JsonScan {
  boost::json::error_code error;         // the first syntax error, if any
  std::size_t error_offset = 0;          // where it is
  std::vector<DuplicateKey> duplicates;  // in document order, up to the error if any
};

// Scans the whole of `text` as one JSON document under `options`. Text after the document
// (other than whitespace and, if allowed, comments) is the error extra_data.
[[nodiscard]] JsonScan scan_json(std::string_view text, const boost::json::parse_options& options);

// The offset of the opening quote of the string value at JSON pointer `pointer` in `text`;
// nullopt if the value there is not a string, if there is none, or if a syntax error comes
// first. For naming a value's FILE:LINE:COL in a message about a parsed document.
[[nodiscard]] std::optional<std::size_t> find_string_value(
    std::string_view text, const boost::json::parse_options& options, std::string_view pointer);

}  // namespace confvisor
