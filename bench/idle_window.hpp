// A daemon doing nothing, watched from /proc: the figures behind "an idle daemon makes no
// wakeups". Every context switch of a sleeping process is a wakeup, and every clock tick of
// CPU time is work it did, so the target for both is 0.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <vector>

#include "bench/daemon_process.hpp"
#include "bench/proc_stats.hpp"

namespace confvisor::bench {

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
[[nodiscard]] IdleObservation observe_idle(DaemonProcess& daemon, const std::vector<pid_t>& workers,
                                           std::chrono::milliseconds settle,
                                           std::chrono::milliseconds window);

}  // namespace confvisor::bench
