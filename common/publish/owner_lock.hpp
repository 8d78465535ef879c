// One daemon per segment: an OFD lock on /dev/shm/confvisor.NAME.lock, held for the
// daemon's life. The kernel releases it when the holder dies, so a crashed daemon never
// blocks the next one.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "common/os/unique_fd.hpp"

namespace confvisor {

class OwnerLock {
 public:
  // Takes the lock or throws Error naming the pid that holds it.
  explicit OwnerLock(const std::string& segment);
  ~OwnerLock();  // removes the lock file, then releases the lock
  OwnerLock(const OwnerLock&) = delete;
  OwnerLock& operator=(const OwnerLock&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }

  // The pid of the confvisord holding SEGMENT's lock (0 if it wrote none yet), or nullopt if
  // no daemon holds it. Only tests the lock: never takes it, never waits.
  [[nodiscard]] static std::optional<pid_t> holder(const std::string& segment);

 private:
  std::string path_;
  UniqueFd fd_;
};

}  // namespace confvisor
