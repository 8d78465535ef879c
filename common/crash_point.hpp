// A named seam for fault injection: a publisher killed between two stores cannot be produced
// on demand from outside, so a test arms a point (CONFVISOR_TEST_CRASH_AT=<point> in the
// environment, or arm_crash_point() in a forked child) and the process SIGKILLs itself when
// it reaches it. Unarmed, a point costs one load and a branch.
#pragma once

#include <string_view>

namespace confvisor {

void crash_point(std::string_view point);

// Arms `point` (nullptr disarms) in this process. For tests only.
void arm_crash_point(const char* point);

}  // namespace confvisor
