// Named seams for fault injection. A publisher killed between two stores, or stopped while
// it holds the writer lock, cannot be produced on demand from outside, so the publisher calls
// crash_point("publish:locked") at each such place and a test program decides what happens
// there.
//
// Seams do not ship. The programs in build/bin (what `cmake --install` and cpack install)
// never install a hook: a point costs one load and a branch, and nothing in them reads the
// environment for it. Test programs link tests/support/test_seams.cc, which installs a hook
// driven by CONFVISOR_TEST_CRASH_AT (SIGKILL at the point) and CONFVISOR_TEST_STOP_AT
// (SIGSTOP at the point); build/tests/confvisord-seams and confvisorctl-seams are the daemon
// and the client built that way.
#pragma once

#include <string_view>

namespace confvisor {

using SeamHook = void (*)(std::string_view point);

// Runs the installed hook, if any, with `point`.
void crash_point(std::string_view point);

// Installs `hook` for this process (nullptr removes it). Only test programs call it.
void set_seam_hook(SeamHook hook);

}  // namespace confvisor
