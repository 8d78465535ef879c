// An exclusive open-file-description lock (fcntl F_OFD_SETLKW) on a whole file: released by
// the kernel when its holder dies, so a crash never leaves it held.
#pragma once

#include <string>

namespace confvisor {

class OfdLock {
 public:
  enum class Wait { until_held, no };

  // Blocks until the lock is held, or with Wait::no takes it only if it is free (see
  // held()). `what` names the file in errors.
  OfdLock(int fd, std::string what, Wait wait = Wait::until_held);
  ~OfdLock();
  OfdLock(const OfdLock&) = delete;
  OfdLock& operator=(const OfdLock&) = delete;

  [[nodiscard]] bool held() const { return held_; }

 private:
  int fd_;
  bool held_ = false;
};

}  // namespace confvisor
