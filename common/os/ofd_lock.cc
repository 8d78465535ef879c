#include "common/os/ofd_lock.hpp"

#include <fcntl.h>

#include "common/base/error.hpp"

namespace confvisor {

namespace {
int set_lock(int fd, short type, int cmd) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  return ::fcntl(fd, cmd, &fl);
}
}  // namespace

OfdLock::OfdLock(int fd, std::string what, Wait wait) : fd_(fd) {
  const int cmd = wait == Wait::until_held ? F_OFD_SETLKW : F_OFD_SETLK;
  while (set_lock(fd_, F_WRLCK, cmd) != 0) {
    if (errno == EINTR) continue;
    if (wait == Wait::no && (errno == EAGAIN || errno == EACCES)) return;
    throw_sys("lock " + what);
  }
  held_ = true;
}

OfdLock::~OfdLock() {
  if (held_) set_lock(fd_, F_UNLCK, F_OFD_SETLK);
}

}  // namespace confvisor
