// The real confvisord, run for a measurement: test::DaemonProcess (tests/support), at the
// daemon's default log level, that the fatal-signal cleanup (cleanup.hpp) kills and reaps
// before it unlinks anything the daemon uses.
#pragma once

#include <chrono>
#include <string>

#include "bench/cleanup.hpp"
#include "tests/support/daemon_process.hpp"

namespace confvisor::bench {

// Generous bounds that only end a run that is stuck (a 2-CPU machine starting 100
// processes while others build takes seconds, not minutes).
inline constexpr std::chrono::seconds kDaemonStartTimeout{60};
inline constexpr std::chrono::seconds kDaemonStopTimeout{30};

class BenchDaemon : public test::DaemonProcess {
 public:
  // Starts `binary --config CONFIG_PATH`. `segment` is the config's segment: whatever the
  // daemon leaves of it goes with `segment`. Throws Error if it cannot be started.
  BenchDaemon(const std::string& binary, const std::string& config_path, const BenchDir& dir,
              BenchSegment& segment);

 private:
  KillOnSignal kill_on_signal_;
};

}  // namespace confvisor::bench
