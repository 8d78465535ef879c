// A read-only mapping of one segment object, its header validated. Everything a reader does
// to the segment goes through here; nothing in it writes to the mapping.
#pragma once

#include <memory>
#include <optional>

#include "common/segment/layout.hpp"
#include "common/segment/name.hpp"
#include "common/segment/record.hpp"
#include "common/segment/shm_mapping.hpp"

namespace confvisor {

class SegmentView {
 public:
  // Maps /dev/shm/confvisor.NAME read-only and validates its header. Throws Error naming
  // the file and what is wrong (missing, permission, truncated, foreign, other version).
  explicit SegmentView(const SegmentNames& names);

  [[nodiscard]] const SegmentHeader& header() const { return *header_; }
  [[nodiscard]] const ShmMapping& mapping() const { return mapping_; }
  [[nodiscard]] std::uint64_t version() const {
    return header_->version.load(std::memory_order_acquire);
  }
  [[nodiscard]] bool moved() const { return header_->moved.load(std::memory_order_acquire) != 0; }
  // The object was truncated under this mapping and an access faulted: its content is gone
  // (common/segment/mapping_fault.hpp), and only a replacement under the name can be read again.
  [[nodiscard]] bool faulted() const noexcept { return mapping_.faulted(); }

  // Copies and verifies the active generation. nullopt if none was ever published. Retries
  // while a publish races the copy; throws Error if the segment is corrupt, truncated or
  // keeps changing. Never raises SIGBUS, even if the object is truncated during the copy.
  [[nodiscard]] std::optional<Record> read_current() const;

 private:
  ShmMapping mapping_;
  const SegmentHeader* header_;
};

// Throws Error unless the fixed header at the start of `mapping` is a confvisor segment of
// this layout version whose declared sizes match the object (SegmentDamaged if only the
// sizes are wrong: the magic and version say it was ours).
void validate_header(const SegmentHeader& header, const ShmMapping& mapping);

}  // namespace confvisor
