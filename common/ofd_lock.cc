#include "ofd_lock.hpp"

#include <fcntl.h>

#include "error.hpp"

namespace confvisor {

namespace {
int set_lock(int fd, short type, int cmd) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  return ::fcntl(fd, cmd, &fl);
}
}  // namespace

OfdLock::OfdLock(int fd, std::string what) : fd_(fd) {
  while (set_lock(fd_, F_WRLCK, F_OFD_SETLKW) != 0) {
    if (errno != EINTR) throw_sys("lock " + what);
  }
}

OfdLock::~OfdLock() { set_lock(fd_, F_UNLCK, F_OFD_SETLK); }

}  // namespace confvisor
