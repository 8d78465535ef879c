// One daemon per segment: an OFD lock on /dev/shm/confvisor.NAME.lock, held for the
// daemon's life. The kernel releases it when the holder dies, so a crashed daemon never
// blocks the next one.
#pragma once

#include <string>

#include "unique_fd.hpp"

namespace confvisor::daemon {

class InstanceLock {
 public:
  // Takes the lock or throws Error naming the pid that holds it.
  explicit InstanceLock(const std::string& segment);
  ~InstanceLock();  // removes the lock file, then releases the lock
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
  UniqueFd fd_;
};

}  // namespace confvisor::daemon
