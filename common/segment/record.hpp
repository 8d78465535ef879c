// A published generation, copied out of the segment and verified.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace confvisor {

struct Record {
  std::uint64_t generation = 0;
  std::uint64_t published_at_ns = 0;  // CLOCK_REALTIME
  std::uint64_t publisher_pid = 0;
  std::uint32_t checksum = 0;
  std::string bytes;  // the whole record as copied: header, source, text, padding

  [[nodiscard]] std::string_view source() const;
  [[nodiscard]] std::string_view text() const;
  [[nodiscard]] std::size_t size() const { return text().size(); }  // JSON text bytes
};

// Lays out a record for `text` (see RecordHeader) into a buffer of round_up8(size) bytes.
[[nodiscard]] std::string make_record_bytes(std::uint64_t generation, std::uint64_t published_at_ns,
                                            std::uint64_t pid, std::string_view source,
                                            std::string_view text);

// The record a copy of its bytes holds, checked against what its slot said. Throws Error
// naming what is wrong ("record checksum mismatch").
[[nodiscard]] Record verify_record(std::string bytes, std::uint64_t expected_generation,
                                   std::uint64_t expected_checksum);

}  // namespace confvisor
