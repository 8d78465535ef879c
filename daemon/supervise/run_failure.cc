#include "daemon/supervise/run_failure.hpp"

namespace confvisor::supervise {

const char* failure_kind_name(FailureKind kind) {
  switch (kind) {
    case FailureKind::crashed:
      return "crashed";
    case FailureKind::start_failed:
      return "failed to start";
    case FailureKind::watchdog:
      return "missed its watchdog";
    case FailureKind::not_ready:
      return "was not ready";
  }
  return "?";
}

}  // namespace confvisor::supervise
