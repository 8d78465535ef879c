// An attempt to change the live config (the first publish, a reload, a rollback) and how it
// ended. Status shows the last one ("last_reload"), the control socket answers with it, and
// the log line of each names its kind and outcome in the words the name functions give.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace confvisor::daemon {

// What asked for the change.
enum class ChangeKind { start, reload, rollback };
[[nodiscard]] const char* change_kind_name(ChangeKind kind);  // "start", "reload", ...

// How it ended: none (no change yet), ok (published), unchanged (readers already see that
// config), failed (refused or not published; the error says why), waiting (for another
// process's writer lock; it is published once the lock is free), checking (the workers'
// check commands run on it; it is published once they all pass).
enum class Outcome { none, ok, unchanged, failed, waiting, checking };
[[nodiscard]] const char* outcome_name(Outcome outcome);  // "none", "ok", ...

struct Change {
  Outcome result = Outcome::none;
  std::string error;    // every error, one per line, when failed; why, when waiting
  std::string source;   // the file, or the kept generation rolled back to
  std::string trigger;  // "SIGHUP", "confvisorctl, pid 12 uid 0 gid 0"
  std::chrono::system_clock::time_point at{};
  std::uint64_t generation = 0;  // live after it
};

}  // namespace confvisor::daemon
