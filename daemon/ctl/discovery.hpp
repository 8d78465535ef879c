// How confvisorctl finds the daemon a command is for, without needing a valid config file:
// an operator whose edit broke the file, or who deleted it, still reaches the daemon that
// keeps the last good config.
#pragma once

#include <string>
#include <vector>

#include "daemon/ctl/command_line.hpp"

namespace confvisor::ctl {

// Whether anything answers on a socket path: one connect(), nothing sent.
enum class Probe {
  live,     // a daemon accepted the connection
  dead,     // no such file, or nobody listens on it (a daemon that died left it)
  denied,   // its permissions keep us out; someone may well listen
  unusable  // not a socket, a path too long, ...
};
[[nodiscard]] Probe probe_socket(const std::string& path);

// A socket in `dir` (*.sock) that a daemon answers on, or that we may not use (it is
// someone's, and the connect says so). Dead ones are left out.
struct Listener {
  std::string path;
  bool denied = false;
};
[[nodiscard]] std::vector<Listener> live_sockets(const std::string& dir);  // in name order

// The socket path `cmd` leads to:
//   --socket PATH as given;
//   --config FILE: its /confvisor/socket (or the default for its /confvisor/segment), read
//     leniently; if nobody answers there, the live daemon whose config is FILE;
//   neither: the same for /etc/confvisor/confvisor.json if it exists, else the only live
//     daemon in socket_dirs().
// Throws ClientError(not_running) when there is no daemon to be found, Error when the choice
// is not ours to make (several daemons, no way to tell).
[[nodiscard]] std::string find_socket(const Command& cmd);

}  // namespace confvisor::ctl
