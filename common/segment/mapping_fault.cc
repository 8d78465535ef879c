#include "common/segment/mapping_fault.hpp"

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <utility>

#include "common/base/error.hpp"
#include "common/segment/layout.hpp"

namespace confvisor {

namespace {

// Plenty for the mappings one process holds at once: a reader maps one segment per Reader
// (two for a moment while it follows a move), a publisher two.
constexpr int kMaxRanges = 256;

// Read by the signal handler, so only lock-free atomics. `begin` is stored last on
// registration and cleared first on release, so the handler never sees a half-made entry.
struct Range {
  std::atomic<std::uintptr_t> begin{0};
  std::atomic<std::size_t> size{0};
  std::atomic<bool> faulted{false};
  std::atomic<bool> writable{false};
};

Range ranges[kMaxRanges];
// The run_fault_guarded call of this thread, if any. initial-exec: the handler must not
// reach it through __tls_get_addr.
__attribute__((tls_model("initial-exec"))) thread_local sigjmp_buf* armed = nullptr;
std::mutex registry_mutex;  // serialises registration, never taken by the handler
struct sigaction previous_action {};

void chain(int sig, siginfo_t* info, void* context) {
  if (previous_action.sa_flags & SA_SIGINFO) {
    previous_action.sa_sigaction(sig, info, context);
    return;
  }
  if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN) {
    previous_action.sa_handler(sig);
    return;
  }
  // Default action: restore it and return; the fault repeats and ends the process with
  // SIGBUS as it would have without us (a hardware fault cannot be ignored).
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGBUS, &dfl, nullptr);
}

// Maps zeros over the range and poisons its header (see the header file). Only
// async-signal-safe work: system calls made directly, and plain stores. The calls bypass the
// libc wrappers on purpose: a sanitizer's interceptor of mmap may take locks or touch its
// own bookkeeping, which a signal handler must not.
bool replace(Range& r) {
  const std::uintptr_t begin = r.begin.load(std::memory_order_acquire);
  const std::size_t size = r.size.load(std::memory_order_relaxed);
  const long mapped = ::syscall(SYS_mmap, begin, size, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
  if (mapped == -1) return false;
  void* p = reinterpret_cast<void*>(mapped);
  auto* h = static_cast<SegmentHeader*>(p);
  h->moved.store(1, std::memory_order_relaxed);
  h->version.store(kFaultedVersion, std::memory_order_release);
  if (!r.writable.load(std::memory_order_relaxed)) ::syscall(SYS_mprotect, p, size, PROT_READ);
  r.faulted.store(true, std::memory_order_release);
  return true;
}

void on_sigbus(int sig, siginfo_t* info, void* context) {
  const auto address = reinterpret_cast<std::uintptr_t>(info->si_addr);
  for (Range& r : ranges) {
    const std::uintptr_t begin = r.begin.load(std::memory_order_acquire);
    if (begin == 0 || address < begin || address - begin >= r.size.load(std::memory_order_relaxed))
      continue;
    // Another thread may be replacing it right now: returning repeats the access, which
    // faults again until the replacement is in place.
    if (r.faulted.load(std::memory_order_acquire) || replace(r)) {
      if (armed != nullptr) siglongjmp(*armed, 1);
      return;
    }
    break;
  }
  chain(sig, info, context);
}

// Installs on_sigbus unless it is the handler already, keeping whatever was there to chain
// to. Checked at every registration, not once: a test framework or a program may install
// and later restore handlers of its own around ours.
void ensure_handler() {
  struct sigaction current {};
  if (::sigaction(SIGBUS, nullptr, &current) == 0 && (current.sa_flags & SA_SIGINFO) &&
      current.sa_sigaction == on_sigbus) {
    return;
  }
  struct sigaction action {};
  action.sa_sigaction = on_sigbus;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  if (::sigaction(SIGBUS, &action, &previous_action) != 0) throw_sys("install a SIGBUS handler");
}

}  // namespace

FaultGuard::FaultGuard(void* address, std::size_t size, bool writable) {
  std::lock_guard lock(registry_mutex);
  ensure_handler();
  for (int i = 0; i < kMaxRanges; ++i) {
    Range& r = ranges[i];
    if (r.begin.load(std::memory_order_relaxed) != 0) continue;
    r.size.store(size, std::memory_order_relaxed);
    r.faulted.store(false, std::memory_order_relaxed);
    r.writable.store(writable, std::memory_order_relaxed);
    r.begin.store(reinterpret_cast<std::uintptr_t>(address), std::memory_order_release);
    index_ = i;
    return;
  }
  throw Error("unable to map another segment: " + std::to_string(kMaxRanges) +
              " are mapped in this process already");
}

FaultGuard::~FaultGuard() {
  release();
}

FaultGuard::FaultGuard(FaultGuard&& other) noexcept : index_(std::exchange(other.index_, -1)) {}

FaultGuard& FaultGuard::operator=(FaultGuard&& other) noexcept {
  if (this != &other) {
    release();
    index_ = std::exchange(other.index_, -1);
  }
  return *this;
}

bool FaultGuard::faulted() const noexcept {
  return index_ >= 0 && ranges[index_].faulted.load(std::memory_order_acquire);
}

void FaultGuard::release() noexcept {
  if (index_ < 0) return;
  std::lock_guard lock(registry_mutex);
  ranges[index_].begin.store(0, std::memory_order_release);
  index_ = -1;
}

}  // namespace confvisor

namespace confvisor {

bool run_fault_guarded(void (*fn)(void*), void* arg) {
  sigjmp_buf env;
  sigjmp_buf* const outer = armed;
  if (sigsetjmp(env, 1) != 0) {
    armed = outer;
    return false;
  }
  armed = &env;
  fn(arg);
  armed = outer;
  return true;
}

}  // namespace confvisor
