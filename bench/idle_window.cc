#include "bench/idle_window.hpp"

#include <stdexcept>

namespace confvisor::bench {

namespace {

// Counters only grow, except when a thread exits between the samples (its switches leave
// the per-task sum): never report that as a huge unsigned wrap.
std::uint64_t grown(std::uint64_t before, std::uint64_t after) {
  return after >= before ? after - before : 0;
}

ProcSample sample_or_fail(test::DaemonProcess& daemon) {
  std::optional<ProcSample> s = test::sample_process(daemon.pid());
  if (!s) daemon.fail("unable to read /proc/" + std::to_string(daemon.pid()));
  return *s;
}

std::optional<ProcSample> sample_workers(const std::vector<pid_t>& workers) {
  if (workers.empty()) return std::nullopt;
  std::optional<ProcSample> s = test::sample_processes(workers);
  if (!s) throw std::runtime_error("a worker process ended during the idle window");
  return s;
}

}  // namespace

IdleFigures idle_between(const ProcSample& before, const ProcSample& after, double window_s) {
  IdleFigures f;
  f.window_s = window_s;
  f.cpu_ticks = grown(before.cpu_ticks, after.cpu_ticks);
  f.cpu_ms =
      static_cast<double>(f.cpu_ticks) * 1e3 / static_cast<double>(test::clock_ticks_per_second());
  f.voluntary_switches = grown(before.voluntary_switches, after.voluntary_switches);
  f.involuntary_switches = grown(before.involuntary_switches, after.involuntary_switches);
  f.rss_kib = after.rss_kib;
  f.hwm_kib = after.hwm_kib;
  f.rss_anon_kib = after.rss_anon_kib;
  f.rss_shmem_kib = after.rss_shmem_kib;
  f.threads = after.threads;
  return f;
}

IdleObservation observe_idle(test::DaemonProcess& daemon, const std::vector<pid_t>& workers,
                             std::chrono::milliseconds settle, std::chrono::milliseconds window) {
  (void)daemon.watch(settle);
  const ProcSample daemon_before = sample_or_fail(daemon);
  const std::optional<ProcSample> workers_before = sample_workers(workers);
  const auto started = std::chrono::steady_clock::now();

  IdleObservation o;
  o.notifications = daemon.watch(window);

  const double window_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  o.daemon = idle_between(daemon_before, sample_or_fail(daemon), window_s);
  if (workers_before) o.workers = idle_between(*workers_before, *sample_workers(workers), window_s);
  return o;
}

}  // namespace confvisor::bench
