#include "daemon/supervise/worker_command.hpp"

namespace confvisor::supervise {

namespace {

bool at_rest(State s) {
  return s == State::stopped || s == State::fatal;
}
// Where a start ends: up, given up on, or exited with nothing to restart it.
bool start_ended(State s) {
  return s == State::running || at_rest(s);
}

}  // namespace

WorkerCommand::WorkerCommand(WorkerAction action,
                             std::vector<std::shared_ptr<WorkerInstance>> targets, Done done)
    : action_(action), targets_(std::move(targets)), done_(std::move(done)) {}

void WorkerCommand::begin() {
  if (action_ == WorkerAction::start) {
    start_all();
    return;
  }
  for (auto& instance : targets_) {
    instance->hold(true);
    instance->stop();
  }
}

void WorkerCommand::start_all() {
  starting_ = true;
  for (auto& instance : targets_) {
    instance->hold(false);
    instance->start();
  }
}

bool WorkerCommand::all(bool (*pred)(State)) const {
  for (const auto& instance : targets_) {
    if (!pred(instance->state())) return false;
  }
  return true;
}

bool WorkerCommand::advance(bool shutting_down) {
  if (shutting_down) {
    finish(action_ == WorkerAction::stop && all(at_rest));
    return true;
  }
  if (action_ == WorkerAction::restart && !starting_) {
    if (!all(at_rest)) return false;
    start_all();
  }
  if (action_ == WorkerAction::stop) {
    if (!all(at_rest)) return false;
    finish(true);
    return true;
  }
  if (!all(start_ended)) return false;
  finish(all([](State s) { return s == State::running; }));
  return true;
}

void WorkerCommand::finish(bool ok) {
  std::vector<InstanceStatus> statuses;
  for (const auto& instance : targets_) statuses.push_back(instance->status());
  std::exchange(done_, nullptr)(ok, std::move(statuses));
}

}  // namespace confvisor::supervise
