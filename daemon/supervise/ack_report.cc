#include "daemon/supervise/ack_report.hpp"

namespace confvisor::supervise {

const char* ack_outcome_name(AckOutcome outcome) {
  switch (outcome) {
    case AckOutcome::applied:
      return "applied";
    case AckOutcome::rejected:
      return "rejected";
  }
  return "?";
}

}  // namespace confvisor::supervise
