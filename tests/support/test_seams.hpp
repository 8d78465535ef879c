// The test side of common/publish/crash_point.hpp: what a seam does in a test program. Linking this
// file's object installs, before main, a hook that SIGKILLs the process at the point named by
// CONFVISOR_TEST_CRASH_AT and SIGSTOPs it at the point named by CONFVISOR_TEST_STOP_AT.
#pragma once

namespace confvisor::test {

// This process SIGKILLs itself when it reaches `point` (nullptr disarms). For a forked child
// of a test; `point` must outlive its use.
void arm_crash_point(const char* point);

}  // namespace confvisor::test
