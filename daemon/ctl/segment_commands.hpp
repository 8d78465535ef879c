// confvisorctl's commands on the segment itself, which need no daemon: get, show, publish.
#pragma once

#include "daemon/ctl/command_line.hpp"

namespace confvisor::ctl {

// Each returns the exit code; errors are thrown as confvisor::Error.
int segment_get(const Command& cmd);
int segment_show(const Command& cmd);
int segment_publish(const Command& cmd);

}  // namespace confvisor::ctl
