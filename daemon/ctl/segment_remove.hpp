// `confvisorctl remove --segment NAME`: deletes a segment that outlived its daemon. A segment
// stays in /dev/shm after its daemon stops (so readers keep their config across a restart);
// once it is no longer wanted, this removes it, and refuses while a daemon owns it.
#pragma once

#include "daemon/ctl/command_line.hpp"

namespace confvisor::ctl {

// Returns the exit code: 0 removed, 1 refused (a daemon owns it) or nothing to remove.
int segment_remove(const Command& cmd);

}  // namespace confvisor::ctl
