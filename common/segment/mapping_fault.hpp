// SIGBUS from a shared-memory object truncated while mapped, turned into something a
// process survives.
//
// Truncating a tmpfs object frees its pages: a later load or store through any existing
// mapping of them raises SIGBUS, and named shm objects cannot be sealed against shrinking
// (F_SEAL_SHRINK is for memfds only). So every segment mapping is registered here, and one
// process-wide SIGBUS handler, when the faulting address lies in a registered range, maps
// private zero-filled memory over that whole range, poisons its segment header (version
// set to kFaultedVersion, `moved` set) and returns: the faulting instruction runs again and
// succeeds on the replacement. The range is then flagged `faulted`; nothing read from it
// afterwards is trusted. The header poison makes every cached version compare unequal, so a
// reader's hot path notices without any extra cost while nothing is wrong.
//
// Code that must not go on over zeros (a heap allocator walking its own structures) runs
// under run_fault_guarded: a fault in a registered range during it ends it at once.
//
// A SIGBUS outside every registered range goes to the handler that was installed before
// ours (or to the default action, which ends the process as it would have without us). A
// program that installs its own SIGBUS handler after mapping a segment replaces ours, and
// gets these faults itself, until the next segment is mapped: each registration puts ours
// back on top, chaining to theirs.
#pragma once

#include <cstddef>
#include <cstdint>

namespace confvisor {

// The version word of a segment header whose mapping faulted: no publisher ever stores it.
inline constexpr std::uint64_t kFaultedVersion = ~std::uint64_t{0};

// Registers [address, address + size) (a whole MAP_SHARED mapping, page aligned, starting
// with a SegmentHeader) for as long as it lives. Unregister before unmapping. The
// replacement of a read-only mapping is read-only too.
class FaultGuard {
 public:
  FaultGuard() = default;
  // Throws Error if too many mappings are registered at once.
  FaultGuard(void* address, std::size_t size, bool writable);
  ~FaultGuard();
  FaultGuard(FaultGuard&& other) noexcept;
  FaultGuard& operator=(FaultGuard&& other) noexcept;
  FaultGuard(const FaultGuard&) = delete;
  FaultGuard& operator=(const FaultGuard&) = delete;

  // Whether a SIGBUS in the range replaced it with zero-filled memory.
  [[nodiscard]] bool faulted() const noexcept;

 private:
  void release() noexcept;
  int index_ = -1;
};

// Runs fn(arg); returns false, without finishing it, if an access to a registered range
// faulted meanwhile (sigsetjmp/siglongjmp: `fn` must own nothing that needs a destructor).
bool run_fault_guarded(void (*fn)(void*), void* arg);

template <class Fn>
bool run_fault_guarded(Fn& fn) {
  return run_fault_guarded([](void* f) { (*static_cast<Fn*>(f))(); }, &fn);
}

}  // namespace confvisor
