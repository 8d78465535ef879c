#include "bench/supervision_bench.hpp"

#include <signal.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <set>
#include <stdexcept>
#include <vector>

#include "bench/bench_daemon.hpp"
#include "bench/bench_worker.hpp"
#include "bench/cleanup.hpp"
#include "bench/clock.hpp"
#include "bench/daemon_config.hpp"
#include "tests/support/child.hpp"
#include "tests/support/fd_wait.hpp"
#include "tests/support/notify_socket.hpp"
#include "tests/support/proc_scan.hpp"
#include "tests/support/proc_stats.hpp"

namespace confvisor::bench {

namespace {

using namespace std::chrono_literals;
using test::Child;
using test::clock_ticks_per_second;
using test::Datagram;
using test::NotifySocket;
using test::process_state;
using test::sample_process;
using test::wait_readable;

// Generous: only ends a run that is stuck.
constexpr auto kRestartTimeout = 10s;
// Between kills: the replacement reports while the daemon may still be logging its start;
// give it this long, then look for it asleep (at most kAsleepChecks times, 1 ms apart).
constexpr auto kKillGap = 2ms;
constexpr int kAsleepChecks = 50;
constexpr const char* kWorkerName = "bench";

// One daemon supervising `instances` bench workers, with the socket they report to. The
// daemon starts in the constructor.
class SupervisedRun {
 public:
  SupervisedRun(const SupervisionOptions& options, const std::string& tag, unsigned instances)
      : dir_(tag), segment_(tag), reports_(dir_.file("report.sock")) {
    DaemonSection section;
    section.segment = segment_.name();
    section.segment_size = 64u << 10;  // the smallest accepted: the config is tiny
    section.max_config_size = 1u << 20;
    section.socket = dir_.file("control.sock");
    section.workers.push_back(
        bench_worker(kWorkerName, options.bench_binary, instances, reports_.path()));
    const std::string config_path =
        dir_.write("confvisor.json",
                   boost::json::serialize(boost::json::object{{"confvisor", to_json(section)}}));
    daemon_.emplace(options.confvisord, config_path, dir_, segment_);
  }

  [[nodiscard]] BenchDaemon& daemon() { return *daemon_; }
  // When the bench took READY=1 off the notify socket, if it has.
  [[nodiscard]] std::optional<std::int64_t> ready_ns() const { return ready_ns_; }

  // The next worker report. Meanwhile the daemon's notifications are drained (READY=1
  // remembered), and its exit or `timeout` is a failure.
  WorkerReport next_report(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (std::optional<Datagram> d = reports_.try_receive()) {
        if (std::optional<WorkerReport> r = parse_report(d->text)) return *r;
        daemon_->fail("unexpected datagram on the report socket: " + d->text);
      }
      drain_notifications();
      daemon_->check_running();
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        daemon_->fail("no worker report within " + std::to_string(timeout.count()) + " ms");
      (void)wait_readable({reports_.fd(), daemon_->notify_fd(), daemon_->exit_fd()}, left);
    }
  }

  void wait_ready(std::chrono::milliseconds timeout) {
    drain_notifications();
    if (!ready_ns_) ready_ns_ = daemon_->require_notification("READY=1", timeout).received_ns;
  }

  // The first report of each of `instances`; a second report of one (a restart) fails.
  std::vector<WorkerReport> reports_of_all(unsigned instances) {
    std::vector<WorkerReport> reports;
    std::set<unsigned> seen;
    while (seen.size() < instances) {
      const WorkerReport r = next_report(kDaemonStartTimeout);
      if (!seen.insert(r.instance).second) {
        daemon_->fail("instance " + std::to_string(r.instance) +
                      " reported twice: it was restarted");
      }
      reports.push_back(r);
    }
    return reports;
  }

 private:
  void drain_notifications() {
    while (std::optional<Datagram> n = daemon_->take_notification()) {
      if (!ready_ns_ && n->text.find("READY=1") != std::string::npos) ready_ns_ = n->received_ns;
    }
  }

  BenchDir dir_;
  BenchSegment segment_;
  NotifySocket reports_;
  std::optional<std::int64_t> ready_ns_;
  std::optional<BenchDaemon> daemon_;  // last: it goes first
};

// Lets the daemon finish the previous restart (its last log lines) so that each kill finds
// it asleep in its event loop. No event says "back in epoll_wait", so this looks at the
// scheduler state, between short sleeps; it is outside the timed part.
bool let_daemon_fall_asleep(BenchDaemon& daemon) {
  (void)daemon.watch(kKillGap);
  for (int i = 0; i < kAsleepChecks; ++i) {
    if (process_state(daemon.pid()) == 'S') return true;
    (void)daemon.watch(1ms);
  }
  return false;
}

// fork -> report of the bench worker started by the bench itself, `spawns` times, one at a
// time: the floor under the daemon's restart latency.
Distribution measure_bare_spawn(const SupervisionOptions& options, std::size_t spawns) {
  BenchDir dir("spawn");
  NotifySocket reports(dir.file("report.sock"));
  // Prepared before any fork: the child only calls execve.
  std::vector<std::string> args{options.bench_binary, std::string(kWorkerFlag)};
  std::vector<std::string> env{std::string(kReportEnv) + "=" + reports.path(),
                               "CONFVISOR_INSTANCE=0", "PATH=/usr/bin:/bin"};
  std::vector<char*> argv, envp;
  for (std::string& a : args) argv.push_back(a.data());
  for (std::string& e : env) envp.push_back(e.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);

  std::vector<double> latencies;
  for (std::size_t i = 0; i < spawns; ++i) {
    const std::int64_t forked = monotonic_ns();
    Child child(
        [&] {
          ::execve(argv[0], argv.data(), envp.data());
          return 127;
        },
        {.dies_with_parent = true});
    std::optional<WorkerReport> report;
    while (!report) {
      if (std::optional<Datagram> d = reports.try_receive()) {
        report = parse_report(d->text);
      } else if (child.try_reap()) {
        throw std::runtime_error("the bench worker exited before reporting");
      } else if (!wait_readable({reports.fd()}, kRestartTimeout)[0]) {
        throw std::runtime_error("no report from a bench worker the bench started");
      }
    }
    latencies.push_back(static_cast<double>(report->sent_ns - forked) / 1e3);
  }  // the child is SIGKILLed and reaped here, as the daemon's would be
  return summarize(std::move(latencies));
}

RestartFigures measure_restart(const SupervisionOptions& options) {
  SupervisedRun run(options, "restart", 1);
  BenchDaemon& daemon = run.daemon();
  WorkerReport current = run.next_report(kDaemonStartTimeout);
  run.wait_ready(kDaemonStartTimeout);

  RestartFigures f;
  f.kills = options.kills;
  std::vector<double> latencies;
  const std::uint64_t cpu_before = sample_process(daemon.pid()).value_or(ProcSample{}).cpu_ticks;
  for (std::size_t k = 0; k < options.kills; ++k) {
    if (let_daemon_fall_asleep(daemon)) ++f.kills_with_daemon_asleep;
    const std::int64_t killed = monotonic_ns();
    if (::kill(current.pid, SIGKILL) != 0) daemon.fail("the worker to kill is gone");
    const WorkerReport next = run.next_report(kRestartTimeout);
    if (next.pid == current.pid || next.instance != current.instance) {
      daemon.fail("unexpected report from pid " + std::to_string(next.pid) + " instance " +
                  std::to_string(next.instance));
    }
    latencies.push_back(static_cast<double>(next.sent_ns - killed) / 1e3);
    current = next;
  }
  const std::uint64_t cpu_after = sample_process(daemon.pid()).value_or(ProcSample{}).cpu_ticks;
  f.replacement_us = summarize(std::move(latencies));
  if (options.kills > 0 && cpu_after >= cpu_before) {
    f.daemon_cpu_ms_per_restart = static_cast<double>(cpu_after - cpu_before) * 1e3 /
                                  static_cast<double>(clock_ticks_per_second()) /
                                  static_cast<double>(options.kills);
  }
  daemon.stop(kDaemonStopTimeout);
  f.bare_spawn_us = measure_bare_spawn(options, options.kills);
  return f;
}

StartFigures measure_start(const SupervisionOptions& options) {
  StartFigures f;
  f.instances = options.start_instances;
  f.runs = options.start_runs;
  std::vector<double> first, all, ready, stop;
  auto ms = [](std::int64_t from, std::int64_t to) { return static_cast<double>(to - from) / 1e6; };
  for (std::size_t i = 0; i < options.start_runs; ++i) {
    SupervisedRun run(options, "start" + std::to_string(i), options.start_instances);
    const std::int64_t spawned = run.daemon().spawned_ns();
    const std::vector<WorkerReport> reports = run.reports_of_all(options.start_instances);
    run.wait_ready(kDaemonStartTimeout);
    std::int64_t first_sent = reports.front().sent_ns, last_sent = first_sent;
    for (const WorkerReport& r : reports) {
      first_sent = std::min(first_sent, r.sent_ns);
      last_sent = std::max(last_sent, r.sent_ns);
    }
    first.push_back(ms(spawned, first_sent));
    all.push_back(ms(spawned, last_sent));
    ready.push_back(ms(spawned, *run.ready_ns()));
    if (*run.ready_ns() < last_sent) ++f.ready_before_all_reported;
    const std::int64_t stopping = monotonic_ns();
    run.daemon().stop(kDaemonStopTimeout);
    stop.push_back(ms(stopping, monotonic_ns()));
  }
  f.first_reported_ms = summarize(std::move(first));
  f.all_reported_ms = summarize(std::move(all));
  f.ready_ms = summarize(std::move(ready));
  f.stop_ms = summarize(std::move(stop));
  return f;
}

IdleWorkersFigures measure_idle_workers(const SupervisionOptions& options) {
  SupervisedRun run(options, "idle", options.idle_workers);
  std::vector<pid_t> pids;
  for (const WorkerReport& r : run.reports_of_all(options.idle_workers)) pids.push_back(r.pid);
  run.wait_ready(kDaemonStartTimeout);
  IdleWorkersFigures f;
  f.workers = options.idle_workers;
  f.idle = observe_idle(run.daemon(), pids, kIdleSettle, options.idle_window);
  run.daemon().stop(kDaemonStopTimeout);
  return f;
}

}  // namespace

SupervisionFigures measure_supervision(const SupervisionOptions& options) {
  SupervisionFigures f;
  f.worker_config = bench_worker(kWorkerName, options.bench_binary, 1, "PATH-OF-REPORT-SOCKET");
  f.worker_config.erase("instances");  // 1, 100 or 32 depending on the figure
  f.restart = measure_restart(options);
  f.start = measure_start(options);
  f.idle = measure_idle_workers(options);
  return f;
}

}  // namespace confvisor::bench
