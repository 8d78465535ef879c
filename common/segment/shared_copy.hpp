// Copies to and from memory that another process may write or read at the same time.
// A plain memcpy of racing data is undefined behaviour; word-sized relaxed atomic accesses
// are not, and compile to ordinary moves. Callers order them with fences (see
// common/segment/layout.hpp). Sizes and addresses must be multiples of 8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace confvisor {

inline void copy_from_shared(void* dst, const void* src, std::size_t size) {
  auto* d = static_cast<unsigned char*>(dst);
  auto* s = static_cast<const std::uint64_t*>(src);
  for (std::size_t i = 0; i < size / 8; ++i) {
    std::uint64_t word = __atomic_load_n(s + i, __ATOMIC_RELAXED);
    std::memcpy(d + 8 * i, &word, 8);
  }
}

inline void copy_to_shared(void* dst, const void* src, std::size_t size) {
  auto* d = static_cast<std::uint64_t*>(dst);
  auto* s = static_cast<const unsigned char*>(src);
  for (std::size_t i = 0; i < size / 8; ++i) {
    std::uint64_t word;
    std::memcpy(&word, s + 8 * i, 8);
    __atomic_store_n(d + i, word, __ATOMIC_RELAXED);
  }
}

}  // namespace confvisor
