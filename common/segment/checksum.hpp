// CRC-32C (Castagnoli) of a byte range: the checksum of every published record.
#pragma once

#include <cstddef>
#include <cstdint>

namespace confvisor {

// Uses the SSE4.2 crc32 instruction when the CPU has it (about 10x the table-driven speed,
// which matters for the 1 MiB configs on the publish -> visible path), Boost.CRC otherwise.
// Both give the same value; tests hold them to it.
[[nodiscard]] std::uint32_t crc32c(const void* data, std::size_t size);

// The portable Boost.CRC path alone, for tests and machines without SSE4.2.
[[nodiscard]] std::uint32_t crc32c_portable(const void* data, std::size_t size);

}  // namespace confvisor
