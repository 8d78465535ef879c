// How a fragment (daemon/config/include.hpp) changes the document it is merged into:
// objects merge member by member, recursively; /confvisor/workers lists concatenate (the
// fragment's workers come after those already there); any other value, an array or a scalar,
// is replaced by the fragment's. A worker name defined twice is validate_config's to refuse.
//
// A fragment may set anything the main file may, but three keys: /confvisor/include (a
// fragment does not include others: one level keeps the set of files an operator must read
// known from the main file), /confvisor/segment and /confvisor/socket (the daemon's
// identity, which `confvisorctl --config FILE` reads from the main file alone, stays there,
// so a dropped-in file cannot move the daemon away from its clients).
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>

#include "common/base/errors.hpp"
#include "daemon/config/origins.hpp"

namespace confvisor::config {

// Merges `fragment`, the document of file number `file` of `origins`, into `document`,
// recording where each value it sets came from. A key it may not set is an error naming the
// fragment and the key's pointer in it, and is left out.
void merge_fragment(boost::json::object& document, const boost::json::object& fragment,
                    std::size_t file, Origins& origins, Errors& errors);

}  // namespace confvisor::config
