#include "daemon/supervise/worker_instance.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>

#include "common/base/error.hpp"
#include "common/base/log.hpp"
#include "common/json/units.hpp"
#include "common/os/signal_names.hpp"
#include "common/segment/name.hpp"
#include "daemon/supervise/output_relay.hpp"
#include "daemon/supervise/process_tracking.hpp"
#include "daemon/supervise/spawn.hpp"

namespace confvisor::supervise {

namespace {
using Clock = std::chrono::steady_clock;

std::string duration_text(std::chrono::milliseconds d) {
  return format_duration(d);
}
}  // namespace

const char* state_name(State s) {
  switch (s) {
    case State::stopped:
      return "STOPPED";
    case State::starting:
      return "STARTING";
    case State::running:
      return "RUNNING";
    case State::backoff:
      return "BACKOFF";
    case State::stopping:
      return "STOPPING";
    case State::fatal:
      return "FATAL";
    case State::waiting:
      return "WAITING";
  }
  return "?";
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "killed by " + signal_name(WTERMSIG(status)) +
           (WCOREDUMP(status) ? " (core dumped)" : "");
  }
  return "wait status " + std::to_string(status);
}

WorkerInstance::WorkerInstance(InstanceHost& host, std::shared_ptr<const config::WorkerSpec> spec,
                               unsigned index)
    : host_(host),
      spec_(std::move(spec)),
      index_(index),
      next_backoff_(spec_->backoff.initial),
      timer_(host.io),
      watchdog_(host.io),
      output_(std::make_shared<InstanceOutput>(
          spec_->name, index, spec_->log,
          host.log_files != nullptr ? host.log_files->open(spec_->log) : nullptr)) {}

WorkerInstance::~WorkerInstance() {
  // The supervisor stops instances before dropping them; this is the last resort that keeps
  // "nothing of a worker survives" true even on an unexpected path.
  if (pid_ > 0) {
    signal_group(SIGKILL);
    host_.track_pid(pid_, nullptr);
  }
  if (cgroup_ && cgroup_->populated()) {
    try {
      cgroup_->kill();
    } catch (const Error& e) {
      log_error(tag() + ": " + e.what());
    }
  }
}

std::string WorkerInstance::label() const {
  return spec_->name + "[" + std::to_string(index_) + "]";
}

std::string WorkerInstance::tag() const {
  return "worker " + label() + " (generation " + std::to_string(host_.generation()) + ")";
}

void WorkerInstance::set_state(State s) {
  state_ = s;
  host_.changed();
}

// Restarts, the restart limit's window and the last exit tell how this definition fares: a
// changed definition starts over with none (a change of `instances`, `after` or `on_fatal`
// alone is no change).
void WorkerInstance::use_spec(std::shared_ptr<const config::WorkerSpec> spec) {
  if (!config::same_run(*spec_, *spec)) {
    restarts_ = 0;
    recent_restarts_.clear();
    last_exit_.clear();
    next_backoff_ = spec->backoff.initial;
  }
  if (spec->log != spec_->log) use_log(spec->log);
  spec_ = std::move(spec);
}

void WorkerInstance::use_log(const config::LogSettings& log) {
  output_->configure(log, host_.log_files != nullptr ? host_.log_files->open(log) : nullptr);
}

void WorkerInstance::wind_down() {
  retired_ = true;
  switch (state_) {
    case State::backoff:
    case State::fatal:
    case State::waiting:
      ++timer_epoch_;  // its restart, retry or wait is called off
      set_state(State::stopped);
      return;
    case State::starting:
    case State::running:
    case State::stopping:
      return;  // the run goes on until its stop; an exit now is not restarted
    case State::stopped:
      return;  // nothing to call off
  }
}

void WorkerInstance::retire() {
  wind_down();
  stop();
}

void WorkerInstance::start() {
  if (retired_) return;  // removed from the config: never started again
  switch (state_) {
    case State::stopped:
    case State::backoff:  // now, without waiting for the backoff to elapse
      begin();
      return;
    case State::fatal:
      recent_restarts_.clear();  // leaving FATAL, it has the whole restart limit again
      begin();
      return;
    case State::starting:
    case State::running:
      return;  // up already, or on its way
    case State::waiting:
      return;  // it starts once its order is met
    case State::stopping:
      return;  // the stop runs to its end; a restart starts it once it is Stopped
  }
}

void WorkerInstance::order_met() {
  switch (state_) {
    case State::waiting:
      begin();  // which looks again: the order may have changed since the supervisor looked
      return;
    case State::stopped:
    case State::starting:
    case State::running:
    case State::backoff:
    case State::stopping:
    case State::fatal:
      return;  // not waiting: a start, a backoff or a retry will look at the order itself
  }
}

bool WorkerInstance::lets_dependents_start() const {
  return state_ == State::running || (state_ == State::stopped && completed_ && !held_);
}

bool WorkerInstance::awaits_readiness() const {
  return state_ == State::starting && pid_ > 0 && spec_->ready == config::Readiness::notify;
}

bool WorkerInstance::has_run() const {
  return state_ == State::starting || state_ == State::running || state_ == State::stopping;
}

StartOrder WorkerInstance::start_order() const {
  if (!host_.start_order || spec_->after.empty()) return {};
  return host_.start_order(*spec_);
}

// The way to every start: it waits for the workers of its "after", unless it was retired.
void WorkerInstance::begin() {
  if (retired_) {
    ++timer_epoch_;
    set_state(State::stopped);
    return;
  }
  const StartOrder order = start_order();
  if (order.unready.empty()) {
    spawn();
    return;
  }
  ++timer_epoch_;
  std::string names;
  for (const std::string& name : order.unready) names += (names.empty() ? "" : ", ") + name;
  if (state_ != State::waiting) {
    log_info(tag() + " waiting for " + names + " to be ready before it starts");
  }
  set_state(State::waiting);
}

void WorkerInstance::stop() {
  switch (state_) {
    case State::starting:
    case State::running:
      log_info(tag() + " stopping: " + signal_name(spec_->stop_signal) + " to process group " +
               std::to_string(pid_));
      signal_group(spec_->stop_signal);
      set_state(State::stopping);
      schedule(spec_->stop_timeout, &WorkerInstance::on_stop_timeout);
      return;
    case State::backoff:
    case State::fatal:
      ++timer_epoch_;  // its restart is called off
      set_state(State::stopped);
      return;
    case State::waiting:
      ++timer_epoch_;
      log_info(tag() + " no longer waiting to start: stopped");
      set_state(State::stopped);
      return;
    case State::stopping:
      return;  // on its way already, its stop timeout running
    case State::stopped:
      return;  // nothing to stop
  }
}

void WorkerInstance::exited(int status) {
  switch (state_) {
    case State::starting:
    case State::running:
    case State::stopping:
      end_run(status);
      return;
    case State::stopped:
    case State::backoff:
    case State::fatal:
    case State::waiting:
      return;  // cannot happen: no main process here, and exits are routed by pid
  }
}

void WorkerInstance::on_cgroup_event() {
  switch (state_) {
    case State::starting:
    case State::running:
    case State::stopping:
      // The run ends once its main process has been reaped and its cgroup is empty. Any
      // other change of the cgroup (a process of the run starting or ending) is no event.
      if (exit_status_ && cgroup_ && !cgroup_->populated()) run_ended();
      return;
    case State::stopped:
    case State::backoff:
    case State::fatal:
    case State::waiting:
      return;  // cannot happen: the watch ends with the run's cgroup
  }
}

void WorkerInstance::run_ended() {
  switch (state_) {
    case State::starting:
      after_exit(close_run(), false);
      return;
    case State::running:
      after_exit(close_run(), true);
      return;
    case State::stopping:
      close_run();
      log_info(tag() + " stopped: " + last_exit_);
      set_state(State::stopped);
      return;
    case State::stopped:
    case State::backoff:
    case State::fatal:
    case State::waiting:
      return;  // cannot happen: no run here
  }
}

void WorkerInstance::on_start_window() {
  switch (state_) {
    case State::starting:
      became_ready();
      return;
    case State::running:
      return;  // ready already, by a READY=1
    case State::stopped:
    case State::backoff:
    case State::stopping:
    case State::fatal:
    case State::waiting:
      return;  // cannot happen: the epoch voids the timer once it leaves Starting
  }
}

void WorkerInstance::on_ready() {
  switch (state_) {
    case State::starting:
      became_ready();
      return;
    case State::running:
      return;  // ready already (a second READY=1, as after a reload)
    case State::stopping:
      return;  // too late: it is being stopped
    case State::stopped:
    case State::backoff:
    case State::fatal:
    case State::waiting:
      return;  // cannot happen: no process here to send it
  }
}

void WorkerInstance::on_backoff_elapsed() {
  switch (state_) {
    case State::backoff:
      begin();
      return;
    case State::stopped:
    case State::starting:
    case State::running:
    case State::stopping:
    case State::fatal:
    case State::waiting:
      return;  // cannot happen: the epoch voids the timer once it leaves Backoff
  }
}

void WorkerInstance::on_stop_timeout() {
  switch (state_) {
    case State::stopping:
      log_warning(tag() + " did not stop within " + duration_text(spec_->stop_timeout) +
                  ": SIGKILL to process group " + std::to_string(pid_) +
                  (cgroup_ ? " and cgroup.kill on " + cgroup_->path() : std::string()));
      signal_group(SIGKILL);
      if (cgroup_) {
        kill_cgroup();
      } else {
        host_.sweep_leftovers(spec_->name, index_);
      }
      return;  // it stays Stopping until the run has ended
    case State::stopped:
    case State::starting:
    case State::running:
    case State::backoff:
    case State::fatal:
    case State::waiting:
      return;  // cannot happen: the epoch voids the timer once it leaves Stopping
  }
}

void WorkerInstance::on_fatal_retry() {
  switch (state_) {
    case State::fatal:
      log_info(tag() + " leaves FATAL after " + duration_text(*spec_->fatal_retry_after) +
               ": starting it again");
      next_backoff_ = spec_->backoff.initial;
      recent_restarts_.clear();
      begin();
      return;
    case State::stopped:
    case State::starting:
    case State::running:
    case State::backoff:
    case State::stopping:
    case State::waiting:
      return;  // cannot happen: the epoch voids the timer once it leaves Fatal
  }
}

void WorkerInstance::on_watchdog_timeout() {
  switch (state_) {
    case State::starting:
    case State::running:
      log_error(tag() + " watchdog timeout: no WATCHDOG=1 for " + duration_text(*spec_->watchdog) +
                "; killing process group " + std::to_string(pid_));
      watchdog_fired_ = true;
      // Its exit then goes through the restart policy like any crash.
      signal_group(SIGKILL);
      return;
    case State::stopping:
      return;  // its stop timeout bounds how long it may take
    case State::stopped:
    case State::backoff:
    case State::fatal:
    case State::waiting:
      return;  // cannot happen: the watchdog is cancelled with the exit
  }
}

void WorkerInstance::on_watchdog() {
  switch (state_) {
    case State::starting:
    case State::running:
      arm_watchdog();
      return;
    case State::stopping:
      return;  // no longer watched: its stop timeout bounds it
    case State::stopped:
    case State::backoff:
    case State::fatal:
    case State::waiting:
      return;  // cannot happen: no process here to send it
  }
}

void WorkerInstance::send_reload_signal() {
  switch (state_) {
    case State::starting:
    case State::running:
      if (pid_ <= 0) return;  // reaped, its cgroup emptying: the run is ending
      log_info(tag() + " reload: " + signal_name(spec_->reload_signal) + " to pid " +
               std::to_string(pid_));
      ::kill(pid_, spec_->reload_signal);
      return;
    case State::stopping:
      return;  // it is being stopped
    case State::stopped:
    case State::backoff:
    case State::fatal:
    case State::waiting:
      return;  // no process: its next start reads the new generation
  }
}

void WorkerInstance::notified(const std::string& message) {
  std::size_t begin = 0;
  while (begin < message.size()) {
    std::size_t end = message.find('\n', begin);
    if (end == std::string::npos) end = message.size();
    const std::string line = message.substr(begin, end - begin);
    begin = end + 1;
    if (line == "READY=1") {
      on_ready();
    } else if (line == "WATCHDOG=1") {
      on_watchdog();
    } else if (line.rfind("STATUS=", 0) == 0) {
      status_text_ = line.substr(7);
      log_debug(tag() + " status: " + status_text_);
    } else if (line == "STOPPING=1") {
      log_info(tag() + " reports it is stopping");
    }
  }
}

// Reports are taken in any state: a process of the instance may send one as it exits. A
// report older than what the instance has reported already changes nothing.
bool WorkerInstance::acknowledged(const AckReport& report) {
  switch (report.outcome) {
    case AckOutcome::applied:
      if (applied_ && report.generation <= *applied_) return false;
      applied_ = report.generation;
      if (rejected_ && *rejected_ <= report.generation) {
        rejected_.reset();
        rejected_reason_.clear();
      }
      return true;
    case AckOutcome::rejected:
      if (applied_ && report.generation < *applied_) return false;
      if (rejected_ && report.generation == *rejected_ && report.reason == rejected_reason_) {
        return false;
      }
      if (applied_ && report.generation == *applied_) applied_.reset();
      rejected_ = report.generation;
      rejected_reason_ = report.reason;
      return true;
  }
  return false;
}

// Starts a run: from Stopped, Backoff, Fatal or Waiting to Starting, or on to Backoff or
// Fatal when the spawn fails.
void WorkerInstance::spawn() {
  ++timer_epoch_;
  completed_ = false;
  watchdog_fired_ = false;
  watchdog_.cancel();
  applied_.reset();
  rejected_.reset();
  rejected_reason_.clear();
  SpawnRequest request{
      spec_.get(),
      index_,
      index_ < spec_->canary_instances ? canary_segment(host_.segment) : host_.segment,
      spec_->ready == config::Readiness::notify ? host_.notify_socket : "",
      spec_->watchdog ? static_cast<std::uint64_t>(spec_->watchdog->count()) * 1000 : 0,
      -1,
      "",
      false,
      host_.ack_socket};
  Spawned spawned;
  try {
    const UniqueFd cgroup_procs = enter_cgroup();
    request.cgroup_procs = cgroup_procs.get();
    if (cgroup_) request.cgroup = cgroup_->path();
    spawned = spawn_worker(request);
  } catch (const Error& e) {
    log_error(std::string(e.what()) + " (generation " + std::to_string(host_.generation()) + ")");
    // "unable to start api[0]: execve /usr/bin/api: No such file or directory" gives
    // "failed to start: execve /usr/bin/api: No such file or directory".
    const std::string why = e.what(), prefix = "unable to start " + label() + ": ";
    last_exit_ = "failed to start: " + (why.starts_with(prefix) ? why.substr(prefix.size()) : why);
    output_->event(last_exit_);
    leave_cgroup();
    report_failure(FailureKind::start_failed, last_exit_);
    after_failure(e.what(), false);
    return;
  }
  pid_ = spawned.pid;
  program_ = std::move(spawned.program);
  started_at_ = Clock::now();
  host_.track_pid(pid_, this);
  run_ = output_->begin_run("started: pid " + std::to_string(pid_) + " (" + program_ + ")");
  OutputRelay::start(host_.io, std::move(spawned.out), run_, OutputStream::out);
  OutputRelay::start(host_.io, std::move(spawned.err), run_, OutputStream::err);
  log_info(tag() + " started: pid " + std::to_string(pid_) + " (" + program_ + ")");
  set_state(State::starting);
  if (spec_->ready == config::Readiness::started) {
    schedule(spec_->start_window, &WorkerInstance::on_start_window);
  }
  arm_watchdog();
}

void WorkerInstance::became_ready() {
  next_backoff_ = spec_->backoff.initial;  // the start counted: the next failure starts over
  settled_ = true;
  log_info(tag() + " running: pid " + std::to_string(pid_));
  set_state(State::running);
}

// The main process has been reaped. Nothing of the worker outlives it. With a cgroup,
// whatever is still in it goes, whatever its session or environment, and the run ends once
// the cgroup is empty. Without, what is left of its group goes, and what escaped the group
// (setsid, double fork) was adopted by us and goes too.
void WorkerInstance::end_run(int status) {
  const pid_t was = pid_;
  host_.track_pid(was, nullptr);
  pid_ = 0;
  ++timer_epoch_;
  watchdog_.cancel();
  exit_status_ = status;
  if (cgroup_) {
    kill_cgroup();
    if (!cgroup_->populated()) run_ended();
    return;
  }
  ::kill(-was, SIGKILL);
  host_.sweep_leftovers(spec_->name, index_);
  run_ended();
}

int WorkerInstance::close_run() {
  const int status = exit_status_.value_or(0);
  exit_status_.reset();
  leave_cgroup();
  last_exit_ = describe_wait_status(status);
  if (run_) run_->ended("exited: " + last_exit_);
  run_.reset();
  return status;
}

bool WorkerInstance::counts_as_success(int status) const {
  if (!WIFEXITED(status)) return false;
  const auto& codes = spec_->success_exit_codes;
  return std::find(codes.begin(), codes.end(), WEXITSTATUS(status)) != codes.end();
}

// A run that ended by itself: restarted, or not, as the restart policy says.
void WorkerInstance::after_exit(int status, bool was_ready) {
  const bool wanted =
      spec_->restart == config::RestartPolicy::always ||
      (spec_->restart == config::RestartPolicy::on_failure && !counts_as_success(status));
  if (!retired_ && !counts_as_success(status)) {
    report_failure(watchdog_fired_ ? FailureKind::watchdog : FailureKind::crashed,
                   watchdog_fired_
                       ? "no WATCHDOG=1 for " + duration_text(*spec_->watchdog) + ", " + last_exit_
                       : last_exit_);
  }
  if (retired_) {
    log_info(tag() + " exited (" + last_exit_ + "); not restarted: it is being stopped for good");
    settled_ = true;
    set_state(State::stopped);
    return;
  }
  if (!wanted) {
    log_info(tag() + " exited (" + last_exit_ + "); not restarted (restart: " +
             (spec_->restart == config::RestartPolicy::never ? "never" : "on-failure") + ")");
    settled_ = true;
    completed_ = counts_as_success(status);
    set_state(State::stopped);
    return;
  }
  after_failure(last_exit_, was_ready);
}

void WorkerInstance::after_failure(const std::string& why, bool was_ready) {
  const auto now = Clock::now();
  const auto& limit = spec_->restart_limit;
  while (!recent_restarts_.empty() && now - recent_restarts_.front() > limit.period) {
    recent_restarts_.pop_front();
  }
  if (recent_restarts_.size() >= limit.count) {
    std::string retry = spec_->fatal_retry_after
                            ? "; retried in " + duration_text(*spec_->fatal_retry_after)
                            : "; it stays stopped until started again";
    log_error(tag() + " is FATAL: " + std::to_string(recent_restarts_.size()) +
              " restart(s) within " + duration_text(limit.period) + ", last: " + why + retry);
    settled_ = true;
    set_state(State::fatal);
    if (spec_->fatal_retry_after)
      schedule(*spec_->fatal_retry_after, &WorkerInstance::on_fatal_retry);
    return;
  }
  recent_restarts_.push_back(now);
  ++restarts_;
  if (was_ready) next_backoff_ = spec_->backoff.initial;
  const std::chrono::milliseconds delay = next_backoff_;
  next_backoff_ = std::min(spec_->backoff.max, next_backoff_ * 2);
  log_warning(tag() + " failed (" + why + "); restarting in " + duration_text(delay) + " (" +
              std::to_string(recent_restarts_.size()) + " of at most " +
              std::to_string(limit.count) + " restart(s) within " + duration_text(limit.period) +
              ")");
  set_state(State::backoff);
  schedule(delay, &WorkerInstance::on_backoff_elapsed);
}

void WorkerInstance::report_failure(FailureKind kind, const std::string& reason) const {
  if (host_.failed) host_.failed(RunFailure{spec_->name, index_, kind, reason});
}

// Timers are re-armed from many states. A handler that already expired cannot be cancelled
// by Asio, so each one checks that no newer schedule() (or start/stop/exit) came after it.
void WorkerInstance::schedule(std::chrono::milliseconds delay, void (WorkerInstance::*handler)()) {
  const std::uint64_t epoch = ++timer_epoch_;
  timer_.expires_after(delay);
  timer_.async_wait([weak = weak_from_this(), handler, epoch](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->timer_epoch_ != epoch) return;
    ((*self).*handler)();
  });
}

void WorkerInstance::arm_watchdog() {
  if (!spec_->watchdog) return;
  watchdog_.expires_after(*spec_->watchdog);
  watchdog_.async_wait([weak = weak_from_this(), pid = pid_](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->pid_ != pid) return;
    self->on_watchdog_timeout();
  });
}

void WorkerInstance::signal_group(int sig) const {
  if (pid_ > 0) ::kill(-pid_, sig);  // never kill(0) or kill(-1)
}

// The cgroup of this run, with the spec's limits, watched from the loop. A limit the spec
// does not set is written back to the kernel's default, in case the cgroup is one left by
// an earlier start that failed.
UniqueFd WorkerInstance::enter_cgroup() {
  if (host_.tracking == nullptr || host_.tracking->mode() != TrackingMode::cgroup) return {};
  cgroup_watch_.reset();  // before a new watch: inotify gives the same file the same wd
  cgroup_ = Cgroup::create(host_.tracking->instance_cgroup(spec_->name, index_).path());
  const config::Limits& limits = spec_->limits;
  auto apply = [this](const char* file, const std::optional<std::uint64_t>& value,
                      const char* fallback) {
    if (value) {
      cgroup_->write(file, std::to_string(*value));
    } else if (cgroup_->read(file)) {
      cgroup_->write(file, fallback);
    }
  };
  apply("memory.max", limits.memory_max, "max");
  if (limits.memory_max) cgroup_->write("memory.oom.group", "1");  // an OOM kill ends the run
  apply("pids.max", limits.tasks_max, "max");
  apply("cpu.weight", limits.cpu_weight, "100");
  cgroup_watch_ = host_.tracking->watch().watch(cgroup_->path(), [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->on_cgroup_event();
  });
  return cgroup_->open_procs();
}

// Logs every process still in the cgroup and ends them all at once.
void WorkerInstance::kill_cgroup() {
  const std::vector<pid_t> pids = cgroup_->pids();
  if (pids.empty() && !cgroup_->populated()) return;
  for (pid_t pid : pids) {
    log_info("killing pid " + std::to_string(pid) + ", left behind by " + label() + " in cgroup " +
             cgroup_->path());
  }
  try {
    cgroup_->kill();
  } catch (const Error& e) {
    log_error(tag() + ": " + e.what());
  }
}

// Removes the run's cgroup once it is empty. One that is not (a child whose start failed is
// still exiting) stays, and the next start uses it again.
void WorkerInstance::leave_cgroup() {
  cgroup_watch_.reset();
  if (!cgroup_) return;
  std::string why;
  if (!cgroup_->populated() && !cgroup_->remove(&why)) log_warning(tag() + ": " + why);
  cgroup_.reset();
}

InstanceStatus WorkerInstance::brief_status() const {
  InstanceStatus s;
  s.name = spec_->name;
  s.instance = index_;
  s.pid = pid_;
  s.state = state_;
  if (pid_ > 0) s.uptime = Clock::now() - started_at_;
  s.restarts = restarts_;
  s.last_exit = last_exit_;
  s.status_text = status_text_;
  s.program = program_;
  s.acks = spec_->acks;
  s.applied = applied_;
  s.rejected = rejected_;
  s.rejected_reason = rejected_reason_;
  return s;
}

InstanceStatus WorkerInstance::status() const {
  InstanceStatus s = brief_status();
  if (state_ == State::waiting) s.waiting_for = start_order().unready;
  if (cgroup_) {
    s.cgroup = cgroup_->path();
    if (const auto current = cgroup_->read("memory.current")) {
      s.memory_current = std::strtoull(current->c_str(), nullptr, 10);
    }
  }
  return s;
}

}  // namespace confvisor::supervise
