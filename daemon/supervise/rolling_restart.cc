#include "daemon/supervise/rolling_restart.hpp"

#include <algorithm>

#include "common/base/log.hpp"

namespace confvisor::supervise {

const char* rolling_phase_name(RollingPhase phase) {
  switch (phase) {
    case RollingPhase::idle:
      return "idle";
    case RollingPhase::stopping_old:
      return "stopping old";
    case RollingPhase::starting_new:
      return "starting new";
  }
  return "?";
}

void RollingRestart::begin(unsigned count) {
  switch (phase_) {
    case RollingPhase::idle:
      break;  // a new restart
    case RollingPhase::stopping_old:
    case RollingPhase::starting_new:
      break;  // starts over: the newest spec must reach those already restarted too
  }
  phase_ = RollingPhase::stopping_old;
  next_ = 0;
  end_ = count;
}

void RollingRestart::cancel() {
  switch (phase_) {
    case RollingPhase::idle:
      return;  // nothing under way
    case RollingPhase::stopping_old:
    case RollingPhase::starting_new:
      phase_ = RollingPhase::idle;  // the supervisor stops every instance itself
      return;
  }
}

void RollingRestart::advance(const Instances& instances,
                             const std::shared_ptr<const config::WorkerSpec>& spec) {
  while (step(instances, spec)) {
  }
}

bool RollingRestart::step(const Instances& instances,
                          const std::shared_ptr<const config::WorkerSpec>& spec) {
  switch (phase_) {
    case RollingPhase::idle:
      return false;
    case RollingPhase::stopping_old:
      return stop_old(instances, spec);
    case RollingPhase::starting_new:
      if (next_ < instances.size()) return start_new(*instances[next_]);
      phase_ = RollingPhase::stopping_old;  // retired meanwhile: stop_old() ends the walk
      return true;
  }
  return false;
}

bool RollingRestart::stop_old(const Instances& instances,
                              const std::shared_ptr<const config::WorkerSpec>& spec) {
  // A later change of `instances` alone may have retired some of those it was to restart.
  if (next_ >= std::min<std::size_t>(end_, instances.size())) {
    phase_ = RollingPhase::idle;
    finish(instances, *spec);
    return false;
  }
  WorkerInstance& instance = *instances[next_];
  switch (instance.state()) {
    case State::starting:
    case State::running:
      instance.stop();
      return false;  // on once it has stopped
    case State::stopping:
      return false;  // on once it has stopped
    case State::stopped:
      if (instance.held()) {
        // An operator stopped it: it takes the new spec and stays stopped until started.
        instance.use_spec(spec);
        ++next_;
        return true;
      }
      break;
    case State::backoff:
    case State::fatal:
    case State::waiting:
      instance.stop();  // its restart, its retry or its wait is called off
      break;
  }
  instance.use_spec(spec);
  instance.start();
  phase_ = RollingPhase::starting_new;
  return true;
}

bool RollingRestart::start_new(const WorkerInstance& instance) {
  switch (instance.state()) {
    case State::starting:
      return false;  // on once it is up, or has failed
    case State::waiting:
      if (!instance.start_order().stuck) return false;  // on once its order is met
      phase_ = RollingPhase::stopping_old;              // it cannot come up until an operator acts
      ++next_;
      return true;
    case State::running:
    case State::backoff:
    case State::fatal:
    case State::stopped:
    case State::stopping:  // an operator stopped it meanwhile
      phase_ = RollingPhase::stopping_old;
      ++next_;
      return true;
  }
  return false;
}

// Says how the restart ended, not only that it did: an instance that failed to come up is
// named with its state and last exit.
void RollingRestart::finish(const Instances& instances, const config::WorkerSpec& spec) {
  std::string failing;
  for (const auto& instance : instances) {
    const State state = instance->state();
    if (state != State::backoff && state != State::fatal && state != State::waiting) continue;
    const InstanceStatus s = instance->status();
    std::string waiting_for;
    for (const std::string& name : s.waiting_for)
      waiting_for += (waiting_for.empty() ? " for " : ", ") + name;
    failing += (failing.empty() ? "" : ", ") + instance->label() + " " + state_name(state) +
               waiting_for + (s.last_exit.empty() ? "" : " (" + s.last_exit + ")");
  }
  if (failing.empty()) {
    log_info("worker " + spec.name + ": every instance restarted");
  } else {
    log_warning("worker " + spec.name + ": restart done, but not every instance is up: " + failing);
  }
}

}  // namespace confvisor::supervise
