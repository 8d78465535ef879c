// A named seam for fault injection: a publisher killed between two stores cannot be produced
// on demand from outside, so tests set CONFVISOR_TEST_CRASH_AT=<point> and the process
// SIGKILLs itself when it reaches that point. Unset, it costs one branch.
#pragma once

#include <string_view>

namespace confvisor {

void crash_point(std::string_view point);

}  // namespace confvisor
