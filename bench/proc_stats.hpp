// What /proc says about a process: memory, CPU time, context switches, scheduler state.
// The daemon figures come from here: an idle daemon should show no CPU time and no context
// switches at all (every switch of a sleeping process is a wakeup).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace confvisor::bench {

struct ProcSample {
  long rss_kib = 0;  // VmRSS
  long hwm_kib = 0;  // VmHWM: the largest VmRSS so far
  // The parts of VmRSS that tell a leak from a mapping: private memory (heap), and pages of
  // shared memory (the segment) this process has touched.
  long rss_anon_kib = 0;   // RssAnon
  long rss_shmem_kib = 0;  // RssShmem
  // utime + stime of /proc/PID/stat, in clock ticks (clock_ticks_per_second()); the kernel
  // sums them over the process' threads.
  std::uint64_t cpu_ticks = 0;
  // Summed over /proc/PID/task/*/status: /proc/PID/status counts its main thread only.
  std::uint64_t voluntary_switches = 0;
  std::uint64_t involuntary_switches = 0;
  std::size_t threads = 0;
};

// nullopt if the process is gone or its files cannot be read.
[[nodiscard]] std::optional<ProcSample> sample_process(pid_t pid);

// The sum over `pids` (rss and hwm summed too); nullopt if any one cannot be read.
[[nodiscard]] std::optional<ProcSample> sample_processes(const std::vector<pid_t>& pids);

// The scheduler state letter of /proc/PID/stat ('R' running, 'S' sleeping, ...), or '?' if
// it cannot be read.
[[nodiscard]] char process_state(pid_t pid);

[[nodiscard]] long clock_ticks_per_second();

// How a process behaved over a window in which it had nothing to do.
struct IdleFigures {
  double window_s = 0;
  std::uint64_t cpu_ticks = 0;  // utime + stime spent in the window
  double cpu_ms = 0;            // the same in milliseconds (tick resolution)
  std::uint64_t voluntary_switches = 0;
  std::uint64_t involuntary_switches = 0;
  long rss_kib = 0, hwm_kib = 0;  // at the end of the window
  long rss_anon_kib = 0, rss_shmem_kib = 0;
  std::size_t threads = 0;
  [[nodiscard]] std::uint64_t context_switches() const {
    return voluntary_switches + involuntary_switches;
  }
};

[[nodiscard]] IdleFigures idle_between(const ProcSample& before, const ProcSample& after,
                                       double window_s);

}  // namespace confvisor::bench
