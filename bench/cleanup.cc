#include "bench/cleanup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <stdexcept>

#include "common/publish/publisher.hpp"
#include "common/segment/name.hpp"

namespace confvisor::bench {

namespace {

// The handler may only use async-signal-safe calls, so registrations live in fixed storage
// it can walk without locks or allocation. A slot is published by its `used` flag
// (release) after its path is written, and the handler reads the flag with acquire.
constexpr std::size_t kSlots = 64;
constexpr std::size_t kPathMax = 256;

struct Slot {
  std::atomic<bool> used{false};
  PathKind kind = PathKind::kFile;
  char path[kPathMax];
};
std::array<Slot, kSlots> g_slots;

// Processes to kill first: a handful of daemons at most. 0 is a free slot.
constexpr std::size_t kPidSlots = 8;
std::array<std::atomic<pid_t>, kPidSlots> g_pids{};

// Every signal whose default action ends the run; SIGPIPE too: `confvisor-bench | head`.
constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE};

// Unlinks every entry of the directory `path`, then the directory. One level is enough: a
// run's directory holds files and sockets only. open(2), getdents64(2), unlinkat(2) and
// rmdir(2) are system calls, safe in a signal handler, where opendir(3) and readdir(3) are not.
void remove_directory(const char* path) {
  const int fd = ::open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    alignas(dirent64) char buf[4096];
    for (ssize_t n; (n = ::getdents64(fd, buf, sizeof buf)) > 0;) {
      for (ssize_t at = 0; at < n;) {
        const auto* entry = reinterpret_cast<const dirent64*>(buf + at);
        const char* name = entry->d_name;
        const bool dots =
            name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
        if (!dots) ::unlinkat(fd, name, 0);
        at += entry->d_reclen;
      }
    }
    ::close(fd);
  }
  ::rmdir(path);
}

// The one handler in the bench that does work: the run is over either way, and there is no
// event loop to hand the signal to. kill(2), waitpid(2), unlink(2) and raise(3) are
// async-signal-safe, and so is remove_directory. Processes go first (a daemon must not
// recreate what is unlinked), then files, then directories with what is left in them.
void on_fatal_signal(int sig) {
  for (std::atomic<pid_t>& slot : g_pids) {
    const pid_t pid = slot.load(std::memory_order_acquire);
    if (pid <= 0) continue;
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  for (PathKind kind : {PathKind::kFile, PathKind::kDirectory}) {
    for (Slot& slot : g_slots) {
      if (!slot.used.load(std::memory_order_acquire) || slot.kind != kind) continue;
      if (kind == PathKind::kFile) {
        ::unlink(slot.path);
      } else {
        remove_directory(slot.path);
      }
    }
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

void install_signal_cleanup() {
  struct sigaction sa {};
  sa.sa_handler = on_fatal_signal;
  ::sigemptyset(&sa.sa_mask);
  for (int sig : kSignals) ::sigaddset(&sa.sa_mask, sig);  // one cleanup at a time
  for (int sig : kSignals) {
    if (::sigaction(sig, &sa, nullptr) != 0) {
      throw std::runtime_error(std::string("unable to install a handler for signal ") +
                               std::to_string(sig) + ": " + std::strerror(errno));
    }
  }
}

UnlinkOnSignal::UnlinkOnSignal(const std::string& path, PathKind kind) {
  if (path.size() >= kPathMax) throw std::runtime_error("path too long to register: " + path);
  // Only the main thread registers, so finding a free slot needs no compare-and-swap.
  for (std::size_t i = 0; i < kSlots; ++i) {
    if (!g_slots[i].used.load(std::memory_order_relaxed)) {
      g_slots[i].kind = kind;
      std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
      g_slots[i].used.store(true, std::memory_order_release);
      slot_ = static_cast<int>(i);
      return;
    }
  }
  throw std::runtime_error("more than " + std::to_string(kSlots) + " paths to clean up");
}

UnlinkOnSignal::~UnlinkOnSignal() {
  if (slot_ >= 0)
    g_slots[static_cast<std::size_t>(slot_)].used.store(false, std::memory_order_release);
}

UnlinkOnSignal::UnlinkOnSignal(UnlinkOnSignal&& other) noexcept : slot_(other.slot_) {
  other.slot_ = -1;
}

UnlinkOnSignal& UnlinkOnSignal::operator=(UnlinkOnSignal&& other) noexcept {
  if (this != &other) {
    if (slot_ >= 0)
      g_slots[static_cast<std::size_t>(slot_)].used.store(false, std::memory_order_release);
    slot_ = other.slot_;
    other.slot_ = -1;
  }
  return *this;
}

KillOnSignal::KillOnSignal(pid_t pid) {
  for (std::size_t i = 0; i < kPidSlots; ++i) {
    if (g_pids[i].load(std::memory_order_relaxed) == 0) {
      g_pids[i].store(pid, std::memory_order_release);
      slot_ = static_cast<int>(i);
      return;
    }
  }
  throw std::runtime_error("more than " + std::to_string(kPidSlots) + " processes to kill");
}

KillOnSignal::~KillOnSignal() {
  if (slot_ >= 0) g_pids[static_cast<std::size_t>(slot_)].store(0, std::memory_order_release);
}

KillOnSignal::KillOnSignal(KillOnSignal&& other) noexcept : slot_(other.slot_) {
  other.slot_ = -1;
}

KillOnSignal& KillOnSignal::operator=(KillOnSignal&& other) noexcept {
  if (this != &other) {
    if (slot_ >= 0) g_pids[static_cast<std::size_t>(slot_)].store(0, std::memory_order_release);
    slot_ = other.slot_;
    other.slot_ = -1;
  }
  return *this;
}

BenchDir::BenchDir(std::string_view tag)
    : TempDir("bench-" + std::to_string(::getpid()) + "-" + std::string(tag)),
      cleanup_(path(), PathKind::kDirectory) {}

BenchSegment::BenchSegment(std::string_view tag) : guard_(tag, "bench") {
  const SegmentNames names(name());  // validates the name
  current_ = UnlinkOnSignal(names.path);
  prev_ = UnlinkOnSignal(names.prev_path);
  building_ = UnlinkOnSignal(std::string(kShmDir) + names.building_shm(::getpid()));
  lock_ = UnlinkOnSignal(lock_path());
  // A leftover of an earlier run that had this pid would otherwise be opened, not created.
  ::unlink(lock_path().c_str());
  Publisher::remove(name());
}

PublisherOptions BenchSegment::publisher_options(std::size_t config_bytes) const {
  // The daemon's default window, set explicitly: the segment size below depends on it.
  constexpr std::size_t kHistory = 8;
  PublisherOptions options;
  options.segment = name();
  options.history = kHistory;
  // Records carry a header and the source path; the heap wastes some to fragmentation.
  // Twice the history plus the generation being built is ample.
  const std::size_t record = config_bytes + 4096;
  options.initial_size = std::max(options.initial_size, 2 * (kHistory + 1) * record);
  return options;
}

void BenchSegment::add_publisher(pid_t pid) {
  other_building_ = UnlinkOnSignal(std::string(kShmDir) + SegmentNames(name()).building_shm(pid));
}

std::string BenchSegment::lock_path() const {
  return SegmentNames(name()).path + ".lock";
}

}  // namespace confvisor::bench
