// Daemon-level figures with the real confvisord (issue 3): SIGHUP -> new generation visible
// to a reader, and what the daemon costs while idle, for one config size.
//
// One daemon per size runs a generated config of exactly that size (config_gen.hpp) with no
// workers. The bench is the reader: a confvisor::Reader blocked in wait_for_change() (a
// futex wait). Each round rewrites the file with a new serial (before the clock starts),
// then times kill(SIGHUP) -> wait_for_change() returning with the new generation, which
// includes the reader's copy, checksum and parse. The daemon's own notifications split that
// time: RELOADING=1 carries the daemon's CLOCK_MONOTONIC at the start of the reload, and
// the record carries its publish time. The next round starts once READY=1 says the reload
// is over. After the rounds the daemon is left alone and watched (idle_window.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "bench/distribution.hpp"
#include "bench/idle_window.hpp"
#include "tests/support/proc_stats.hpp"

namespace confvisor::bench {

struct DaemonBenchOptions {
  std::string confvisord;  // path of the binary
  std::size_t reloads = 50;
  std::chrono::milliseconds idle_window{5000};
};

struct SighupFigures {
  std::size_t reloads = 0;
  // All in microseconds.
  Distribution visible;             // kill(SIGHUP) -> the reader's current() has it
  Distribution signal_to_reload;    // kill -> the daemon starts the reload (RELOADING=1 stamp)
  Distribution reload_to_publish;   // -> the record's publish stamp: read, parse, validate
  Distribution publish_to_visible;  // -> the reader has it: copy in, wake, copy out, parse
  // The daemon's utime + stime over all reloads, per reload (tick resolution: 10 ms per
  // tick, so only meaningful over many reloads).
  double daemon_cpu_ms_per_reload = 0;
};

struct DaemonSizeFigures {
  std::size_t bytes = 0;
  test::ProcSample after_start;  // the daemon once READY=1, before any reload
  SighupFigures sighup;
  IdleObservation idle;  // after the reloads
};

// Starts and stops its own daemon; nothing of it is left when this returns or throws.
[[nodiscard]] DaemonSizeFigures measure_daemon(std::size_t config_bytes,
                                               const DaemonBenchOptions& options);

}  // namespace confvisor::bench
