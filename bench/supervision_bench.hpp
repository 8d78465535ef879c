// Supervision figures with the real confvisord (issue 4), its workers being
// `confvisor-bench --as-worker` (bench_worker.hpp: report in, then pause()), configured by
// bench_worker() in daemon_config.hpp (backoff 0ms/0ms, start_window 0ms):
//   - SIGKILL of a worker -> its replacement has exec'd and reported in;
//   - time to start N instances: the daemon's fork -> every instance reported in, and ->
//     the daemon's READY=1 (sd_notify on the bench's socket); and SIGTERM -> daemon exited;
//   - the daemon's CPU time and context switches while M idle workers run.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "bench/distribution.hpp"
#include "bench/idle_window.hpp"

namespace confvisor::bench {

struct SupervisionOptions {
  std::string confvisord;    // path of the daemon binary
  std::string bench_binary;  // path of this binary: the worker's command
  std::size_t kills = 200;
  std::size_t start_runs = 5;
  unsigned start_instances = 100;
  unsigned idle_workers = 32;
  std::chrono::milliseconds idle_window{5000};
};

struct RestartFigures {
  std::size_t kills = 0;
  Distribution replacement_us;  // kill(SIGKILL) -> the replacement's report (its own clock)
  // The same worker forked and exec'd by the bench itself, fork -> report, as many times:
  // what exec, dynamic linking and the report cost without a daemon in the way.
  Distribution bare_spawn_us;
  // Kills sent while the daemon was seen asleep (state S): the others caught it still busy
  // with the previous restart.
  std::size_t kills_with_daemon_asleep = 0;
  double daemon_cpu_ms_per_restart = 0;  // utime + stime over the kills, tick resolution
};

struct StartFigures {
  unsigned instances = 0;
  std::size_t runs = 0;
  // From the daemon's fork, in milliseconds.
  Distribution first_reported_ms;
  Distribution all_reported_ms;
  Distribution ready_ms;  // the bench took READY=1 off its notify socket
  // Runs in which READY=1 came before the last report: READY waits for each instance's
  // start_window (0ms) after its exec, not for the worker to do anything.
  std::size_t ready_before_all_reported = 0;
  Distribution stop_ms;  // SIGTERM -> the daemon exited 0, every worker stopped
};

struct IdleWorkersFigures {
  unsigned workers = 0;
  IdleObservation idle;
};

struct SupervisionFigures {
  std::optional<RestartFigures> restart;
  std::optional<StartFigures> start;
  std::optional<IdleWorkersFigures> idle;
  boost::json::object worker_config;  // the worker entry of the daemon's config, as run
};

// Each measurement starts and stops its own daemon; nothing of them is left when this
// returns or throws.
[[nodiscard]] SupervisionFigures measure_supervision(const SupervisionOptions& options);

}  // namespace confvisor::bench
