#include "common/segment/view.hpp"

#include <sched.h>

#include "common/base/error.hpp"
#include "common/segment/shared_copy.hpp"

namespace confvisor {

namespace {

ShmMapping open_mapping(const SegmentNames& names) {
  try {
    return ShmMapping::open_read_only(names.shm);
  } catch (const NotFound&) {
    throw Error("segment \"" + names.name + "\" does not exist (no " + names.path +
                "): is the publisher running?");
  }
}

constexpr int kMaxReadAttempts = 10'000;

[[noreturn]] void throw_truncated(const ShmMapping& m) {
  throw Error("segment " + m.path() +
              " was truncated while mapped: the last good generation stays in use until the "
              "publisher replaces the segment");
}

}  // namespace

void validate_header(const SegmentHeader& h, const ShmMapping& m) {
  const std::string where = "segment " + m.path();
  if (h.magic != kSegmentMagic) throw Error(where + " is not a confvisor segment (bad magic)");
  if (h.layout_version != kLayoutVersion) {
    throw Error(where + " has layout version " + std::to_string(h.layout_version) +
                ", this build reads version " + std::to_string(kLayoutVersion) +
                ": use a matching libconfvisor, or restart the publisher to rebuild it");
  }
  if (h.header_size != sizeof(SegmentHeader) || h.segment_size != m.size() ||
      h.heap_offset != kHeaderReserve || h.heap_offset + h.heap_size != h.segment_size) {
    throw SegmentDamaged(where + " is corrupt or truncated: header declares " +
                         std::to_string(h.segment_size) + " bytes, object has " +
                         std::to_string(m.size()));
  }
}

SegmentView::SegmentView(const SegmentNames& names)
    : mapping_(open_mapping(names)),
      header_(static_cast<const SegmentHeader*>(mapping_.address())) {
  validate_header(*header_, mapping_);
}

std::optional<Record> SegmentView::read_current() const {
  const SegmentHeader& h = *header_;
  for (int attempt = 0; attempt < kMaxReadAttempts; ++attempt) {
    if (mapping_.faulted()) throw_truncated(mapping_);
    // Acquire: pairs with the publisher's release store of `version`, so the slot it names
    // is seen whole.
    const std::uint64_t v = h.version.load(std::memory_order_acquire);
    const Slot& slot = h.slots[v & 1];
    const std::uint64_t generation = slot.generation.load(std::memory_order_relaxed);
    const std::uint64_t offset = slot.record_offset.load(std::memory_order_relaxed);
    const std::uint64_t size = slot.record_size.load(std::memory_order_relaxed);
    const std::uint64_t checksum = slot.checksum.load(std::memory_order_relaxed);
    if (generation == 0) {
      if (h.version.load(std::memory_order_acquire) != v) continue;
      return std::nullopt;
    }
    // Bounds before touching: a hostile slot must not make us read outside the mapping.
    const bool in_bounds = record_in_bounds(h, mapping_.size(), offset, size);
    std::string bytes;
    if (in_bounds) {
      // A truncation during the copy is caught (common/segment/mapping_fault.hpp) and seen below as
      // faulted(); this check names one that came before it without faulting at all.
      if (mapping_.current_file_size() < mapping_.size()) throw_truncated(mapping_);
      bytes.resize(size);
      copy_from_shared(bytes.data(), static_cast<const char*>(mapping_.address()) + offset, size);
    }
    // Acquire fence: if the copy saw any store a later publish made after its release fence,
    // the re-load below sees that publish's version and we retry.
    std::atomic_thread_fence(std::memory_order_acquire);
    if (mapping_.faulted()) throw_truncated(mapping_);
    if (h.version.load(std::memory_order_relaxed) != v) {
      sched_yield();
      continue;
    }
    if (!in_bounds) {
      throw Error("segment " + mapping_.path() + " is corrupt: generation " +
                  std::to_string(generation) + " points outside the segment (offset " +
                  std::to_string(offset) + ", size " + std::to_string(size) + ")");
    }
    try {
      return verify_record(std::move(bytes), generation, checksum);
    } catch (const Error& e) {
      throw Error("segment " + mapping_.path() + " is corrupt: generation " +
                  std::to_string(generation) + ": " + e.what());
    }
  }
  throw Error("segment " + mapping_.path() + " changed during " + std::to_string(kMaxReadAttempts) +
              " read attempts in a row");
}

}  // namespace confvisor
