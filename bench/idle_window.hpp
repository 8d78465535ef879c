// A daemon doing nothing, watched from /proc: the figures behind "an idle daemon makes no
// wakeups". Every context switch of a sleeping process is a wakeup, and every clock tick of
// CPU time is work it did, so the target for both is 0.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "tests/support/daemon_process.hpp"
#include "tests/support/proc_stats.hpp"

namespace confvisor::bench {

using test::ProcSample;

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

struct IdleObservation {
  IdleFigures daemon;
  std::optional<IdleFigures> workers;  // summed over the workers, when there are some
  std::size_t notifications = 0;       // sd_notify messages the daemon sent in the window
};

// The `settle` both daemon-level parts give: the end of the last start or reload is over
// long before this.
inline constexpr std::chrono::milliseconds kIdleSettle{200};

// Lets the daemon finish what it was doing for `settle` (the tail of a start or a reload:
// its last log line, the kernel's accounting of it), then samples it and `workers`,
// watches it for `window` (throws if it exits), and samples again. The bench itself
// sleeps in poll() meanwhile, so it adds no load.
[[nodiscard]] IdleObservation observe_idle(test::DaemonProcess& daemon,
                                           const std::vector<pid_t>& workers,
                                           std::chrono::milliseconds settle,
                                           std::chrono::milliseconds window);

}  // namespace confvisor::bench
