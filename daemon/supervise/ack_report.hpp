// A report a worker instance sent about a generation, once the supervisor has accepted it:
// it came from a process of that instance (by the kernel's word on the sender's pid), it
// parsed, and it names a generation that was published. The daemon's core handles each one
// (Daemon::on_ack_report): `confvisorctl reload --wait` and the rollout watch listen there.
#pragma once

#include <cstdint>
#include <string>

namespace confvisor::supervise {

enum class AckOutcome { applied, rejected };
[[nodiscard]] const char* ack_outcome_name(AckOutcome outcome);  // "applied", "rejected"

struct AckReport {
  std::string worker;
  int instance = 0;
  std::uint64_t generation = 0;
  AckOutcome outcome = AckOutcome::applied;
  std::string reason;  // rejected: why, as the worker said it (one line); applied: ""
};

}  // namespace confvisor::supervise
