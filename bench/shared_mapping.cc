#include "bench/shared_mapping.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace confvisor::bench {

SharedMapping::SharedMapping(std::size_t size) : size_(size) {
  address_ = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (address_ == MAP_FAILED) {
    address_ = nullptr;
    throw std::runtime_error("unable to map " + std::to_string(size) +
                             " bytes of shared memory: " + std::strerror(errno));
  }
}

SharedMapping::~SharedMapping() {
  if (address_ != nullptr) ::munmap(address_, size_);
}

}  // namespace confvisor::bench
