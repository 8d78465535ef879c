// What a Snapshot shares: the verified record and its parsed JSON, built once per generation;
// and how its errors show what they found, which the Python package's errors repeat.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "common/segment/record.hpp"
#include "confvisor/worker.hpp"

namespace confvisor {

struct Snapshot::Data {
  Record record;
  boost::json::value json;
};

// Parses a verified record into a Snapshot. Throws Error if its text is not JSON.
[[nodiscard]] Snapshot make_snapshot(Record record);

// A value found where another type was expected, as an error shows it: its kind ("integer",
// "number", "string", ...) and its JSON text, cut to 60 bytes ("integer 5432",
// "object {\"a\":1}").
[[nodiscard]] std::string describe_found(const boost::json::value& v);

// A pointer as an error names it: "(root)" for the whole document.
[[nodiscard]] std::string shown_pointer(std::string_view pointer);

}  // namespace confvisor
