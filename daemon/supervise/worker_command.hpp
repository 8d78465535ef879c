// An operator's start, stop or restart of some worker instances (confvisorctl), followed to
// its end: the reply waits until every instance has got where the command sends it, or
// failed for good, as supervisorctl does.
//
//   start:   each instance held no longer, started; done when RUNNING, FATAL or STOPPED
//   stop:    each instance held (stays stopped through reloads and rolling restarts) and
//            stopped; done when STOPPED (or FATAL)
//   restart: stop all, then once all are stopped, start all
#pragma once

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "daemon/supervise/worker_instance.hpp"

namespace confvisor::supervise {

enum class WorkerAction { start, stop, restart };

class WorkerCommand {
 public:
  // `ok` is false when some instance did not get there (failed to start, daemon stopping).
  using Done = std::function<void(bool ok, std::vector<InstanceStatus> instances)>;

  WorkerCommand(WorkerAction action, std::vector<std::shared_ptr<WorkerInstance>> targets,
                Done done);

  void begin();
  // Called after state changes; true once the command has ended and `done` has been called.
  // With `shutting_down` it ends now: nothing is started any more.
  bool advance(bool shutting_down);

 private:
  [[nodiscard]] bool all(bool (*pred)(State)) const;
  void start_all();
  void finish(bool ok);

  WorkerAction action_;
  std::vector<std::shared_ptr<WorkerInstance>> targets_;
  Done done_;
  bool starting_ = false;  // restart: the start half has begun
};

}  // namespace confvisor::supervise
