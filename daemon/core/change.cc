#include "daemon/core/change.hpp"

namespace confvisor::daemon {

const char* change_kind_name(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::start:
      return "start";
    case ChangeKind::reload:
      return "reload";
    case ChangeKind::rollback:
      return "rollback";
    case ChangeKind::etcd:
      return "etcd";
  }
  return "?";
}

bool rollout_verifies(ChangeKind kind) {
  return kind == ChangeKind::reload || kind == ChangeKind::etcd;
}

const char* outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::none:
      return "none";
    case Outcome::ok:
      return "ok";
    case Outcome::unchanged:
      return "unchanged";
    case Outcome::failed:
      return "failed";
    case Outcome::waiting:
      return "waiting";
    case Outcome::checking:
      return "checking";
  }
  return "?";
}

}  // namespace confvisor::daemon
