#include "bench/idle_window.hpp"

#include <stdexcept>

namespace confvisor::bench {

namespace {

ProcSample sample_or_fail(DaemonProcess& daemon) {
  std::optional<ProcSample> s = sample_process(daemon.pid());
  if (!s) daemon.fail("unable to read /proc/" + std::to_string(daemon.pid()));
  return *s;
}

std::optional<ProcSample> sample_workers(const std::vector<pid_t>& workers) {
  if (workers.empty()) return std::nullopt;
  std::optional<ProcSample> s = sample_processes(workers);
  if (!s) throw std::runtime_error("a worker process ended during the idle window");
  return s;
}

}  // namespace

IdleObservation observe_idle(DaemonProcess& daemon, const std::vector<pid_t>& workers,
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
