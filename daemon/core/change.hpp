// An attempt to change the live config (the first publish, a reload, a rollback, a snapshot
// from etcd) and how it ended. Status shows the last one ("last_reload"), the control socket
// answers with it, and the log line of each names its kind and outcome in the words the name
// functions give.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace confvisor::daemon {

// What asked for the change: etcd is a snapshot of /confvisor/source/etcd's prefix.
enum class ChangeKind { start, reload, rollback, etcd };
[[nodiscard]] const char* change_kind_name(ChangeKind kind);  // "start", "reload", ...

// Whether "rollout" verifies what this kind publishes, and refuses content marked bad: an
// operator's reload and a snapshot from etcd do; the first publish and a rollback do not.
[[nodiscard]] bool rollout_verifies(ChangeKind kind);

// How it ended: none (no change yet), ok (published), unchanged (readers already see that
// config), failed (refused or not published; the error says why), waiting (for another
// process's writer lock; it is published once the lock is free), checking (the workers'
// check commands run on it; it is published once they all pass).
enum class Outcome { none, ok, unchanged, failed, waiting, checking };
[[nodiscard]] const char* outcome_name(Outcome outcome);  // "none", "ok", ...

struct Change {
  Outcome result = Outcome::none;
  std::string error;    // every error, one per line, when failed; why, when waiting
  std::string source;   // the file, the kept generation rolled back to, etcd://HOST:PORT/PREFIX@REV
  std::string trigger;  // "SIGHUP", "confvisorctl, pid 12 uid 0 gid 0"
  std::chrono::system_clock::time_point at{};
  std::uint64_t generation = 0;  // live after it
  // Published to the canary segment only, as `generation`: the other instances get it once
  // its canary window passes (daemon/core/rollout_verify.hpp).
  bool canary = false;
};

}  // namespace confvisor::daemon
