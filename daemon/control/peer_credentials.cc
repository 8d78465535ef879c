#include "daemon/control/peer_credentials.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "common/base/error.hpp"

namespace confvisor::daemon {

bool PeerCredentials::in_group(gid_t g) const {
  return gid == g || std::find(groups.begin(), groups.end(), g) != groups.end();
}

std::string PeerCredentials::describe() const {
  return "pid " + std::to_string(pid) + " uid " + std::to_string(uid) + " gid " +
         std::to_string(gid);
}

PeerCredentials peer_credentials(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    throw_sys("read the peer's credentials");
  PeerCredentials peer{cred.pid, cred.uid, cred.gid, {}};
  // SO_PEERGROUPS says how much room it needs with ERANGE; a process has at most
  // NGROUPS_MAX (65536) groups, so two rounds suffice.
  peer.groups.resize(64);
  for (int round = 0; round < 2; ++round) {
    socklen_t bytes = static_cast<socklen_t>(peer.groups.size() * sizeof(gid_t));
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, peer.groups.data(), &bytes) == 0) {
      peer.groups.resize(bytes / sizeof(gid_t));
      return peer;
    }
    if (errno != ERANGE) throw_sys("read the peer's groups");
    peer.groups.resize(bytes / sizeof(gid_t));
  }
  throw_sys("read the peer's groups");
}

std::optional<std::string> ControlAccess::refusal(const PeerCredentials& peer) const {
  if (peer.uid == 0 || peer.uid == daemon_uid || peer.in_group(group)) return std::nullopt;
  return peer.describe() + " is not root, not uid " + std::to_string(daemon_uid) +
         " and not in group " + std::to_string(group);
}

}  // namespace confvisor::daemon
