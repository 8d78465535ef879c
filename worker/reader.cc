// The worker's side of the segment protocol (common/segment/layout.hpp).
//
// The hot path. Each thread keeps, per Reader, the snapshot it last got, the version word of
// the view it was read from and the value that word had then. current() loads that word and
// compares it. That is one load from a cache line every core holds in shared state, so
// readers on any number of threads never contend. Only when the version moved does a thread take
// the Reader's mutex to copy, verify and parse the new generation, once for all threads.
//
// Mappings: the slot holds a reference to its view, so the word it loads stays mapped
// without the hot path touching the Reader's state. A view the name no longer leads to is
// unmapped (fd closed) when the last slot holding it moves on: every slot does at its
// thread's next current(), since a move bumps the old view's version. Snapshots own copies
// of their bytes and pin no mapping.

#include <poll.h>
#include <sys/inotify.h>

#include <cstdlib>
#include <mutex>
#include <thread>

#include "common/base/error.hpp"
#include "common/os/unique_fd.hpp"
#include "common/segment/futex.hpp"
#include "common/segment/mapping_fault.hpp"
#include "common/segment/view.hpp"
#include "confvisor/worker.hpp"
#include "worker/report_sender.hpp"
#include "worker/snapshot_data.hpp"

namespace confvisor {

namespace {

// The word of a slot that must miss: no version word is ever compared equal to it with the
// slot's version 0 (kFaultedVersion is never stored by a publisher).
constinit const std::atomic<std::uint64_t> kMissWord{kFaultedVersion};

// While the segment is truncated under a reader, how often it looks for a replacement (at
// most; only from calls the program makes anyway).
constexpr auto kFaultedLookInterval = std::chrono::milliseconds(20);
// While waiting for a replacement, how long one sleep lasts at most (a cancelled
// subscription is seen within this).
constexpr auto kFaultedWaitSlice = std::chrono::milliseconds(100);

}  // namespace

struct Reader::State {
  explicit State(std::string_view segment)
      : names(segment), view(std::make_shared<const SegmentView>(names)) {}

  std::shared_ptr<const SegmentView> current_view() {
    std::lock_guard lock(mu);
    return view;
  }

  SegmentNames names;
  const std::uint64_t id = next_id();  // keys the thread-local caches; never reused

  std::mutex mu;  // guards everything below
  // The view the name led to last. Older views live on only in thread cache slots.
  std::shared_ptr<const SegmentView> view;
  Snapshot latest;
  // Which `latest` this is: a replaced segment may number its generations anew, so a change
  // is told by the record's checksum too, and counted here for wait_until_changed.
  std::uint32_t latest_checksum = 0;
  std::uint64_t latest_serial = 0;
  std::shared_ptr<const SegmentView> latest_view;
  std::uint64_t latest_version = 0;
  std::string last_error;
  // While `view` is marked moved but could not be followed: when to look again.
  std::chrono::steady_clock::time_point next_look{};

  static std::uint64_t next_id() {
    static std::atomic<std::uint64_t> counter{0};
    return ++counter;
  }
};

// A thread's cached snapshot of one reader. `word` and `version` are set only together
// with a snapshot, so a match means the snapshot is there; `view` keeps `word` mapped.
struct Reader::CacheSlot {
  std::uint64_t reader_id = 0;
  const std::atomic<std::uint64_t>* word = &kMissWord;
  std::uint64_t version = 0;
  Snapshot snapshot;
  std::uint64_t serial = 0;  // State::latest_serial of `snapshot`
  std::shared_ptr<const SegmentView> view;
};

namespace {

constexpr std::size_t kCacheSlots = 4;  // readers one thread alternates between cheaply

// The slots live on the heap behind a plain thread_local pointer: a thread_local of a type
// with a destructor is reached through an init-guard call on every access, a plain pointer
// with one %fs-relative load. The owner below frees them when the thread exits.
struct ThreadCache {
  Reader::CacheSlot slots[kCacheSlots];
  std::size_t next_victim = 0;
};
// The TLS model is initial-exec. In libconfvisor.so the default model (local-dynamic here)
// makes every access a call to __tls_get_addr, and current() through the shared library
// measured 6-7 ns; with initial-exec it measured 4 ns (2.5-3 ns statically linked either way).
// Initial-exec is one GOT load plus the %fs-relative load; in an executable the linker turns it
// into a constant offset. It needs the library's TLS (this pointer, the owner below, c_api's
// message: 72 bytes) in the static TLS block. A program linked with the library always has it
// there; a dlopen()ed libconfvisor.so (say a Python binding through ctypes) takes it from glibc's
// static TLS surplus (512 bytes by default; the GLIBC_TUNABLES glibc.rtld.optional_static_tls
// raises it), so only a process that has used that up fails to dlopen it.
__attribute__((tls_model("initial-exec"))) thread_local ThreadCache* thread_cache = nullptr;

ThreadCache& this_thread_cache() {
  thread_local std::unique_ptr<ThreadCache> owner;
  if (thread_cache == nullptr) {
    owner = std::make_unique<ThreadCache>();
    thread_cache = owner.get();
  }
  return *thread_cache;
}

// The slot for `reader_id`, moved to the front so the hot path finds it first.
Reader::CacheSlot& cache_slot(std::uint64_t reader_id) {
  ThreadCache& cache = this_thread_cache();
  for (auto& slot : cache.slots) {
    if (slot.reader_id == reader_id) {
      std::swap(slot, cache.slots[0]);
      return cache.slots[0];
    }
  }
  Reader::CacheSlot& victim = cache.slots[1 + cache.next_victim++ % (kCacheSlots - 1)];
  victim = Reader::CacheSlot{};
  victim.reader_id = reader_id;
  std::swap(victim, cache.slots[0]);
  return cache.slots[0];
}

// While the current view is marked moved, map whatever now has the name. The same inode
// means a move was begun but not finished (its publisher died): stay, its content is good.
// A faulted view reads as moved too (common/segment/mapping_fault.hpp). A view still marked moved
// after a look (the name led nowhere readable: a replacement was itself damaged, or not there yet)
// is looked at again no more often than kFaultedLookInterval.
void follow_moves(Reader::State& s) {
  for (int hop = 0; hop < 8; ++hop) {
    const SegmentView& cur = *s.view;
    if (!cur.moved()) return;
    const auto now = std::chrono::steady_clock::now();
    if (now < s.next_look) return;
    s.next_look = now + kFaultedLookInterval;
    auto next = std::make_shared<const SegmentView>(s.names);
    if (next->mapping().inode() == cur.mapping().inode()) return;
    s.view = std::move(next);
  }
}

// Sleeps until an entry is created or renamed into /dev/shm (a publisher putting a new
// segment under the name does one of the two) or `limit` passes. Returns whether one was.
bool wait_for_shm_entry(std::chrono::nanoseconds limit) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(limit).count() + 1;
  UniqueFd fd(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!fd ||
      ::inotify_add_watch(fd.get(), std::string(kShmDir).c_str(), IN_CREATE | IN_MOVED_TO) < 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return true;
  }
  pollfd p{fd.get(), POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(ms)) > 0;
}

}  // namespace

Reader::Reader(std::string_view segment) : state_(std::make_shared<State>(segment)) {}
Reader::Reader(std::shared_ptr<State> state) noexcept : state_(std::move(state)) {}
// This thread's slot goes with the Reader, and with it the slot's hold on a mapping. Other
// threads' slots let theirs go when evicted or when the thread exits.
Reader::~Reader() {
  if (!state_ || thread_cache == nullptr) return;
  for (CacheSlot& slot : thread_cache->slots) {
    if (slot.reader_id == state_->id) slot = CacheSlot{};
  }
}
Reader::Reader(Reader&&) noexcept = default;
Reader& Reader::operator=(Reader&&) noexcept = default;

Reader Reader::from_env() {
  const char* segment = std::getenv("CONFVISOR_SEGMENT");
  if (segment == nullptr || *segment == '\0') {
    throw Error("CONFVISOR_SEGMENT is not set: run under confvisord, or name the segment");
  }
  return Reader(segment);
}

const char* report_result_name(ReportResult result) noexcept {
  switch (result) {
    case ReportResult::sent:
      return "sent";
    case ReportResult::unsupervised:
      return "unsupervised";
    case ReportResult::dropped:
      return "dropped";
  }
  return "?";
}

ReportResult Reader::report_applied(const Snapshot& snapshot) const {
  if (!snapshot) throw Error("report_applied: the snapshot is empty (no generation)");
  return send_report({snapshot.generation(), true, ""}).result;
}

ReportResult Reader::report_rejected(const Snapshot& snapshot, std::string_view reason) const {
  if (!snapshot) throw Error("report_rejected: the snapshot is empty (no generation)");
  return send_report({snapshot.generation(), false, std::string(reason)}).result;
}

const std::string& Reader::segment() const noexcept {
  return state_->names.name;
}

std::string Reader::last_error() const {
  std::lock_guard lock(state_->mu);
  return state_->last_error;
}

const Snapshot& Reader::current() {
  const std::uint64_t id = state_->id;
  if (const ThreadCache* cache = thread_cache) [[likely]] {
    const CacheSlot& slot = cache->slots[0];
    // Acquire could be relaxed: "equal" only says our private copy is still that version.
    // It costs nothing more on x86-64 and keeps the reasoning local.
    if (slot.reader_id == id && slot.word->load(std::memory_order_acquire) == slot.version)
        [[likely]] {
      return slot.snapshot;
    }
  }
  return refresh(cache_slot(id));
}

const Snapshot& Reader::refresh(CacheSlot& slot) {
  State& s = *state_;
  std::lock_guard lock(s.mu);
  // Load the version before asking whether the view moved: a move sets `moved`, then bumps
  // `version` (release), so a version that includes the bump guarantees follow_moves sees
  // `moved`. Asked the other way round, a move between the two loads would cache the moved
  // view's last version as current, and this reader would never look again.
  std::shared_ptr<const SegmentView> view;
  std::uint64_t v = 0;
  do {
    view = s.view;
    v = view->version();
    try {
      follow_moves(s);
    } catch (const Error& e) {
      s.last_error = view->faulted()
                         ? "segment " + s.names.path +
                               " was truncated while mapped, and has no replacement "
                               "yet: " +
                               e.what()
                         : std::string("unable to follow the moved segment: ") + e.what();
    }
  } while (s.view != view);
  if (s.latest_view != view || s.latest_version != v) {
    // Remember the attempt either way: a corrupt generation is not re-read on every call,
    // only once the version moves again.
    s.latest_view = view;
    s.latest_version = v;
    try {
      // The copy may be of a newer version than v (a move's bump included): remember v all
      // the same, since only v was loaded before follow_moves looked at `moved`.
      if (auto record = view->read_current()) {
        if (record->generation != s.latest.generation() || record->checksum != s.latest_checksum) {
          const std::uint32_t checksum = record->checksum;
          s.latest = make_snapshot(std::move(*record));
          s.latest_checksum = checksum;
          ++s.latest_serial;
        }
      }
      s.last_error.clear();
    } catch (const Error& e) {
      s.last_error = e.what();
    }
  }
  if (!s.latest) {
    throw Error(s.last_error.empty()
                    ? "segment " + s.names.path + " has no published generation yet"
                    : s.last_error);
  }
  slot.snapshot = s.latest;
  slot.serial = s.latest_serial;
  slot.view = view;
  if (view->moved()) {
    // Still on a view the name has left (or that faulted): its version word may never
    // change again, so miss on every call, and each one may look for the replacement
    // (follow_moves paces the looks).
    slot.word = &kMissWord;
    slot.version = 0;
  } else {
    slot.word = &view->header().version;
    slot.version = v;
  }
  return slot.snapshot;
}

bool Reader::wait_for_change(std::chrono::nanoseconds timeout) {
  return wait_until_changed(timeout, nullptr);
}

bool Reader::wait_until_changed(std::chrono::nanoseconds timeout, const std::atomic<bool>* cancel) {
  using clock = std::chrono::steady_clock;
  const bool forever = timeout.count() < 0;
  const auto deadline = forever ? clock::time_point::max() : clock::now() + timeout;
  const std::uint64_t seen = cache_slot(state_->id).serial;
  for (;;) {
    // Held for the whole round: the futex word below stays mapped while we sleep on it.
    const std::shared_ptr<const SegmentView> view = state_->current_view();
    const auto* word = &view->header().change_futex;
    // Load the futex word before looking: a publish after this load changes the word, so
    // the wait below returns at once instead of missing it.
    const std::uint32_t expected = word->load(std::memory_order_acquire);
    try {
      current();
      if (cache_slot(state_->id).serial != seen) return true;
    } catch (const Error&) {
      // Nothing readable yet: wait for the first publish.
    }
    if (cancel && cancel->load(std::memory_order_acquire)) return false;
    if (state_->current_view() != view) continue;  // followed a move
    std::chrono::nanoseconds left{-1};
    if (!forever) {
      left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - clock::now());
      if (left.count() <= 0) return false;
    }
    if (view->moved()) {
      // Nobody wakes the futex of a segment the name has left: wait for a new entry in
      // /dev/shm (the replacement) instead.
      const std::chrono::nanoseconds slice = kFaultedWaitSlice;
      if (wait_for_shm_entry(forever ? slice : std::min(left, slice))) {
        std::lock_guard lock(state_->mu);
        state_->next_look = {};
      }
      continue;
    }
    futex_wait(word, expected, left);
  }
}

struct Reader::Subscription::State {
  std::atomic<bool> stop{false};
  std::atomic<bool> done{false};
  std::shared_ptr<Reader::State> reader;
  std::thread thread;
};

Reader::Subscription Reader::on_change(std::function<void(const Snapshot&)> callback) {
  Subscription sub;
  sub.state_ = std::make_shared<Subscription::State>();
  sub.state_->reader = state_;
  sub.state_->thread =
      std::thread([st = sub.state_.get(), reader_state = state_, cb = std::move(callback)] {
        Reader reader(reader_state);
        std::uint64_t delivered = 0;
        while (!st->stop.load(std::memory_order_acquire)) {
          try {
            const Snapshot& snap = reader.current();
            if (snap.generation() != delivered) {
              delivered = snap.generation();
              cb(snap);
            }
          } catch (const std::exception& e) {
            std::lock_guard lock(reader_state->mu);
            if (reader_state->last_error.empty()) reader_state->last_error = e.what();
          }
          reader.wait_until_changed(std::chrono::nanoseconds(-1), &st->stop);
        }
        st->done.store(true, std::memory_order_release);
      });
  return sub;
}

void Reader::Subscription::stop() {
  if (!state_) return;
  state_->stop.store(true, std::memory_order_release);
  // The thread may have checked `stop` just before going to sleep on the segment's futex,
  // so wake it until it is out. This loop runs only while unsubscribing.
  while (!state_->done.load(std::memory_order_acquire)) {
    futex_wake_all(&state_->reader->current_view()->header().change_futex);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (state_->thread.joinable()) state_->thread.join();
  state_.reset();
}

Reader::Subscription::~Subscription() {
  stop();
}
Reader::Subscription::Subscription(Subscription&&) noexcept = default;
Reader::Subscription& Reader::Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    stop();
    state_ = std::move(other.state_);
  }
  return *this;
}

}  // namespace confvisor
