#include "daemon/supervise/worker_command.hpp"

namespace confvisor::supervise {

namespace {

bool at_rest(const WorkerInstance& i) {
  return i.state() == State::stopped || i.state() == State::fatal;
}
// Where a start ends: up, given up on, exited with nothing to restart it, or waiting for a
// worker that only an operator can bring up.
bool start_ended(const WorkerInstance& i) {
  return i.state() == State::running || at_rest(i) ||
         (i.state() == State::waiting && i.start_order().stuck);
}
bool is_running(const WorkerInstance& i) {
  return i.state() == State::running;
}

}  // namespace

const char* command_phase_name(CommandPhase phase) {
  switch (phase) {
    case CommandPhase::stopping:
      return "stopping";
    case CommandPhase::starting:
      return "starting";
    case CommandPhase::done:
      return "done";
  }
  return "?";
}

WorkerCommand::WorkerCommand(WorkerAction action,
                             std::vector<std::shared_ptr<WorkerInstance>> targets, Done done)
    : action_(action), targets_(std::move(targets)), done_(std::move(done)) {}

void WorkerCommand::begin() {
  switch (action_) {
    case WorkerAction::start:
      start_all();
      return;
    case WorkerAction::stop:
    case WorkerAction::restart:
      phase_ = CommandPhase::stopping;
      for (auto& instance : targets_) {
        instance->hold(true);
        instance->stop();
      }
      return;
  }
}

void WorkerCommand::start_all() {
  phase_ = CommandPhase::starting;
  for (auto& instance : targets_) {
    instance->hold(false);
    instance->start();
  }
}

bool WorkerCommand::all(bool (*pred)(const WorkerInstance&)) const {
  for (const auto& instance : targets_) {
    if (!pred(*instance)) return false;
  }
  return true;
}

bool WorkerCommand::advance() {
  switch (phase_) {
    case CommandPhase::stopping:
      if (!all(at_rest)) return false;  // on once each has stopped
      if (action_ == WorkerAction::stop) {
        finish(true);
        return true;
      }
      start_all();  // a restart's start half
      [[fallthrough]];
    case CommandPhase::starting:
      if (!all(start_ended)) return false;  // on once each is up, or has failed for good
      finish(all(is_running));
      return true;
    case CommandPhase::done:
      return true;  // ended already
  }
  return true;
}

bool WorkerCommand::abandon() {
  switch (phase_) {
    case CommandPhase::stopping:
    case CommandPhase::starting:
      // Nothing is started any more: it ends now, ok only for a stop that got there.
      finish(action_ == WorkerAction::stop && all(at_rest));
      return true;
    case CommandPhase::done:
      return true;  // ended already
  }
  return true;
}

void WorkerCommand::finish(bool ok) {
  std::vector<InstanceStatus> statuses;
  for (const auto& instance : targets_) statuses.push_back(instance->status());
  phase_ = CommandPhase::done;
  std::exchange(done_, nullptr)(ok, std::move(statuses));
}

}  // namespace confvisor::supervise
