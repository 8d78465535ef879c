// The bytes of a confvisor segment, shared by the publisher and every reader.
//
//   [0, 4096)      SegmentHeader: fixed place, so a reader validates it without trusting
//                  anything else in the segment (it never walks Boost's allocator structures,
//                  which a corrupt or hostile segment could poison).
//   [4096, size)   a Boost.Interprocess managed heap (managed_external_buffer) holding the
//                  published records; only the publisher touches its structures.
//
// Publication is a double-buffered seqlock. `version` is the one word readers watch: the
// active slot is slots[version & 1]. A publish fills a new record and the *inactive* slot,
// then stores version + 1 (release). A reader loads version (acquire), copies the record the
// active slot names, issues an acquire fence and accepts the copy only if version is
// unchanged. The active slot is never written while active, so a publisher killed at any
// point leaves it whole: readers are never stuck on an "odd" sequence.
#pragma once

#include <atomic>
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <cstddef>
#include <cstdint>

namespace confvisor {

// Bump whenever these structures change; a reader refuses any other version by name.
inline constexpr std::uint32_t kLayoutVersion = 1;
inline constexpr std::uint64_t kSegmentMagic = 0x31525356464e4f43ull;  // "CONFVSR1"
inline constexpr std::uint64_t kRecordMagic = 0x3143455256464e43ull;   // "CNFVREC1"
inline constexpr std::size_t kHeaderReserve = 4096;
inline constexpr std::size_t kMaxHistory = 64;

// Every field a reader loads is an 8-byte-or-smaller lock-free atomic: wider atomics are
// locked writes on x86-64 and would fault on a read-only mapping.
struct Slot {
  std::atomic<std::uint64_t> generation;
  std::atomic<std::uint64_t> record_offset;  // from the start of the segment, 8-aligned
  std::atomic<std::uint64_t> record_size;    // bytes, a multiple of 8
  std::atomic<std::uint64_t> checksum;       // equals the record's own checksum
};

// One published generation: this header, then `source_size` bytes of source path, then
// `text_size` bytes of minified JSON, zero-padded to a multiple of 8. Immutable once a slot
// names it; freed only once it has left the history window.
struct RecordHeader {
  std::uint64_t magic;
  std::uint64_t checksum;  // crc32c of the bytes after this field, up to the unpadded end
  std::uint64_t generation;
  std::uint64_t published_at_ns;  // CLOCK_REALTIME
  std::uint64_t publisher_pid;
  std::uint64_t source_size;
  std::uint64_t text_size;
  std::uint64_t reserved;
};
inline constexpr std::size_t kChecksumStart = 2 * sizeof(std::uint64_t);

struct HistoryEntry {
  std::uint64_t generation;
  std::uint64_t record_offset;
  std::uint64_t record_size;
};

struct SegmentHeader {
  // Written once, before the segment is reachable by name.
  std::uint64_t magic;
  std::uint32_t layout_version;
  std::uint32_t header_size;
  std::uint64_t segment_size;
  std::uint64_t heap_offset;
  std::uint64_t heap_size;
  std::uint64_t created_at_ns;
  std::uint64_t creator_pid;
  // The pid of the process holding writer_mutex, 0 while it is free: stored by the holder
  // right after it takes the mutex and cleared right before it releases it, so a publisher
  // that finds the mutex taken (and does not wait) can name who has it. Read without the
  // mutex; stale only for those two instants, or after its holder died with the mutex. It
  // occupies a word layout version 1 reserved: sizes and offsets are unchanged.
  std::atomic<std::uint64_t> writer_pid;

  // Reader-visible.
  alignas(64) std::atomic<std::uint64_t> version;
  std::atomic<std::uint32_t> change_futex;  // +1 and FUTEX_WAKE after every version change
  std::atomic<std::uint32_t> moved;         // 1 once a newer segment took this one's name
  Slot slots[2];

  // Publisher-only, under writer_mutex (a robust pthread mutex; see common/publish/publisher.cc for
  // what happens when its owner dies).
  alignas(64) boost::interprocess::interprocess_mutex writer_mutex;
  std::uint64_t last_generation;
  std::uint64_t history_limit;
  std::uint64_t history_count;
  HistoryEntry history[kMaxHistory];  // oldest first; the last one is the active generation
};

static_assert(sizeof(SegmentHeader) <= kHeaderReserve);
static_assert(sizeof(RecordHeader) % 8 == 0);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

[[nodiscard]] constexpr std::uint64_t round_up8(std::uint64_t n) {
  return (n + 7) & ~std::uint64_t{7};
}

// Whether a record of `size` bytes at `offset`, as a slot or a history entry names it, lies
// inside the heap of a mapping of `mapping_size` bytes and is aligned as the publisher writes
// records. Every value may be hostile: no sum here can overflow.
[[nodiscard]] constexpr bool record_in_bounds(const SegmentHeader& h, std::uint64_t mapping_size,
                                              std::uint64_t offset, std::uint64_t size) {
  return offset % 8 == 0 && size % 8 == 0 && size >= sizeof(RecordHeader) &&
         offset >= h.heap_offset && offset <= mapping_size && size <= mapping_size - offset;
}

}  // namespace confvisor
