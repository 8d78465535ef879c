// A run of a worker instance that failed, as the supervisor tells whoever watches a rollout
// (daemon/core/rollout_verify.hpp): it crashed (ended by itself in a way its success_exit_codes
// do not accept), its start failed (the spawn or exec did not happen), or its watchdog fired.
// A run that an operator, a reload or the daemon's own shutdown stopped is no failure. The
// supervisor also answers which instances with "ready": "notify" are still starting
// (Supervisor::not_ready), as failures of the kind not_ready.
#pragma once

#include <string>

namespace confvisor::supervise {

enum class FailureKind { crashed, start_failed, watchdog, not_ready };
[[nodiscard]] const char* failure_kind_name(FailureKind kind);  // "crashed", ...

struct RunFailure {
  std::string worker;
  unsigned instance = 0;
  FailureKind kind = FailureKind::crashed;
  std::string reason;  // "exit code 3", "execve /usr/bin/api: No such file or directory"
};

}  // namespace confvisor::supervise
