// One shm object, open and mapped: RAII over Boost.Interprocess' shared_memory_object and
// mapped_region, plus the facts a segment needs from fstat (size, inode).
#pragma once

#include <sys/types.h>

#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cstddef>
#include <optional>
#include <string>

#include "common/base/error.hpp"
#include "common/segment/mapping_fault.hpp"

namespace confvisor {

class ShmMapping {
 public:
  // Throws Error naming /dev/shm/<shm_name> and the errno text, NotFound if it does not
  // exist, SegmentDamaged if it is smaller than a segment header.
  static ShmMapping open_read_only(const std::string& shm_name);
  static ShmMapping open_read_write(const std::string& shm_name);
  // create_only (EEXIST is an error), sized with posix_fallocate so a full /dev/shm is a
  // clean OutOfSpace here instead of a SIGBUS on first touch; mode is applied despite umask.
  static ShmMapping create(const std::string& shm_name, std::size_t size, mode_t mode,
                           std::optional<gid_t> group);

  [[nodiscard]] void* address() const { return region_.get_address(); }
  [[nodiscard]] std::size_t size() const { return region_.get_size(); }
  [[nodiscard]] ino_t inode() const { return inode_; }
  [[nodiscard]] int fd() const;
  [[nodiscard]] const std::string& path() const { return path_; }
  // Current size of the object on disk: smaller than size() means it was truncated under us.
  [[nodiscard]] std::size_t current_file_size() const;
  // Whether the object was truncated under this mapping and an access faulted: the mapping
  // now holds zeros (common/segment/mapping_fault.hpp) and nothing read from it can be trusted.
  [[nodiscard]] bool faulted() const noexcept { return guard_.faulted(); }

 private:
  ShmMapping(boost::interprocess::shared_memory_object object, std::string path, bool writable);

  boost::interprocess::shared_memory_object object_;
  boost::interprocess::mapped_region region_;
  std::string path_;
  ino_t inode_ = 0;
  FaultGuard guard_;  // destroyed before region_ unmaps
};

class NotFound : public std::exception {};

// The object is a confvisor segment no longer whole: smaller than its header or than the
// size its header declares. A publisher replaces it; a reader reports it.
class SegmentDamaged : public Error {
 public:
  using Error::Error;
};

// /dev/shm has not room for a new object of `needed` bytes.
class OutOfSpace : public Error {
 public:
  OutOfSpace(const std::string& what, std::size_t needed, std::size_t available)
      : Error(what), needed(needed), available(available) {}
  std::size_t needed;
  std::size_t available;
};

// Bytes free in /dev/shm for this process, or 0 if unknown.
[[nodiscard]] std::size_t shm_space_available();

// Inode of /dev/shm/<shm_name>, or nullopt if it does not exist.
[[nodiscard]] std::optional<ino_t> shm_inode(const std::string& shm_name);

}  // namespace confvisor
