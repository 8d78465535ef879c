// confvisorctl's commands answered by a running confvisord over its control socket.
#pragma once

#include <string>

#include "daemon/ctl/command_line.hpp"

namespace confvisor::ctl {

// Runs `cmd` against the daemon it names and returns the exit code. Throws
// control::ClientError when the daemon cannot be reached, Error for anything else.
int daemon_command(const Command& cmd);

}  // namespace confvisor::ctl
