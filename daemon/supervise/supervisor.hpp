// The process table: every worker of /confvisor/workers and its instances. It reconciles
// the running set with a new config (added start, removed stop, changed restart one
// instance at a time, unchanged get their on_reload action), reaps children, routes
// sd_notify messages and workers' reports (acks), and stops everything, leftovers included,
// on shutdown. It owns the
// process tracking (daemon/supervise/process_tracking.hpp): constructing it ends what a dead
// predecessor of the segment left, before any worker starts.
//
// The start order ("after"): an instance on its way to a start waits (Waiting) until every
// instance of each worker it names is ready (WorkerInstance::lets_dependents_start); the
// review after every state change starts those whose order is met. Instances that stop
// together (the daemon stops, a reload removes workers) stop in the reverse order: one is
// sent its stop once no instance stopping with it that starts after it has a run left.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/base/log_throttle.hpp"
#include "daemon/config/model.hpp"
#include "daemon/supervise/ack_report.hpp"
#include "daemon/supervise/ack_socket.hpp"
#include "daemon/supervise/check_host.hpp"
#include "daemon/supervise/leftovers.hpp"
#include "daemon/supervise/log_file.hpp"
#include "daemon/supervise/notify_socket.hpp"
#include "daemon/supervise/process_tracking.hpp"
#include "daemon/supervise/rolling_restart.hpp"
#include "daemon/supervise/worker_command.hpp"
#include "daemon/supervise/worker_instance.hpp"

namespace confvisor::supervise {

class Supervisor final : public CheckHost {
 public:
  Supervisor(boost::asio::io_context& io, const std::string& segment,
             std::function<std::uint64_t()> generation);
  ~Supervisor() override;

  // Makes the workers match `specs`. With `reloaded`, unchanged workers get their on_reload
  // action (the new generation is already published).
  void apply(const std::vector<config::WorkerSpec>& specs, bool reloaded);
  // A new generation was published to the canary segment only: the canary instances of
  // their worker (its first canary_instances) get its on_reload action, the rest nothing.
  void reload_canaries();
  // SIGCHLD: reaps every exited child.
  void reap();
  // Stops every worker, then calls `done`: nothing is started any more, and each instance is
  // stopped once the instances that start after it have stopped (with no "after", all at
  // once, in reverse order of the list).
  void stop_all(std::function<void()> done);
  // Calls `fatal` with the instance's label ("api[0]") when an instance of a worker whose
  // on_fatal is "exit" becomes FATAL; once.
  void when_fatal_exits(std::function<void(const std::string&)> fatal);
  // Calls `ready` once every instance's first start has come to an end (at once if none).
  void when_settled(std::function<void()> ready);
  // Calls `acked` with every report it accepts: from a process of an instance of a worker
  // with "acks": true, well formed, of a generation that was published. Every other report is
  // ignored and logged (at most a line a second of each kind).
  void when_acked(std::function<void(const AckReport&)> acked);
  // Calls `failed` for every run that fails from now on (daemon/supervise/run_failure.hpp),
  // from the loop after the instance's own handling of the event: `failed` may reconcile.
  void when_run_fails(std::function<void(const RunFailure&)> failed);
  // The instances whose ready is "notify" and whose run has not sent READY=1 yet.
  [[nodiscard]] std::vector<RunFailure> not_ready() const;

  // The instances an operator names: every one of worker `name`, or only `instance`. Throws
  // Error naming the workers (or instances) there are when there is no such one.
  [[nodiscard]] std::vector<std::shared_ptr<WorkerInstance>> instances_of(
      const std::string& name, std::optional<unsigned> instance) const;
  // Begins an operator's command; it reports its end through its own callback.
  void run(std::unique_ptr<WorkerCommand> command);

  // SIGUSR1: every worker's log file is opened again by its name (logrotate has moved it).
  void reopen_log_files();

  [[nodiscard]] std::vector<InstanceStatus> status() const;
  // Each instance's brief_status(), in the same order.
  [[nodiscard]] std::vector<InstanceStatus> brief_status() const;
  // What workers get as CONFVISOR_ACK_SOCKET.
  [[nodiscard]] const std::string& ack_socket() const { return acks_.address(); }
  [[nodiscard]] std::string summary() const;  // "4 of 4 worker instances running"
  // The workers whose rolling restart is still under way, in config order.
  [[nodiscard]] std::vector<std::string> restarting() const;
  // "cgroup /sys/fs/cgroup/unified/confvisor.demo", "subreaper (fallback): ..."
  [[nodiscard]] std::string tracking() const { return tracking_.description(); }

  // A child of the daemon that is no worker (a check command): reap() hands its wait status
  // to `exited` instead of taking it for a leftover, and leftover sweeps leave it alone.
  // forget_child drops the call; the child is then reaped as any unknown child is.
  void watch_child(pid_t pid, std::function<void(int status)> exited) override;
  void forget_child(pid_t pid) override;
  // The cgroup a check of worker `worker` runs in, in cgroup mode; nullopt in subreaper mode.
  [[nodiscard]] std::optional<Cgroup> check_cgroup(const std::string& worker) const override;
  [[nodiscard]] boost::asio::io_context& io() override { return io_; }

 private:
  struct Group {
    std::shared_ptr<const config::WorkerSpec> spec;
    std::vector<std::shared_ptr<WorkerInstance>> instances;
    RollingRestart rolling;  // idle unless a change or on_reload restarts it
  };

  using Instances = std::vector<std::shared_ptr<WorkerInstance>>;
  // Each adds the instances it makes to `added`, which apply() starts once every group of the
  // new list is in place (so that the start order can look them all up).
  [[nodiscard]] Group make_group(const config::WorkerSpec& spec, Instances& added);
  void scale(Group& g, std::shared_ptr<const config::WorkerSpec> spec, Instances& added);
  void begin_rolling(Group& g, std::shared_ptr<const config::WorkerSpec> spec, Instances& added);
  void add_instances(Group& g, Instances& added);
  void use_log(Group& g, const config::LogSettings& log);
  void retire(std::shared_ptr<WorkerInstance> instance);
  void review();  // posted after state changes: drives rolling restarts, readiness, shutdown
  void schedule_review();
  // The start order (see above).
  [[nodiscard]] const Group* group_named(const std::string& name) const;
  [[nodiscard]] StartOrder start_order(const config::WorkerSpec& spec) const;
  [[nodiscard]] bool will_not_get_ready(const Group& g) const;
  [[nodiscard]] bool settled(const WorkerInstance& i) const;
  void start_waiting();
  void stop_in_order();
  void check_fatal_exit();
  // An instance by its worker's name and index: what leftovers are attributed to.
  using InstanceKey = std::pair<std::string, unsigned>;
  void sweep_leftovers(const std::string& worker, unsigned instance);
  void queue_sweep(const InstanceKey& key);
  void leftover_reaped(pid_t pid);
  void sweep(const std::set<InstanceKey>& owners);
  void on_sweep_timer();
  void arm_sweep_timer();
  [[nodiscard]] bool running_again(const InstanceKey& key) const;
  // SIGKILLs our live children that are no worker's main process and that `whose` accepts;
  // returns how many.
  std::size_t kill_leftovers(const std::function<bool(const std::optional<Owner>&)>& whose);
  void on_notify(pid_t sender, const std::string& message);
  void on_ack_packet(pid_t sender, const std::string& packet);
  // The instance process `sender` belongs to, for sd_notify messages and reports alike: its
  // main process, a process of its group (as NotifyAccess=all), or, with cgroup tracking,
  // any process of its cgroup. Null for any other process.
  [[nodiscard]] std::shared_ptr<WorkerInstance> instance_of_sender(pid_t sender) const;
  [[nodiscard]] bool all_stopped() const;
  void recheck_stop_soon();

  boost::asio::io_context& io_;
  ProcessTracking tracking_;  // before the instances, which use its watch
  LogFiles log_files_;        // before the instances, which write to them
  InstanceHost host_;
  NotifySocket notify_;
  AckSocket acks_;
  LogThrottle ack_log_;  // reports ignored, by kind
  std::function<void(const AckReport&)> on_acked_;
  std::vector<Group> groups_;                              // config order
  std::map<std::string, std::size_t> group_index_;         // by name, into groups_
  std::vector<std::shared_ptr<WorkerInstance>> retiring_;  // stopping for good
  std::vector<std::unique_ptr<WorkerCommand>> commands_;   // operators' start/stop/restart
  std::map<pid_t, std::weak_ptr<WorkerInstance>> by_pid_;
  std::map<pid_t, std::function<void(int)>> watched_;  // children that are no worker
  bool review_pending_ = false;
  std::function<void()> on_settled_;
  std::function<void()> on_stopped_;
  std::function<void(const std::string&)> on_fatal_exit_;
  std::function<void(const RunFailure&)> on_run_failed_;
  bool stopping_all_ = false;
  // Leftover sweeps: the owners to sweep once the loop turn that reaped them is over (one
  // /proc scan for every exit of the turn), and the re-sweeps by when they are due, all on
  // one timer.
  std::set<InstanceKey> sweep_now_;
  std::multimap<std::chrono::steady_clock::time_point, InstanceKey> sweep_later_;
  boost::asio::steady_timer sweep_timer_;
  std::map<pid_t, InstanceKey> killed_leftovers_;  // SIGKILLed, not reaped yet
  boost::asio::steady_timer stop_recheck_;
  std::uint64_t sweep_timer_epoch_ = 0;
};

}  // namespace confvisor::supervise
