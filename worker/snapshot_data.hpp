// What a Snapshot shares: the verified record and its parsed JSON, built once per generation.
#pragma once

#include <boost/json/value.hpp>

#include "common/segment/record.hpp"
#include "confvisor/worker.hpp"

namespace confvisor {

struct Snapshot::Data {
  Record record;
  boost::json::value json;
};

// Parses a verified record into a Snapshot. Throws Error if its text is not JSON.
[[nodiscard]] Snapshot make_snapshot(Record record);

}  // namespace confvisor
