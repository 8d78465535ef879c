// An exclusive open-file-description lock (fcntl F_OFD_SETLKW) on a whole file: released by
// the kernel when its holder dies, so a crash never leaves it held.
#pragma once

#include <string>

namespace confvisor {

class OfdLock {
 public:
  // Blocks until the lock is held. `what` names the file in errors.
  OfdLock(int fd, std::string what);
  ~OfdLock();
  OfdLock(const OfdLock&) = delete;
  OfdLock& operator=(const OfdLock&) = delete;

 private:
  int fd_;
};

}  // namespace confvisor
