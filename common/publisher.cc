// Publication, growth and recovery. The protocol itself is described in segment_layout.hpp;
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
//   if the recovering process dies too.

#include "publisher.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <boost/interprocess/indexes/null_index.hpp>
#include <boost/interprocess/managed_external_buffer.hpp>
#include <boost/interprocess/mem_algo/rbtree_best_fit.hpp>
#include <boost/interprocess/sync/mutex_family.hpp>
#include <boost/interprocess/sync/scoped_lock.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstring>
#include <ctime>
#include <map>

#include "crash_point.hpp"
#include "directory.hpp"
#include "error.hpp"
#include "futex.hpp"
#include "ofd_lock.hpp"
#include "record.hpp"
#include "segment_layout.hpp"
#include "segment_name.hpp"
#include "segment_view.hpp"
#include "shared_copy.hpp"
#include "shm_mapping.hpp"
#include "unique_fd.hpp"

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

// Copies and verifies a record this process can see without racing a writer (it holds the
// writer lock, or the writer is dead). Returns nullopt with `why` set if it does not verify.
std::optional<Record> read_record(const Attached& a, std::uint64_t generation, std::uint64_t offset,
                                  std::uint64_t size, std::string& why) {
  if (!record_in_bounds(*a.header, a.mapping.size(), offset, size)) {
    why = "out of bounds";
    return std::nullopt;
  }
  std::string bytes(size, '\0');
  std::memcpy(bytes.data(), a.base() + offset, size);
  RecordHeader rh{};
  std::memcpy(&rh, bytes.data(), sizeof rh);
  Record record;
  why = verify_record(std::move(bytes), generation, rh.checksum, record);
  if (!why.empty()) return std::nullopt;
  return record;
}

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
  opts.max_depth = 10'000;
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
  WriterLock(SegmentHeader& h, bool wait) : h_(h) {
    if (wait) {
      h_.writer_mutex.lock();
      held_ = true;
    } else {
      held_ = h_.writer_mutex.try_lock();
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

// The first 4 KiB of a /proc file, or "" if it cannot be read.
std::string read_proc_file(const std::string& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  char buffer[4096];
  const ssize_t n = fd ? ::read(fd.get(), buffer, sizeof buffer) : -1;
  return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
}

// "4242 (confvisorctl, stopped)": the pid, with its command name and whether it is stopped
// when /proc says (the usual reason a writer lock stays held: a publish suspended by Ctrl-Z).
std::string describe_process(pid_t pid) {
  std::string out = std::to_string(pid);
  const std::string stat = read_proc_file("/proc/" + out + "/stat");
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

  explicit Impl(PublisherOptions o) : options(std::move(o)), names(options.segment) {
    if (options.history) check_history(*options.history);
    options.initial_size = std::max(page_round(options.initial_size), kMinSegmentSize);
  }

  unsigned history() const { return options.history.value_or(kDefaultHistory); }

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
      if (!attached) continue;
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
        attached.reset();
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
    mark_moved(*attached->header);
    crash_point("move:marked");
    ::unlink(names.prev_path.c_str());
    retired = std::move(attached);
    attached = std::move(next);
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
      attached.reset();  // another process recovered it meanwhile
      return;
    }
    const SegmentHeader& h = *attached->header;
    // The active slot is whole whatever the writer was doing (segment_layout.hpp), so it is
    // the generation readers have been served: it stays the current one.
    const Slot& active = h.slots[h.version.load(std::memory_order_acquire) & 1];
    const std::uint64_t active_gen = active.generation.load(std::memory_order_relaxed);
    std::map<std::uint64_t, Record> kept;
    std::string why;
    if (active_gen != 0) {
      auto r =
          read_record(*attached, active_gen, active.record_offset.load(std::memory_order_relaxed),
                      active.record_size.load(std::memory_order_relaxed), why);
      if (r) kept.emplace(active_gen, std::move(*r));
    }
    const std::uint64_t count = std::min<std::uint64_t>(h.history_count, kMaxHistory);
    for (std::uint64_t i = 0; i < count; ++i) {
      const HistoryEntry& e = h.history[i];
      if (e.generation == 0 || e.generation > active_gen || kept.count(e.generation)) continue;
      if (auto r = read_record(*attached, e.generation, e.record_offset, e.record_size, why)) {
        kept.emplace(e.generation, std::move(*r));
      }
    }
    std::vector<Record> records;
    for (auto& [gen, r] : kept) records.push_back(std::move(r));
    if (records.size() > history()) records.erase(records.begin(), records.end() - history());
    // Generations stay monotonic: a number the dead writer handed out is never reused.
    const std::uint64_t last = std::max(h.last_generation, active_gen);
    const std::size_t size = std::max(attached->mapping.size(), page_round(2 * size_for(records)));
    auto rebuilt = build(records, size, last);
    move_to(std::move(rebuilt));
    event("recovered segment " + names.path +
          " after its writer died mid-publish: " + std::to_string(records.size()) +
          " generation(s) kept, current generation " + std::to_string(active_gen));
  }

  std::uint64_t publish_locked(Attached& a, std::string_view text, std::string_view source) {
    crash_point("publish:locked");
    SegmentHeader& h = *a.header;
    const std::uint64_t generation = h.last_generation + 1;
    std::string bytes = make_record_bytes(generation, now_realtime_ns(),
                                          static_cast<std::uint64_t>(::getpid()), source, text);
    void* p = a.heap.allocate(bytes.size(), std::nothrow);
    if (p == nullptr) return grow_and_publish(a, bytes, generation);
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
    push_history(a, entry);
    crash_point("publish:pruned");
    return generation;
  }

  // Records history, then frees what fell out of the window. The entry leaves the array
  // before its record is freed, so a crash in between leaks at most one record.
  void push_history(Attached& a, const HistoryEntry& entry) {
    SegmentHeader& h = *a.header;
    if (h.history_count == kMaxHistory) drop_oldest(a);
    h.history[h.history_count++] = entry;
    while (h.history_count > history()) drop_oldest(a);
  }

  void drop_oldest(Attached& a) {
    SegmentHeader& h = *a.header;
    const HistoryEntry oldest = h.history[0];
    std::memmove(&h.history[0], &h.history[1], (h.history_count - 1) * sizeof(HistoryEntry));
    --h.history_count;
    a.heap.deallocate(a.base() + oldest.record_offset);
  }

  std::uint64_t grow_and_publish(Attached& a, const std::string& new_record,
                                 std::uint64_t generation) {
    std::vector<Record> records = kept_records(a);
    Record fresh;
    RecordHeader rh{};
    std::memcpy(&rh, new_record.data(), sizeof rh);
    std::string why = verify_record(new_record, generation, rh.checksum, fresh);
    if (!why.empty()) throw Error("internal error: new record does not verify: " + why);
    records.push_back(std::move(fresh));
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
    std::string why;
    for (std::uint64_t i = 0; i < a.header->history_count; ++i) {
      const HistoryEntry& e = a.header->history[i];
      if (auto r = read_record(a, e.generation, e.record_offset, e.record_size, why)) {
        records.push_back(std::move(*r));
      }
    }
    return records;
  }

  void on_first_lock(Attached& a) {
    remove_stale_building();
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
  }
}

Publisher::~Publisher() = default;
Publisher::Publisher(Publisher&&) noexcept = default;
Publisher& Publisher::operator=(Publisher&&) noexcept = default;

std::uint64_t Publisher::publish(std::string_view json, std::string_view source) {
  const std::string text = minify(json);
  return impl_->with_writer_lock(
      [&](Attached& a) { return impl_->publish_locked(a, text, source); });
}

std::uint64_t Publisher::publish_value(const boost::json::value& json, std::string_view source) {
  return publish_serialized(boost::json::serialize(json), source);
}

std::uint64_t Publisher::publish_serialized(std::string_view text, std::string_view source) {
  return impl_->with_writer_lock(
      [&](Attached& a) { return impl_->publish_locked(a, text, source); });
}

std::uint64_t Publisher::current_generation() {
  return impl_->with_writer_lock([](Attached& a) {
    const SegmentHeader& h = *a.header;
    return h.slots[h.version.load(std::memory_order_relaxed) & 1].generation.load(
        std::memory_order_relaxed);
  });
}

std::vector<GenerationInfo> Publisher::history() {
  return impl_->with_writer_lock([&](Attached& a) {
    std::vector<GenerationInfo> out;
    for (const Record& r : impl_->kept_records(a)) out.push_back(info_of(r));
    return out;
  });
}

Generation Publisher::read(std::uint64_t generation) {
  return impl_->with_writer_lock([&](Attached& a) {
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
  return impl_->with_writer_lock([](Attached& a) { return a.mapping.size(); });
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
