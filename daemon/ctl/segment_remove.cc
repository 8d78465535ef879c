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
  // NAME.canary belongs to NAME's daemon: that daemon's lock is the one to take.
  const bool canary = is_canary_segment(names.name);
  const std::string owner(owning_segment(names.name));
  std::optional<OwnerLock> lock;
  try {
    lock.emplace(owner);
  } catch (const Error& e) {
    std::cerr << "confvisorctl: remove refused: " << e.what()
              << "; stop that daemon first (its segment stays while it runs)\n";
    return kExitFailed;
  }
  const bool removed = Publisher::remove(names.name);
  // The daemon's canary segment goes with its main one.
  const std::string its_canary = canary_segment(names.name);
  const bool removed_canary = !canary && Publisher::remove(its_canary);
  if (!removed && !removed_canary) {
    std::cerr << "confvisorctl: remove: there is no segment " << names.name << " (" << names.path
              << ")\n";
    return kExitFailed;
  }
  // The lock file goes with the lock, when `lock` is destroyed.
  if (removed) std::cout << "removed segment " << names.name << " (" << names.path << ")\n";
  if (removed_canary) {
    std::cout << "removed its canary segment " << its_canary << " (" << kShmDir << "confvisor."
              << its_canary << ")\n";
  }
  return kExitOk;
}

}  // namespace confvisor::ctl
