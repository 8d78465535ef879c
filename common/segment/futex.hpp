// The shared (not _PRIVATE) futex operations: a reader's PROT_READ mapping and the
// publisher's read-write mapping of the same shm object must meet on one futex key.
// GCC 12's std::atomic::wait uses the private ones, hence the raw syscall.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace confvisor {

// Sleeps while *word == expected, at most `timeout` (negative: forever). Returns false on
// timeout; true when woken, interrupted, or the value had already changed.
bool futex_wait(const std::atomic<std::uint32_t>* word, std::uint32_t expected,
                std::chrono::nanoseconds timeout);

// Wakes every waiter on `word`.
void futex_wake_all(const std::atomic<std::uint32_t>* word);

}  // namespace confvisor
