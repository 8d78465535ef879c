// How deeply the JSON documents confvisor parses may nest. Boost.JSON's default (32) would
// refuse real configs, so every parser of a document states its limit, and takes it from here.
#pragma once

#include <cstddef>

namespace confvisor {

// The deepest document a segment carries: the publisher refuses a deeper one, and every
// reader of a segment (the library, confvisorctl) accepts whatever the publisher accepted.
inline constexpr std::size_t kMaxDocumentDepth = 10'000;

// The deepest config file the daemon loads (the top-level object is one level).
inline constexpr std::size_t kMaxConfigDepth = 1000;

// A config the daemon accepts is a document it can publish and its workers can read.
static_assert(kMaxConfigDepth <= kMaxDocumentDepth);

}  // namespace confvisor
