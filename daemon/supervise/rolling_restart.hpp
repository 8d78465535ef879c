// A rolling restart of one worker's instances: each in turn is stopped, given the new spec
// and started again, and the next one's turn comes only once it is up (Running) or has
// failed (Backoff, Fatal, Stopped), so that at most one instance is down at a time. It runs
// for a changed worker, and for an unchanged one whose on_reload is "restart".
//
//   Idle --begin(n)--> StoppingOld at instance 0
//
//   StoppingOld at instance i, at each change of an instance's state:
//     i == n                         --> Idle, and how it ended is logged
//     i Stopped and held by an operator
//                                    --> StoppingOld at i+1 (i takes the new spec, stays stopped)
//     i Starting or Running          --> stop i, StoppingOld at i (until it has stopped)
//     i Stopping                     --> StoppingOld at i
//     i Stopped, Backoff, Fatal or Waiting
//                                    --> stop i (calling off its restart or wait), new spec,
//                                        start i, StartingNew at i
//   StartingNew at instance i, at each change:
//     i Starting                     --> StartingNew at i (until it is up, or has failed)
//     i Waiting for workers of its "after" that are on their way
//                                    --> StartingNew at i (until they are ready)
//     i Waiting for one that will not get ready by itself (FATAL, stopped)
//                                    --> StoppingOld at i+1 (it did not come up)
//     i in any other state           --> StoppingOld at i+1
//
//   begin(n) while one is under way  --> StoppingOld at instance 0: the newest spec reaches
//                                        every instance, those already restarted included
//   cancel (the daemon stops)        --> Idle
//
// Instances added by the change are started with the new spec at once and are not part of
// the walk; those beyond `n` (removed by it) are retired by the supervisor.
#pragma once

#include <memory>
#include <vector>

#include "daemon/config/model.hpp"
#include "daemon/supervise/worker_instance.hpp"

namespace confvisor::supervise {

enum class RollingPhase { idle, stopping_old, starting_new };
[[nodiscard]] const char* rolling_phase_name(RollingPhase phase);

class RollingRestart {
 public:
  using Instances = std::vector<std::shared_ptr<WorkerInstance>>;

  // Restarts instances 0 to `count` - 1, from the next advance() on.
  void begin(unsigned count);
  // An instance changed state: moves on as far as the instances' states let it. `spec` is
  // what each instance restarted gets.
  void advance(const Instances& instances, const std::shared_ptr<const config::WorkerSpec>& spec);
  // The daemon is stopping every worker: the restart ends where it is, unlogged.
  void cancel();

  [[nodiscard]] RollingPhase phase() const { return phase_; }
  [[nodiscard]] bool under_way() const { return phase_ != RollingPhase::idle; }
  [[nodiscard]] unsigned position() const { return next_; }  // the instance whose turn it is

 private:
  // One transition; false when it waits for an instance (or is idle).
  bool step(const Instances& instances, const std::shared_ptr<const config::WorkerSpec>& spec);
  bool stop_old(const Instances& instances, const std::shared_ptr<const config::WorkerSpec>& spec);
  bool start_new(const WorkerInstance& instance);
  void finish(const Instances& instances, const config::WorkerSpec& spec);

  RollingPhase phase_ = RollingPhase::idle;
  unsigned next_ = 0;
  unsigned end_ = 0;  // instances from here on were started with the new spec
};

}  // namespace confvisor::supervise
