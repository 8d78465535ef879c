// confvisorctl's commands answered by a running confvisord over its control socket.
#pragma once

#include <string>

#include "ctl_command_line.hpp"

namespace confvisor::ctl {

// Runs `cmd` against the daemon it names and returns the exit code. Throws
// control::ClientError when the daemon cannot be reached, Error for anything else.
int daemon_command(const Command& cmd);

// The socket path `cmd` leads to: --socket, the socket of --config FILE, of the packaged
// config, or the only socket in /run/confvisor. Throws Error (or ClientError when there is
// no daemon to be found at all).
[[nodiscard]] std::string find_socket(const Command& cmd);

}  // namespace confvisor::ctl
