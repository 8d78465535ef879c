#include "daemon/ctl/segment_remove.hpp"

#include <iostream>

#include "common/base/error.hpp"
#include "common/publish/owner_lock.hpp"
#include "common/publish/publisher.hpp"
#include "common/segment/name.hpp"

namespace confvisor::ctl {

int segment_remove(const Command& cmd) {
  const SegmentNames names(*cmd.segment);
  // A daemon holds the segment's owner lock for its whole life and the kernel drops it
  // when the daemon dies: holding it ourselves proves no daemon owns the segment, and keeps
  // one from starting on it until the objects are gone.
  std::optional<OwnerLock> lock;
  try {
    lock.emplace(names.name);
  } catch (const Error& e) {
    std::cerr << "confvisorctl: remove refused: " << e.what()
              << "; stop that daemon first (its segment stays while it runs)\n";
    return kExitFailed;
  }
  if (!Publisher::remove(names.name)) {
    std::cerr << "confvisorctl: remove: there is no segment " << names.name << " (" << names.path
              << ")\n";
    return kExitFailed;
  }
  // The lock file goes with the lock, when `lock` is destroyed.
  std::cout << "removed segment " << names.name << " (" << names.path << ")\n";
  return kExitOk;
}

}  // namespace confvisor::ctl
