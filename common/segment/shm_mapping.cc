#include "common/segment/shm_mapping.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <boost/interprocess/exceptions.hpp>

#include "common/base/error.hpp"
#include "common/segment/layout.hpp"
#include "common/segment/name.hpp"

namespace confvisor {
namespace bip = boost::interprocess;

namespace {

std::string shm_path(const std::string& shm_name) {
  return std::string(kShmDir) + shm_name;
}

bip::shared_memory_object open_object(const std::string& shm_name, bip::mode_t mode) {
  try {
    return bip::shared_memory_object(bip::open_only, shm_name.c_str(), mode);
  } catch (const bip::interprocess_exception& e) {
    if (e.get_native_error() == ENOENT) throw NotFound();
    throw_sys("open segment " + shm_path(shm_name), e.get_native_error());
  }
}

struct stat stat_fd(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_sys("stat segment " + path);
  return st;
}

}  // namespace

ShmMapping::ShmMapping(bip::shared_memory_object object, std::string path, bool writable)
    : object_(std::move(object)), path_(std::move(path)) {
  struct stat st = stat_fd(fd(), path_);
  inode_ = st.st_ino;
  if (static_cast<std::size_t>(st.st_size) < kHeaderReserve) {
    throw SegmentDamaged("segment " + path_ + " is truncated or not a confvisor segment: " +
                         std::to_string(st.st_size) + " bytes, smaller than its " +
                         std::to_string(kHeaderReserve) + "-byte header");
  }
  try {
    region_ = bip::mapped_region(object_, writable ? bip::read_write : bip::read_only, 0,
                                 static_cast<std::size_t>(st.st_size));
  } catch (const bip::interprocess_exception& e) {
    throw_sys("map segment " + path_, e.get_native_error());
  }
  guard_ = FaultGuard(region_.get_address(), region_.get_size(), writable);
}

ShmMapping ShmMapping::open_read_only(const std::string& shm_name) {
  return ShmMapping(open_object(shm_name, bip::read_only), shm_path(shm_name), false);
}

ShmMapping ShmMapping::open_read_write(const std::string& shm_name) {
  return ShmMapping(open_object(shm_name, bip::read_write), shm_path(shm_name), true);
}

ShmMapping ShmMapping::create(const std::string& shm_name, std::size_t size, mode_t mode,
                              std::optional<gid_t> group) {
  const std::string path = shm_path(shm_name);
  bip::permissions perms(static_cast<unsigned>(mode));
  bip::shared_memory_object object;
  try {
    object = bip::shared_memory_object(bip::create_only, shm_name.c_str(), bip::read_write, perms);
  } catch (const bip::interprocess_exception& e) {
    throw_sys("create segment " + path, e.get_native_error());
  }
  int fd = object.get_mapping_handle().handle;
  try {
    if (int err = ::posix_fallocate(fd, 0, static_cast<off_t>(size)); err != 0) {
      if (err == ENOSPC) {
        const std::size_t available = shm_space_available();
        throw OutOfSpace("unable to allocate " + std::to_string(size) + " bytes for segment " +
                             path + ": " + std::string(kShmDir) + " has " +
                             std::to_string(available) + " bytes free",
                         size, available);
      }
      throw_sys("allocate " + std::to_string(size) + " bytes for segment " + path, err);
    }
    if (::fchmod(fd, mode) != 0) throw_sys("set mode of segment " + path);
    if (group && ::fchown(fd, static_cast<uid_t>(-1), *group) != 0) {
      throw_sys("set group " + std::to_string(*group) + " on segment " + path);
    }
    return ShmMapping(std::move(object), path, true);
  } catch (...) {
    bip::shared_memory_object::remove(shm_name.c_str());
    throw;
  }
}

int ShmMapping::fd() const {
  return object_.get_mapping_handle().handle;
}

std::size_t ShmMapping::current_file_size() const {
  return static_cast<std::size_t>(stat_fd(fd(), path_).st_size);
}

std::size_t shm_space_available() {
  struct statvfs st {};
  if (::statvfs(std::string(kShmDir).c_str(), &st) != 0) return 0;
  return static_cast<std::size_t>(st.f_bavail) * st.f_frsize;
}

std::optional<ino_t> shm_inode(const std::string& shm_name) {
  struct stat st {};
  if (::stat(shm_path(shm_name).c_str(), &st) != 0) return std::nullopt;
  return st.st_ino;
}

}  // namespace confvisor
