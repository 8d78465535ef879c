// An operator's start, stop or restart of some worker instances (confvisorctl), followed to
// its end: the reply waits until every instance has got where the command sends it, or
// failed for good, as supervisorctl does.
//
//   start:   Starting: each instance held no longer, and started; Done once each is
//            RUNNING, FATAL or STOPPED, or WAITING for a worker that will not get ready by
//            itself (ok if all are RUNNING); one WAITING for workers on their way is waited for
//   stop:    Stopping: each instance held (it stays stopped through reloads and rolling
//            restarts), and stopped; Done once each is STOPPED or FATAL (ok)
//   restart: Stopping as stop; once each is STOPPED or FATAL, Starting as start
//   the daemon stops, in Stopping or Starting: Done at once (ok only for a stop that got
//            there), since nothing is started any more
#pragma once

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "daemon/supervise/worker_instance.hpp"

namespace confvisor::supervise {

enum class WorkerAction { start, stop, restart };

enum class CommandPhase { stopping, starting, done };
[[nodiscard]] const char* command_phase_name(CommandPhase phase);

class WorkerCommand {
 public:
  // `ok` is false when some instance did not get there (failed to start, daemon stopping).
  using Done = std::function<void(bool ok, std::vector<InstanceStatus> instances)>;

  WorkerCommand(WorkerAction action, std::vector<std::shared_ptr<WorkerInstance>> targets,
                Done done);

  void begin();
  // Called after state changes; true once the command has ended and `done` has been called.
  bool advance();
  // The daemon is stopping: it ends now, since nothing is started any more. True.
  bool abandon();

  [[nodiscard]] CommandPhase phase() const { return phase_; }

 private:
  [[nodiscard]] bool all(bool (*pred)(const WorkerInstance&)) const;
  void start_all();
  void finish(bool ok);

  WorkerAction action_;
  std::vector<std::shared_ptr<WorkerInstance>> targets_;
  Done done_;
  CommandPhase phase_ = CommandPhase::stopping;
};

}  // namespace confvisor::supervise
