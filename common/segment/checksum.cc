#include "common/segment/checksum.hpp"

#include <boost/crc.hpp>
#include <cstring>

namespace confvisor {

std::uint32_t crc32c_portable(const void* data, std::size_t size) {
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;
  crc.process_bytes(data, size);
  return crc.checksum();
}

#if defined(__x86_64__)
namespace {

__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(const void* data, std::size_t size) {
  auto p = static_cast<const unsigned char*>(data);
  std::uint64_t crc = 0xFFFFFFFFu;
  for (; size >= 8; p += 8, size -= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    crc = __builtin_ia32_crc32di(crc, word);
  }
  auto crc32 = static_cast<std::uint32_t>(crc);
  for (; size > 0; ++p, --size) crc32 = __builtin_ia32_crc32qi(crc32, *p);
  return crc32 ^ 0xFFFFFFFFu;
}

bool cpu_has_sse42() {
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
}

}  // namespace

std::uint32_t crc32c(const void* data, std::size_t size) {
  return cpu_has_sse42() ? crc32c_sse42(data, size) : crc32c_portable(data, size);
}
#else
std::uint32_t crc32c(const void* data, std::size_t size) {
  return crc32c_portable(data, size);
}
#endif

}  // namespace confvisor
