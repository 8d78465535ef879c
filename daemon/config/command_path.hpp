// Finding the program a worker runs and checking that it can run there, as the user it runs
// as: what execvp would do in the worker, done by the daemon before it forks, so that
// `--check`, a reload and every start refuse a worker that can never start with a message
// naming the file, and the log and status show which file was run.
//
// A command name without a slash is looked up in the worker's PATH (its env's PATH, else
// kBasePath), execvp's way: a candidate that does not exist is skipped, one that exists but
// cannot be executed (a directory, no execute permission) is skipped too but remembered, so
// the error says "Permission denied" rather than "No such file or directory". A relative
// path with a slash (and a relative PATH entry) is relative to the worker's cwd.
//
// Who may execute what: for a worker that runs with the daemon's own ids the kernel answers
// (faccessat with AT_EACCESS, which sees ACLs, noexec mounts and security modules). For a
// worker that runs as another user the daemon compares the file's mode bits, and the search
// bits of every directory on the way, with that user's uid, gid and supplementary groups.
// That works whether or not the daemon could become the user (`--check` run by an operator,
// not root), costs no process per start, and needs nothing after fork; what mode bits do
// not show (an ACL, a noexec mount, an LSM) is still caught at exec and reported with its
// errno through the spawn report pipe.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "daemon/config/model.hpp"

namespace confvisor::config {

// The PATH every worker starts with unless its env sets one (README, "Supervision").
inline constexpr std::string_view kBasePath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The ids a worker runs with, as far as file permissions go.
struct Credentials {
  bool own = true;  // the daemon's effective ids: ask the kernel
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups, as the worker gets them
  std::string who;            // "user nobody" for messages; "" for the daemon's own ids
};

// The credentials of `spec`'s user and group (the daemon's own without either). Throws
// Error for a user or group this machine does not have.
[[nodiscard]] Credentials credentials_of(const WorkerSpec& spec);

// The PATH `spec`'s command name is looked up in: its env's PATH, else kBasePath.
[[nodiscard]] std::string_view search_path_of(const WorkerSpec& spec);

// The file `spec.command[0]` names, looked up in `search_path` where it has no slash, made
// relative to spec.cwd where it is relative. Throws Error saying why it cannot be run:
//   no "python4" in PATH "/usr/local/sbin:...": No such file or directory
//   /srv/app is a directory, not a program
//   /etc/passwd: user nobody may not execute it: Permission denied
[[nodiscard]] std::string resolve_program(const WorkerSpec& spec, std::string_view search_path,
                                          const Credentials& as);

// Throws Error unless spec.cwd (when set) is a directory the worker may enter:
//   no such directory: No such file or directory
//   /etc/passwd is not a directory
//   user nobody may not enter it: Permission denied
void check_working_directory(const WorkerSpec& spec, const Credentials& as);

}  // namespace confvisor::config
