#include "common/publish/owner_lock.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "common/base/error.hpp"
#include "common/segment/name.hpp"

namespace confvisor {

namespace {

bool try_lock(int fd) {
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (::fcntl(fd, F_OFD_SETLK, &fl) == 0) return true;
  if (errno == EAGAIN || errno == EACCES) return false;
  throw_sys("lock");
}

std::string holder_pid(int fd) {
  char buf[32] = {};
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

// The path may have been unlinked (by an exiting daemon) between our open and our lock;
// a lock on an unlinked inode protects nothing.
bool still_linked(int fd, const std::string& path) {
  struct stat by_fd {
  }, by_path{};
  return ::fstat(fd, &by_fd) == 0 && ::stat(path.c_str(), &by_path) == 0 &&
         by_fd.st_ino == by_path.st_ino && by_fd.st_dev == by_path.st_dev;
}

}  // namespace

OwnerLock::OwnerLock(const std::string& segment) {
  SegmentNames names(segment);
  path_ = names.path + ".lock";
  for (int attempt = 0; attempt < 16; ++attempt) {
    fd_ = UniqueFd(::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd_) throw_sys("open lock file " + path_);
    if (!try_lock(fd_.get())) {
      throw Error("segment \"" + segment + "\" is already published by another confvisord (pid " +
                  holder_pid(fd_.get()) + "; lock " + path_ + ")");
    }
    if (!still_linked(fd_.get(), path_)) continue;
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_.get(), 0) != 0 || ::pwrite(fd_.get(), pid.data(), pid.size(), 0) < 0) {
      throw_sys("write pid to lock file " + path_);
    }
    return;
  }
  throw Error("unable to lock " + path_ + ": it keeps being replaced");
}

std::optional<pid_t> OwnerLock::holder(const std::string& segment) {
  const std::string path = SegmentNames(segment).path + ".lock";
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) {
    if (errno == ENOENT) return std::nullopt;
    throw_sys("open lock file " + path);
  }
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (::fcntl(fd.get(), F_OFD_GETLK, &fl) != 0) throw_sys("test the lock of " + path);
  if (fl.l_type == F_UNLCK) return std::nullopt;
  // OFD locks have no owning pid (l_pid is -1): the daemon writes its own into the file.
  const std::string pid = holder_pid(fd.get());
  return pid == "unknown" ? 0 : static_cast<pid_t>(std::atol(pid.c_str()));
}

OwnerLock::~OwnerLock() {
  if (fd_) ::unlink(path_.c_str());
}

}  // namespace confvisor
