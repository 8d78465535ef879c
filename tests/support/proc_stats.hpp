// What /proc says a process costs: memory, CPU time, context switches, threads. The bench's
// idle figures come from here: an idle daemon should show no CPU time and no context switches
// at all (every switch of a sleeping process is a wakeup).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace confvisor::test {

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

[[nodiscard]] long clock_ticks_per_second();

}  // namespace confvisor::test
