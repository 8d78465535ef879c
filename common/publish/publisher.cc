// Publication, growth and recovery. The protocol itself is described in common/segment/layout.hpp;
// this file adds the writer's side of it:
//
// - Writers serialise on the header's interprocess_mutex (a robust pthread mutex). Boost
//   turns its owner's death into lock_exception(not_recoverable) on every later lock, so a
//   segment whose writer died mid-publish is never written again: it is *replaced*.
// - Replacing (for growth or recovery) builds a complete new object under a private name,
//   then: link current -> .prev, rename new -> current (atomic), mark .prev moved (readers
//   wake and reopen the name), unlink .prev. Whoever next takes a writer lock finishes a move
//   that a crash interrupted, so a reader of the old object is always told to move on.
// - Recovery itself is serialised by an OFD lock on the poisoned object: the kernel drops it
//   if the recovering process dies too. A recovery that finds no room in /dev/shm leaves the
//   old object in place (readers keep its current generation), says how much room it needs,
//   and is tried again by the next call that wants the writer lock.
// - Before anything writes to a segment it is verified: still the object the name leads to,
//   as large as mapped, its header sound. A damaged one (truncated, its header corrupted, its
//   name removed) is replaced like a move, with the generations that can still be read back
//   through its descriptor and the one this process last published. A truncation during a
//   write faults into zero-filled memory instead of SIGBUS (common/segment/mapping_fault.hpp) and
//   is replaced right after.

#include "common/publish/publisher.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/interprocess/indexes/null_index.hpp>
#include <boost/interprocess/managed_external_buffer.hpp>
#include <boost/interprocess/mem_algo/rbtree_best_fit.hpp>
#include <boost/interprocess/sync/mutex_family.hpp>
#include <boost/interprocess/sync/scoped_lock.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstring>
#include <ctime>
#include <map>

#include "common/base/error.hpp"
#include "common/json/depth_limit.hpp"
#include "common/os/directory.hpp"
#include "common/os/ofd_lock.hpp"
#include "common/os/small_file.hpp"
#include "common/os/unique_fd.hpp"
#include "common/publish/crash_point.hpp"
#include "common/segment/futex.hpp"
#include "common/segment/layout.hpp"
#include "common/segment/mapping_fault.hpp"
#include "common/segment/name.hpp"
#include "common/segment/record.hpp"
#include "common/segment/shared_copy.hpp"
#include "common/segment/shm_mapping.hpp"
#include "common/segment/view.hpp"

namespace confvisor {
namespace bip = boost::interprocess;

namespace {

// The writer mutex already serialises every heap operation, so the heap needs no lock of
// its own (and so has none that a crash could poison), and no name index.
using Heap = bip::basic_managed_external_buffer<
    char, bip::rbtree_best_fit<bip::null_mutex_family, bip::offset_ptr<void>>, bip::null_index>;

constexpr std::size_t kMinSegmentSize = kHeaderReserve + (64u << 10);
constexpr std::size_t kHeapOverhead = 4096;     // allocator bookkeeping, generous
constexpr std::size_t kPerRecordOverhead = 64;  // per allocation
constexpr int kMaxAttachAttempts = 32;
constexpr unsigned kDefaultHistory = 8;

std::uint64_t now_realtime_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

std::size_t page_round(std::size_t n) {
  return (n + 4095) & ~std::size_t{4095};
}

// Tells readers of `h` that the name now belongs to a newer object. Bumping version by 2
// keeps the active slot where it is (its content stays valid), while every reader's
// "unchanged?" compare fails and sends it to look at `moved`.
void mark_moved(SegmentHeader& h) {
  h.moved.store(1, std::memory_order_relaxed);
  h.version.fetch_add(2, std::memory_order_release);
  h.change_futex.fetch_add(1, std::memory_order_release);
  futex_wake_all(&h.change_futex);
}

struct Attached {
  ShmMapping mapping;
  SegmentHeader* header;
  Heap heap;

  char* base() const { return static_cast<char*>(mapping.address()); }
};

std::unique_ptr<Attached> attach_mapping(ShmMapping mapping) {
  auto* header = static_cast<SegmentHeader*>(mapping.address());
  validate_header(*header, mapping);
  char* heap_start = static_cast<char*>(mapping.address()) + header->heap_offset;
  Heap heap(bip::open_only, heap_start, header->heap_size);
  return std::unique_ptr<Attached>(new Attached{std::move(mapping), header, std::move(heap)});
}

// Copies and verifies a record of the segment image at `base` (`size` bytes, header `h`)
// that this process can see without racing a writer (it holds the writer lock, the writer
// is dead, or the image is a private copy). Nullopt if it is out of bounds or does not
// verify: the callers keep what can be kept of a damaged segment and drop the rest.
std::optional<Record> read_record_at(const char* base, std::size_t size, const SegmentHeader& h,
                                     std::uint64_t generation, std::uint64_t offset,
                                     std::uint64_t record_size) {
  if (!record_in_bounds(h, size, offset, record_size)) return std::nullopt;
  std::string bytes(record_size, '\0');
  std::memcpy(bytes.data(), base + offset, record_size);
  RecordHeader rh{};
  std::memcpy(&rh, bytes.data(), sizeof rh);
  try {
    return verify_record(std::move(bytes), generation, rh.checksum);
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::optional<Record> read_record(const Attached& a, std::uint64_t generation, std::uint64_t offset,
                                  std::uint64_t size) {
  return read_record_at(a.base(), a.mapping.size(), *a.header, generation, offset, size);
}

// What can be read back from a damaged segment object through its descriptor: pread never
// faults, whatever was truncated. The generations that still verify (oldest first) and the
// highest generation number its header records.
struct Salvage {
  std::vector<Record> records;
  std::uint64_t last_generation = 0;
};

Salvage salvage(int fd) {
  Salvage out;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<std::size_t>(st.st_size) < kHeaderReserve) return out;
  const std::size_t size = static_cast<std::size_t>(st.st_size);
  // Aligned as a mapping is, so the header can be read in place.
  std::unique_ptr<char, decltype(&std::free)> image(
      static_cast<char*>(std::aligned_alloc(4096, page_round(size))), &std::free);
  if (!image) return out;
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::pread(fd, image.get() + got, size - got, static_cast<off_t>(got));
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  const auto& h = *reinterpret_cast<const SegmentHeader*>(image.get());
  if (got < kHeaderReserve || h.magic != kSegmentMagic || h.layout_version != kLayoutVersion) {
    return out;
  }
  std::map<std::uint64_t, Record> kept;
  auto keep = [&](std::uint64_t generation, std::uint64_t offset, std::uint64_t record_size) {
    if (generation == 0 || kept.count(generation)) return;
    if (auto r = read_record_at(image.get(), got, h, generation, offset, record_size)) {
      kept.emplace(generation, std::move(*r));
    }
  };
  for (const Slot& slot : h.slots) {
    keep(slot.generation.load(std::memory_order_relaxed),
         slot.record_offset.load(std::memory_order_relaxed),
         slot.record_size.load(std::memory_order_relaxed));
  }
  const std::uint64_t count = std::min<std::uint64_t>(h.history_count, kMaxHistory);
  for (std::uint64_t i = 0; i < count; ++i) {
    keep(h.history[i].generation, h.history[i].record_offset, h.history[i].record_size);
  }
  out.last_generation = h.last_generation;
  for (auto& [generation, r] : kept) {
    out.last_generation = std::max(out.last_generation, generation);
    out.records.push_back(std::move(r));
  }
  return out;
}

// Tells readers of the object behind `fd` that the name now leads elsewhere, through a
// mapping of its header page of our own: the caller's mapping may have faulted into zeros.
// The page is there while the object has any byte left (past the end, within the page,
// reads zeros and faults nothing); if not, its readers fault and look again by name.
void tell_readers_moved(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size <= 0) return;
  void* p = ::mmap(nullptr, kHeaderReserve, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return;
  {
    FaultGuard guard(p, kHeaderReserve, true);
    // Whatever its magic says now: the caller knows the object was ours.
    mark_moved(*static_cast<SegmentHeader*>(p));
  }
  ::munmap(p, kHeaderReserve);
}

// Why a segment's header is not one this publisher may write through; nullopt if it is.
// Every value may be hostile.
std::optional<std::string> header_damage(const SegmentHeader& h, std::size_t mapping_size) {
  if (h.magic != kSegmentMagic) return "its magic number was overwritten";
  if (h.layout_version != kLayoutVersion || h.header_size != sizeof(SegmentHeader)) {
    return "its layout version or header size was overwritten";
  }
  if (h.segment_size != mapping_size || h.heap_offset != kHeaderReserve ||
      h.heap_offset + h.heap_size != h.segment_size) {
    return "its header declares " + std::to_string(h.segment_size) + " bytes, the object has " +
           std::to_string(mapping_size);
  }
  if (h.history_count > kMaxHistory) {
    return "its history count is " + std::to_string(h.history_count);
  }
  for (std::uint64_t i = 0; i < h.history_count; ++i) {
    const HistoryEntry& e = h.history[i];
    if (!record_in_bounds(h, mapping_size, e.record_offset, e.record_size)) {
      return "history entry " + std::to_string(i) + " points outside the segment";
    }
  }
  for (const Slot& slot : h.slots) {
    if (slot.generation.load(std::memory_order_relaxed) != 0 &&
        !record_in_bounds(h, mapping_size, slot.record_offset.load(std::memory_order_relaxed),
                          slot.record_size.load(std::memory_order_relaxed))) {
      return "a slot points outside the segment";
    }
  }
  return std::nullopt;
}

// The segment was truncated under a write: the publish stopped before touching the heap's
// structures again (they read zeros now); the caller replaces the segment.
class WriteFaulted : public Error {
 public:
  using Error::Error;
};

// Heap calls on a mapping that a truncation may turn into zeros at any moment: stopped by
// run_fault_guarded rather than left to walk zeros (which would crash).
void* guarded_allocate(Heap& heap, std::size_t size, const std::string& path) {
  void* p = nullptr;
  auto call = [&] { p = heap.allocate(size, std::nothrow); };
  if (!run_fault_guarded(call))
    throw WriteFaulted("segment " + path + " was truncated during a publish");
  return p;
}

void guarded_deallocate(Heap& heap, void* p, const std::string& path) {
  auto call = [&] { heap.deallocate(p); };
  if (!run_fault_guarded(call))
    throw WriteFaulted("segment " + path + " was truncated during a publish");
}

// A recovery that found no room in /dev/shm: the old object stays, read-only.
class RecoveryBlocked : public Error {
 public:
  using Error::Error;
};

GenerationInfo info_of(const Record& r) {
  GenerationInfo info;
  info.generation = r.generation;
  info.published_at = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(r.published_at_ns)));
  info.publisher_pid = static_cast<pid_t>(r.publisher_pid);
  info.source = std::string(r.source());
  info.size = r.size();
  return info;
}

std::string minify(std::string_view json) {
  boost::json::error_code ec;
  boost::json::parse_options opts;
  opts.max_depth = kMaxDocumentDepth;
  boost::json::value v = boost::json::parse(json, ec, {}, opts);
  if (ec)
    throw Error("unable to publish: the text is not one valid JSON document: " + ec.message());
  return boost::json::serialize(v);
}

// Holds a segment's writer mutex and, while it does, names this process in the header's
// writer_pid, so that a publisher which finds the mutex taken can say who has it.
class WriterLock {
 public:
  // Takes the mutex, waiting for it if `wait`; else only if it is free (see held()). Throws
  // bip::lock_exception if a holder died with it.
  //
  // Without waiting it is a timed lock whose deadline has passed, never try_lock: on a mutex
  // made not recoverable (its holder died), glibc's pthread_mutex_trylock returns
  // ENOTRECOVERABLE but leaves the mutex locked by the caller and off its robust list, so
  // every later attempt of any process finds it busy (held by nobody alive) and no recovery
  // starts. pthread_mutex_timedlock releases it as pthread_mutex_lock does, and with a past
  // deadline it returns at once when a live process holds the mutex.
  WriterLock(SegmentHeader& h, bool wait) : h_(h) {
    if (wait) {
      h_.writer_mutex.lock();
      held_ = true;
    } else {
      held_ = h_.writer_mutex.timed_lock(std::chrono::system_clock::time_point{});
    }
    if (held_)
      h_.writer_pid.store(static_cast<std::uint64_t>(::getpid()), std::memory_order_relaxed);
  }
  ~WriterLock() {
    if (!held_) return;
    h_.writer_pid.store(0, std::memory_order_relaxed);
    h_.writer_mutex.unlock();
  }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

  [[nodiscard]] bool held() const { return held_; }

 private:
  SegmentHeader& h_;
  bool held_ = false;
};

// "4242 (confvisorctl, stopped)": the pid, with its command name and whether it is stopped
// when /proc says (the usual reason a writer lock stays held: a publish suspended by Ctrl-Z).
std::string describe_process(pid_t pid) {
  std::string out = std::to_string(pid);
  const std::string stat = read_small_file("/proc/" + out + "/stat").value_or("");
  const auto open = stat.find('('), close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return out;
  out += " (" + stat.substr(open + 1, close - open - 1);
  const char state = close + 2 < stat.size() ? stat[close + 2] : '?';
  if (state == 'T' || state == 't') out += ", stopped";
  return out + ")";
}

}  // namespace

struct Publisher::Impl {
  PublisherOptions options;
  SegmentNames names;
  std::unique_ptr<Attached> attached;
  // The segment just replaced by a move. Kept mapped until the writer lock taken on it has
  // been released, since that lock lives in its header.
  std::unique_ptr<Attached> retired;
  bool first_lock_done = false;  // on_first_lock has run
  // Segments whose mapping faulted while this process may have held their writer lock: the
  // lock's node can stay on this thread's robust-mutex list (its unlock read zeros), and
  // glibc writes to that node at the next lock, so the range must stay mapped for good.
  // One per truncation that hit a write: rare, and only the address range and an fd.
  std::vector<std::unique_ptr<Attached>> faulted_keep;
  // The current generation as this process last published or verified it, and the highest
  // generation number it handed out: what a replacement of a damaged segment starts from.
  std::optional<Record> current_record;
  std::uint64_t last_published = 0;

  explicit Impl(PublisherOptions o) : options(std::move(o)), names(options.segment) {
    if (options.history) check_history(*options.history);
    options.initial_size = std::max(page_round(options.initial_size), kMinSegmentSize);
  }

  unsigned history() const { return options.history.value_or(kDefaultHistory); }

  // Drops the attached segment (see faulted_keep for one that faulted).
  void let_go() {
    if (attached && attached->mapping.faulted()) faulted_keep.push_back(std::move(attached));
    attached.reset();
  }

  static void check_history(unsigned history) {
    if (history < 1 || history > kMaxHistory) {
      throw Error("history must be between 1 and " + std::to_string(kMaxHistory) + ", got " +
                  std::to_string(history));
    }
  }

  void event(const std::string& line) const {
    if (options.on_event) options.on_event(line);
  }

  // Runs `fn(attached)` holding the writer lock of the segment that currently has the name,
  // attaching, recovering and following moves as needed. Without wait_for_lock, throws
  // WriterLockBusy instead of waiting for another process to release the lock.
  template <class Fn>
  auto with_writer_lock(Fn&& fn) {
    for (int attempt = 0; attempt < kMaxAttachAttempts; ++attempt) {
      retired.reset();
      if (!attached) attach();
      if (!attached || !segment_intact()) continue;
      std::optional<WriterLock> lock;
      try {
        lock.emplace(*attached->header, options.wait_for_lock);
      } catch (const bip::lock_exception&) {
        recover_from_dead_writer();
        continue;
      }
      if (!lock->held()) throw busy(attached->header->writer_pid.load(std::memory_order_relaxed));
      if (attached->header->moved.load(std::memory_order_acquire) != 0) {
        lock.reset();
        let_go();
        continue;
      }
      settle_prev();
      if (!first_lock_done) {
        on_first_lock(*attached);
        first_lock_done = true;
      }
      return fn(*attached);
    }
    throw Error("unable to lock segment " + names.path + ": it was replaced " +
                std::to_string(kMaxAttachAttempts) + " times in a row");
  }

  WriterLockBusy busy(std::uint64_t holder) const {
    const auto pid = static_cast<pid_t>(holder);
    if (pid <= 0 || static_cast<std::uint64_t>(pid) != holder) {
      return WriterLockBusy(
          "the writer lock of " + names.path + " is held by another process (its pid not known)",
          0);
    }
    return WriterLockBusy(
        "the writer lock of " + names.path + " is held by pid " + describe_process(pid), pid);
  }

  // Maps the object that has the name, creating it if there is none. Leaves `attached`
  // empty if the name changed under us (the caller retries).
  void attach() {
    try {
      auto a = attach_mapping(ShmMapping::open_read_write(names.shm));
      if (a->header->moved.load(std::memory_order_acquire) != 0 &&
          shm_inode(names.shm) != a->mapping.inode()) {
        return;
      }
      attached = std::move(a);
    } catch (const NotFound&) {
      create_first();
    } catch (const SegmentDamaged& e) {
      replace_unreadable(e.what());
    }
  }

  // Whether the attached segment may be written (see the top of the file). If not, it is
  // replaced, or let go when the name now leads to another object, and the caller attaches
  // again.
  bool segment_intact() {
    const Attached& a = *attached;
    const auto inode = shm_inode(names.shm);
    if (inode && *inode != a.mapping.inode()) {
      let_go();
      return false;
    }
    std::optional<std::string> damage;
    if (a.mapping.faulted()) {
      damage = "it was truncated while mapped (an access faulted)";
    } else if (!inode) {
      damage = "its name was removed";
    } else if (const std::size_t now = a.mapping.current_file_size(); now < a.mapping.size()) {
      damage = "it was truncated to " + std::to_string(now) +
               " bytes (mapped: " + std::to_string(a.mapping.size()) + ")";
    } else {
      damage = header_damage(*a.header, a.mapping.size());
    }
    if (!damage) return true;
    replace_damaged(*damage);
    return false;
  }

  // Replaces the attached segment, found damaged, with one rebuilt from what can be read
  // back and what this process last published; readers follow as after a move.
  void replace_damaged(const std::string& damage) {
    OfdLock serial(attached->mapping.fd(), "segment " + names.path + " for replacement");
    const auto inode = shm_inode(names.shm);
    if (inode && *inode != attached->mapping.inode()) {
      let_go();  // another process replaced it meanwhile
      return;
    }
    auto next = rebuild(attached->mapping.fd());
    const std::uint64_t generation = current_generation_of(*next);
    move_to(std::move(next));
    event("replaced damaged segment " + names.path + ": " + damage + "; current generation " +
          std::to_string(generation));
  }

  // As replace_damaged, for an object found damaged by a publisher that had not attached
  // it (a daemon restarted after the truncation).
  void replace_unreadable(const std::string& damage) {
    UniqueFd fd(::open(names.path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) {
      if (errno == ENOENT) return;  // gone meanwhile: the caller attaches again
      throw_sys("open damaged segment " + names.path);
    }
    OfdLock serial(fd.get(), "segment " + names.path + " for replacement");
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || shm_inode(names.shm) != st.st_ino) return;
    auto next = rebuild(fd.get());
    const std::uint64_t generation = current_generation_of(*next);
    settle_prev();
    put_under_name(fd.get());
    attached = std::move(next);
    event("replaced damaged segment " + names.path + ": " + damage + "; current generation " +
          std::to_string(generation));
  }

  static std::uint64_t current_generation_of(const Attached& a) {
    const SegmentHeader& h = *a.header;
    return h.slots[h.version.load(std::memory_order_relaxed) & 1].generation.load(
        std::memory_order_relaxed);
  }

  // A new segment under the building name, holding the generations that still verify in
  // the object behind `fd` and the one this process last published, numbered on from the
  // highest generation either knows.
  std::unique_ptr<Attached> rebuild(int fd) {
    Salvage found = salvage(fd);
    std::map<std::uint64_t, Record> kept;
    for (Record& r : found.records) kept.emplace(r.generation, std::move(r));
    if (current_record) kept.emplace(current_record->generation, *current_record);
    std::vector<Record> records;
    for (auto& [generation, r] : kept) records.push_back(std::move(r));
    if (records.size() > history()) records.erase(records.begin(), records.end() - history());
    const std::uint64_t last = std::max(found.last_generation, last_published);
    return build_fitting(records, options.initial_size, last);
  }

  // build(), falling back to the least size that holds `records` when /dev/shm has no room
  // for `size` (later publishes grow it as usual). Throws OutOfSpace if even that fails.
  std::unique_ptr<Attached> build_fitting(const std::vector<Record>& records, std::size_t size,
                                          std::uint64_t last_generation) {
    const std::size_t least = std::max(page_round(2 * size_for(records)), kMinSegmentSize);
    try {
      return build(records, std::max(size, least), last_generation);
    } catch (const OutOfSpace& e) {
      if (std::max(size, least) == least) throw;
      event(std::string(e.what()) + "; building it with " + std::to_string(least) +
            " bytes instead");
      return build(records, least, last_generation);
    }
  }

  void create_first() {
    auto built = build({}, options.initial_size, 0);
    const std::string building_path = std::string(kShmDir) + names.building_shm(::getpid());
    if (::renameat2(AT_FDCWD, building_path.c_str(), AT_FDCWD, names.path.c_str(),
                    RENAME_NOREPLACE) != 0) {
      int err = errno;
      ::unlink(building_path.c_str());
      if (err == EEXIST) return;  // another publisher created it first: attach to theirs
      throw_sys("create segment " + names.path, err);
    }
    attached = std::move(built);
    event("segment created: " + names.path + ", " + std::to_string(attached->mapping.size()) +
          " bytes");
  }

  // A complete segment under this process' private building name, holding `records`
  // (oldest first; the last becomes the active generation).
  std::unique_ptr<Attached> build(const std::vector<Record>& records, std::size_t size,
                                  std::uint64_t last_generation) {
    const std::string shm = names.building_shm(::getpid());
    bip::shared_memory_object::remove(shm.c_str());
    ShmMapping mapping = ShmMapping::create(shm, size, options.mode, options.group);
    try {
      auto* h = new (mapping.address()) SegmentHeader{};
      h->magic = kSegmentMagic;
      h->layout_version = kLayoutVersion;
      h->header_size = sizeof(SegmentHeader);
      h->segment_size = mapping.size();
      h->heap_offset = kHeaderReserve;
      h->heap_size = mapping.size() - kHeaderReserve;
      h->created_at_ns = now_realtime_ns();
      h->creator_pid = static_cast<std::uint64_t>(::getpid());
      h->last_generation = last_generation;
      h->history_limit = history();
      Heap heap(bip::create_only, static_cast<char*>(mapping.address()) + kHeaderReserve,
                h->heap_size);
      auto a = std::unique_ptr<Attached>(new Attached{std::move(mapping), h, std::move(heap)});
      for (const Record& r : records) {
        void* p = a->heap.allocate(r.bytes.size(), std::nothrow);
        if (p == nullptr)
          throw Error("segment " + names.path + " sized too small while rebuilding");
        std::memcpy(p, r.bytes.data(), r.bytes.size());
        h->history[h->history_count++] = {
            r.generation, static_cast<std::uint64_t>(static_cast<char*>(p) - a->base()),
            r.bytes.size()};
      }
      if (!records.empty()) {
        const HistoryEntry& cur = h->history[h->history_count - 1];
        write_slot(h->slots[0], cur, records.back().checksum);
      }
      h->version.store(0, std::memory_order_release);
      return a;
    } catch (...) {
      bip::shared_memory_object::remove(shm.c_str());
      throw;
    }
  }

  static void write_slot(Slot& s, const HistoryEntry& e, std::uint64_t checksum) {
    s.generation.store(e.generation, std::memory_order_relaxed);
    s.record_offset.store(e.record_offset, std::memory_order_relaxed);
    s.record_size.store(e.record_size, std::memory_order_relaxed);
    s.checksum.store(checksum, std::memory_order_relaxed);
  }

  std::size_t size_for(const std::vector<Record>& records) const {
    std::size_t bytes = kHeaderReserve + kHeapOverhead;
    for (const Record& r : records) bytes += r.bytes.size() + kPerRecordOverhead;
    return bytes;
  }

  // Puts `next` in place of the attached segment under the name (see the top of the file).
  void move_to(std::unique_ptr<Attached> next) {
    settle_prev();
    put_under_name(attached->mapping.fd());
    if (attached->mapping.faulted()) {
      faulted_keep.push_back(std::move(attached));
    } else {
      retired = std::move(attached);
    }
    attached = std::move(next);
  }

  // Puts the building object under the name in place of the object behind `old_fd`, and
  // tells that one's readers.
  void put_under_name(int old_fd) {
    const std::string building_path = std::string(kShmDir) + names.building_shm(::getpid());
    if (::link(names.path.c_str(), names.prev_path.c_str()) != 0 && errno != ENOENT) {
      int err = errno;
      ::unlink(building_path.c_str());
      throw_sys("link " + names.path + " to " + names.prev_path, err);
    }
    crash_point("move:linked");
    if (::rename(building_path.c_str(), names.path.c_str()) != 0) {
      int err = errno;
      ::unlink(building_path.c_str());
      ::unlink(names.prev_path.c_str());
      throw_sys("rename " + building_path + " to " + names.path, err);
    }
    crash_point("move:renamed");
    tell_readers_moved(old_fd);
    crash_point("move:marked");
    ::unlink(names.prev_path.c_str());
  }

  // Finishes a move a crash interrupted: the object left at .prev must tell its readers.
  void settle_prev() {
    auto prev = shm_inode(names.prev_shm);
    if (!prev) return;
    if (attached && *prev != attached->mapping.inode()) {
      try {
        ShmMapping m = ShmMapping::open_read_write(names.prev_shm);
        auto* h = static_cast<SegmentHeader*>(m.address());
        validate_header(*h, m);
        mark_moved(*h);
        event("finished an interrupted move: readers of the old " + names.path +
              " were told to reopen it");
      } catch (const NotFound&) {
      } catch (const Error& e) {
        event("removing unreadable " + names.prev_path + ": " + e.what());
      }
    }
    ::unlink(names.prev_path.c_str());
  }

  // Removes building objects of processes that no longer exist.
  void remove_stale_building() const {
    const std::string prefix = names.building_prefix();
    for (const std::string& n : directory_entries(std::string(kShmDir))) {
      if (!n.starts_with(prefix)) continue;
      long pid = std::atol(n.c_str() + prefix.size());
      if (pid > 0 && pid != ::getpid() && ::kill(static_cast<pid_t>(pid), 0) != 0 &&
          errno == ESRCH) {
        bip::shared_memory_object::remove(n.c_str());
      }
    }
  }

  // The writer died holding the lock: nothing in this object may be written again. Rebuild
  // it from the generations that still verify, and move readers to the rebuilt one.
  void recover_from_dead_writer() {
    OfdLock recovery(attached->mapping.fd(), "segment " + names.path + " for recovery",
                     options.wait_for_lock ? OfdLock::Wait::until_held : OfdLock::Wait::no);
    if (!recovery.held()) {
      throw WriterLockBusy("segment " + names.path + " is being recovered by another process", 0);
    }
    if (attached->header->moved.load(std::memory_order_acquire) != 0 ||
        shm_inode(names.shm) != attached->mapping.inode()) {
      let_go();  // another process recovered it meanwhile
      return;
    }
    const SegmentHeader& h = *attached->header;
    // The active slot is whole whatever the writer was doing (common/segment/layout.hpp), so it is
    // the generation readers have been served: it stays the current one.
    const Slot& active = h.slots[h.version.load(std::memory_order_acquire) & 1];
    const std::uint64_t active_gen = active.generation.load(std::memory_order_relaxed);
    std::map<std::uint64_t, Record> kept;
    if (active_gen != 0) {
      auto r =
          read_record(*attached, active_gen, active.record_offset.load(std::memory_order_relaxed),
                      active.record_size.load(std::memory_order_relaxed));
      if (r) kept.emplace(active_gen, std::move(*r));
    }
    const std::uint64_t count = std::min<std::uint64_t>(h.history_count, kMaxHistory);
    for (std::uint64_t i = 0; i < count; ++i) {
      const HistoryEntry& e = h.history[i];
      if (e.generation == 0 || e.generation > active_gen || kept.count(e.generation)) continue;
      if (auto r = read_record(*attached, e.generation, e.record_offset, e.record_size)) {
        kept.emplace(e.generation, std::move(*r));
      }
    }
    std::vector<Record> records;
    for (auto& [gen, r] : kept) records.push_back(std::move(r));
    if (records.size() > history()) records.erase(records.begin(), records.end() - history());
    // Generations stay monotonic: a number the dead writer handed out is never reused.
    const std::uint64_t last = std::max(h.last_generation, active_gen);
    std::unique_ptr<Attached> rebuilt;
    try {
      rebuilt = build_fitting(records, attached->mapping.size(), last);
    } catch (const OutOfSpace& e) {
      throw RecoveryBlocked("unable to recover segment " + names.path +
                            " after its writer died: the rebuilt segment needs " +
                            std::to_string(e.needed) + " bytes of " + std::string(kShmDir) + ", " +
                            std::to_string(e.available) + " are free; readers keep generation " +
                            std::to_string(active_gen) + ", and the next publish tries again");
    }
    move_to(std::move(rebuilt));
    event("recovered segment " + names.path +
          " after its writer died mid-publish: " + std::to_string(records.size()) +
          " generation(s) kept, current generation " + std::to_string(active_gen));
  }

  std::uint64_t publish_locked(Attached& a, std::string_view text, std::string_view source,
                               std::uint64_t at_least) {
    crash_point("publish:locked");
    SegmentHeader& h = *a.header;
    const std::uint64_t generation =
        std::max(std::max(h.last_generation, last_published) + 1, at_least);
    const std::uint64_t published_at = now_realtime_ns();
    std::string bytes = make_record_bytes(generation, published_at,
                                          static_cast<std::uint64_t>(::getpid()), source, text);
    if (a.mapping.faulted()) throw WriteFaulted("segment " + names.path + " was truncated");
    void* p = guarded_allocate(a.heap, bytes.size(), names.path);
    if (p == nullptr) return grow_and_publish(a, bytes, generation);
    last_published = generation;
    crash_point("publish:allocated");
    const std::size_t half = round_up8(bytes.size() / 2);
    copy_to_shared(p, bytes.data(), half);
    crash_point("publish:half-filled");
    copy_to_shared(static_cast<char*>(p) + half, bytes.data() + half, bytes.size() - half);
    h.last_generation = generation;
    crash_point("publish:filled");

    const HistoryEntry entry{
        generation, static_cast<std::uint64_t>(static_cast<char*>(p) - a.base()), bytes.size()};
    RecordHeader rh{};
    std::memcpy(&rh, bytes.data(), sizeof rh);
    const std::uint64_t v = h.version.load(std::memory_order_relaxed);
    write_slot(h.slots[(v + 1) & 1], entry, rh.checksum);
    crash_point("publish:slot-written");
    // Release: a reader that sees v + 1 sees the slot and the record whole.
    h.version.store(v + 1, std::memory_order_release);
    // Orders the flip before every later store a reader could observe (the next publish
    // reuses freed records): a reader whose copy saw such a store then sees a newer version.
    std::atomic_thread_fence(std::memory_order_release);
    crash_point("publish:flipped");
    h.change_futex.fetch_add(1, std::memory_order_release);
    futex_wake_all(&h.change_futex);
    crash_point("publish:woken");
    current_record = Record{generation, published_at, static_cast<std::uint64_t>(::getpid()),
                            static_cast<std::uint32_t>(rh.checksum), std::move(bytes)};
    // Truncated during this publish: the heap's structures read zeros now, so they are not
    // touched again; the caller replaces the segment (see after_write).
    if (a.mapping.faulted()) return generation;
    push_history(a, entry);
    crash_point("publish:pruned");
    return generation;
  }

  // Records history, then frees what fell out of the window. The entry leaves the array
  // before its record is freed, so a crash in between leaks at most one record.
  void push_history(Attached& a, const HistoryEntry& entry) {
    SegmentHeader& h = *a.header;
    // Overwritten since it was verified: leave it to after_write to replace the segment
    // rather than write or free through hostile values.
    if (header_damage(h, a.mapping.size())) return;
    if (h.history_count == kMaxHistory) drop_oldest(a);
    h.history[h.history_count++] = entry;
    while (h.history_count > history()) drop_oldest(a);
  }

  void drop_oldest(Attached& a) {
    SegmentHeader& h = *a.header;
    const HistoryEntry oldest = h.history[0];
    std::memmove(&h.history[0], &h.history[1], (h.history_count - 1) * sizeof(HistoryEntry));
    --h.history_count;
    if (a.mapping.faulted()) return;
    guarded_deallocate(a.heap, a.base() + oldest.record_offset, names.path);
  }

  std::uint64_t grow_and_publish(Attached& a, const std::string& new_record,
                                 std::uint64_t generation) {
    std::vector<Record> records = kept_records(a);
    RecordHeader rh{};
    std::memcpy(&rh, new_record.data(), sizeof rh);
    Record fresh;
    try {
      fresh = verify_record(new_record, generation, rh.checksum);
    } catch (const Error& e) {
      throw Error(std::string("internal error: new record does not verify: ") + e.what());
    }
    records.push_back(fresh);
    last_published = generation;
    current_record = std::move(fresh);
    while (records.size() > history()) records.erase(records.begin());
    const std::size_t size = page_round(std::max(2 * a.mapping.size(), 2 * size_for(records)));
    crash_point("grow:before-build");
    auto next = build(records, size, generation);
    crash_point("grow:built");
    const std::size_t old_size = a.mapping.size();
    move_to(std::move(next));
    event("segment grown: " + names.path + " " + std::to_string(old_size) + " -> " +
          std::to_string(attached->mapping.size()) + " bytes for generation " +
          std::to_string(generation));
    return generation;
  }

  std::vector<Record> kept_records(const Attached& a) const {
    std::vector<Record> records;
    for (std::uint64_t i = 0; i < a.header->history_count; ++i) {
      const HistoryEntry& e = a.header->history[i];
      if (auto r = read_record(a, e.generation, e.record_offset, e.record_size)) {
        records.push_back(std::move(*r));
      }
    }
    return records;
  }

  // Verifies the segment again after a write: damage done during it (a truncation that
  // faulted, a header overwritten) is replaced at once, so readers get the generation just
  // published.
  void after_write() {
    if (attached) segment_intact();
  }

  // Remembers the active generation of a segment just attached, so a replacement can carry it
  // even if the segment is truncated before this process publishes.
  void remember_active(const Attached& a) {
    const SegmentHeader& h = *a.header;
    const Slot& active = h.slots[h.version.load(std::memory_order_relaxed) & 1];
    current_record = read_record(a, active.generation.load(std::memory_order_relaxed),
                                 active.record_offset.load(std::memory_order_relaxed),
                                 active.record_size.load(std::memory_order_relaxed));
    last_published = std::max(last_published, h.last_generation);
  }

  // Runs a call that only reads the segment. While a recovery is blocked (no room in
  // /dev/shm), it reads the old object without the writer lock: its writer is dead, so
  // nothing changes it.
  template <class Fn>
  auto reading(Fn&& fn) {
    try {
      return with_writer_lock(fn);
    } catch (const RecoveryBlocked&) {
      if (!attached) throw;
      return fn(*attached);
    }
  }

  void on_first_lock(Attached& a) {
    remove_stale_building();
    remember_active(a);
    if (!options.history) {
      const std::uint64_t existing = a.header->history_limit;
      options.history = existing >= 1 && existing <= kMaxHistory ? static_cast<unsigned>(existing)
                                                                 : kDefaultHistory;
    }
    a.header->history_limit = *options.history;
    while (a.header->history_count > *options.history) drop_oldest(a);
  }
};

Publisher::Publisher(PublisherOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  try {
    impl_->with_writer_lock([](Attached&) {});
  } catch (const WriterLockBusy&) {
    if (impl_->options.wait_for_lock) throw;
  } catch (const RecoveryBlocked& e) {
    // Still a publisher: readers keep the current generation, reads work, and every later
    // call that wants the writer lock tries the recovery again.
    impl_->event(e.what());
    if (impl_->attached) impl_->remember_active(*impl_->attached);
  }
}

Publisher::~Publisher() = default;
Publisher::Publisher(Publisher&&) noexcept = default;
Publisher& Publisher::operator=(Publisher&&) noexcept = default;

std::uint64_t Publisher::publish(std::string_view json, std::string_view source) {
  return publish_serialized(minify(json), source);
}

std::uint64_t Publisher::publish_value(const boost::json::value& json, std::string_view source) {
  return publish_serialized(boost::json::serialize(json), source);
}

std::uint64_t Publisher::publish_serialized(std::string_view text, std::string_view source,
                                            std::uint64_t at_least) {
  constexpr int kAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    try {
      const std::uint64_t generation = impl_->with_writer_lock(
          [&](Attached& a) { return impl_->publish_locked(a, text, source, at_least); });
      impl_->after_write();
      return generation;
    } catch (const WriteFaulted& e) {
      impl_->after_write();  // replaces the truncated segment
      if (attempt == kAttempts) {
        throw Error(std::string("unable to publish: ") + e.what() + ", " +
                    std::to_string(kAttempts) + " times in a row");
      }
    }
  }
}

std::uint64_t Publisher::current_generation() {
  return impl_->reading([](Attached& a) { return Impl::current_generation_of(a); });
}

std::vector<GenerationInfo> Publisher::history() {
  return impl_->reading([&](Attached& a) {
    std::vector<GenerationInfo> out;
    for (const Record& r : impl_->kept_records(a)) out.push_back(info_of(r));
    return out;
  });
}

Generation Publisher::read(std::uint64_t generation) {
  return impl_->reading([&](Attached& a) {
    for (Record& r : impl_->kept_records(a)) {
      if (r.generation == generation) return Generation{info_of(r), std::string(r.text())};
    }
    throw Error("generation " + std::to_string(generation) + " is not kept in segment " +
                impl_->names.path);
  });
}

void Publisher::set_history(unsigned history) {
  Impl::check_history(history);
  impl_->options.history = history;
  impl_->with_writer_lock([&](Attached& a) { a.header->history_limit = history; });
}

std::size_t Publisher::segment_size() {
  return impl_->reading([](Attached& a) { return a.mapping.size(); });
}

bool Publisher::remove(std::string_view segment) {
  SegmentNames names(segment);
  bool removed = bip::shared_memory_object::remove(names.shm.c_str());
  bip::shared_memory_object::remove(names.prev_shm.c_str());
  const std::string prefix = names.building_prefix();
  for (const std::string& n : directory_entries(std::string(kShmDir))) {
    if (n.starts_with(prefix)) bip::shared_memory_object::remove(n.c_str());
  }
  return removed;
}

}  // namespace confvisor
