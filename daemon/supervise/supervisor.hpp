// The process table: every worker of /confvisor/workers and its instances. It reconciles
// the running set with a new config (added start, removed stop, changed restart one
// instance at a time, unchanged get their on_reload action), reaps children, routes
// sd_notify messages, and stops everything, leftovers included, on shutdown. It owns the
// process tracking (daemon/supervise/process_tracking.hpp): constructing it ends what a dead
// predecessor of the segment left, before any worker starts.
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

#include "daemon/config/model.hpp"
#include "daemon/supervise/check_host.hpp"
#include "daemon/supervise/leftovers.hpp"
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
  // SIGCHLD: reaps every exited child.
  void reap();
  // Stops every worker (in reverse order of the list, all at once), then calls `done`.
  void stop_all(std::function<void()> done);
  // Calls `ready` once every instance's first start has come to an end (at once if none).
  void when_settled(std::function<void()> ready);

  // The instances an operator names: every one of worker `name`, or only `instance`. Throws
  // Error naming the workers (or instances) there are when there is no such one.
  [[nodiscard]] std::vector<std::shared_ptr<WorkerInstance>> instances_of(
      const std::string& name, std::optional<unsigned> instance) const;
  // Begins an operator's command; it reports its end through its own callback.
  void run(std::unique_ptr<WorkerCommand> command);

  [[nodiscard]] std::vector<InstanceStatus> status() const;
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

  [[nodiscard]] Group start_group(const config::WorkerSpec& spec);
  void scale(Group& g, std::shared_ptr<const config::WorkerSpec> spec);
  void begin_rolling(Group& g, std::shared_ptr<const config::WorkerSpec> spec);
  void retire(std::shared_ptr<WorkerInstance> instance);
  void review();  // posted after state changes: drives rolling restarts, readiness, shutdown
  void schedule_review();
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
  [[nodiscard]] bool all_stopped() const;
  void recheck_stop_soon();

  boost::asio::io_context& io_;
  ProcessTracking tracking_;  // before the instances, which use its watch
  InstanceHost host_;
  NotifySocket notify_;
  std::vector<Group> groups_;                              // config order
  std::vector<std::shared_ptr<WorkerInstance>> retiring_;  // stopping for good
  std::vector<std::unique_ptr<WorkerCommand>> commands_;   // operators' start/stop/restart
  std::map<pid_t, std::weak_ptr<WorkerInstance>> by_pid_;
  std::map<pid_t, std::function<void(int)>> watched_;  // children that are no worker
  bool review_pending_ = false;
  std::function<void()> on_settled_;
  std::function<void()> on_stopped_;
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
