// The clocks the multi-process figures read. CLOCK_MONOTONIC is one clock for every process
// of the machine, so readings taken in different processes (the bench, a reader, a worker,
// the daemon's MONOTONIC_USEC) compare directly.
#pragma once

#include <time.h>

#include <cstdint>

namespace confvisor::bench {

inline std::int64_t clock_ns(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

inline std::int64_t monotonic_ns() {
  return clock_ns(CLOCK_MONOTONIC);
}

// Only to place a wall-clock stamp (a record's publish time) on the monotonic clock.
inline std::int64_t realtime_ns() {
  return clock_ns(CLOCK_REALTIME);
}

// CPU time of the calling thread: its own work, without the time it spent preempted.
inline std::int64_t thread_cpu_ns() {
  return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

}  // namespace confvisor::bench
