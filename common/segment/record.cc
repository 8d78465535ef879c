#include "common/segment/record.hpp"

#include <cstring>

#include "common/segment/checksum.hpp"
#include "common/segment/layout.hpp"
#include "confvisor/error.hpp"

namespace confvisor {

namespace {

RecordHeader header_of(std::string_view bytes) {
  RecordHeader h{};
  std::memcpy(&h, bytes.data(), sizeof h);
  return h;
}

}  // namespace

std::string_view Record::source() const {
  RecordHeader h = header_of(bytes);
  return std::string_view(bytes).substr(sizeof h, h.source_size);
}

std::string_view Record::text() const {
  RecordHeader h = header_of(bytes);
  return std::string_view(bytes).substr(sizeof h + h.source_size, h.text_size);
}

std::string make_record_bytes(std::uint64_t generation, std::uint64_t published_at_ns,
                              std::uint64_t pid, std::string_view source, std::string_view text) {
  const std::size_t used = sizeof(RecordHeader) + source.size() + text.size();
  std::string bytes(round_up8(used), '\0');
  RecordHeader h{kRecordMagic, 0, generation, published_at_ns, pid, source.size(), text.size(), 0};
  std::memcpy(bytes.data(), &h, sizeof h);
  std::memcpy(bytes.data() + sizeof h, source.data(), source.size());
  std::memcpy(bytes.data() + sizeof h + source.size(), text.data(), text.size());
  h.checksum = crc32c(bytes.data() + kChecksumStart, used - kChecksumStart);
  std::memcpy(bytes.data(), &h, sizeof h);
  return bytes;
}

Record verify_record(std::string bytes, std::uint64_t expected_generation,
                     std::uint64_t expected_checksum) {
  if (bytes.size() < sizeof(RecordHeader)) throw Error("record smaller than its header");
  RecordHeader h = header_of(bytes);
  if (h.magic != kRecordMagic) throw Error("record has a bad magic number");
  if (h.source_size > bytes.size() || h.text_size > bytes.size() ||
      round_up8(sizeof h + h.source_size + h.text_size) != bytes.size()) {
    throw Error("record sizes disagree with its slot (" + std::to_string(bytes.size()) + " bytes)");
  }
  if (h.generation != expected_generation) {
    throw Error("record holds generation " + std::to_string(h.generation) + ", slot says " +
                std::to_string(expected_generation));
  }
  const std::size_t used = sizeof h + h.source_size + h.text_size;
  const std::uint32_t crc = crc32c(bytes.data() + kChecksumStart, used - kChecksumStart);
  if (crc != h.checksum || crc != expected_checksum) throw Error("record checksum mismatch");
  Record out;
  out.generation = h.generation;
  out.published_at_ns = h.published_at_ns;
  out.publisher_pid = h.publisher_pid;
  out.checksum = crc;
  out.bytes = std::move(bytes);
  return out;
}

}  // namespace confvisor
