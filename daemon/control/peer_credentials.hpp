// Who is at the other end of a Unix socket, as the kernel recorded it at connect():
// SO_PEERCRED (pid, uid, gid) and SO_PEERGROUPS (the supplementary groups).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace confvisor::daemon {

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary

  [[nodiscard]] bool in_group(gid_t g) const;
  [[nodiscard]] std::string describe() const;  // "pid 123 uid 1000 gid 1000"
};

// Throws Error if the socket has no peer credentials.
[[nodiscard]] PeerCredentials peer_credentials(int fd);

// Who may use the control socket: root, the daemon's own user, and members of `group`.
struct ControlAccess {
  uid_t daemon_uid;
  gid_t group;

  // Why `peer` may not use the socket (for the log line and the refusal); nullopt if it may.
  [[nodiscard]] std::optional<std::string> refusal(const PeerCredentials& peer) const;
};

}  // namespace confvisor::daemon
