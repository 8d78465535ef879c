// The state machines of daemon/supervise, in process: a WorkerInstance driven through its
// table of state x event (daemon/supervise/worker_instance.hpp), and a RollingRestart
// through its diagram (daemon/supervise/rolling_restart.hpp). They run real short-lived
// processes (/bin/sleep, /bin/sh) on a real Asio loop that reaps them on SIGCHLD, as the
// supervisor does; each case checks the state an event leads to and what it did to the
// process (the signal it died of, a new pid, a restart counted).
#define BOOST_TEST_MODULE worker_state
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/supervise/process_tracking.hpp"
#include "daemon/supervise/rolling_restart.hpp"
#include "daemon/supervise/worker_command.hpp"
#include "daemon/supervise/worker_instance.hpp"
#include "tests/support/test_support.hpp"

using namespace confvisor::supervise;
using confvisor::config::RestartPolicy;
using confvisor::config::WorkerSpec;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Spec = std::shared_ptr<const WorkerSpec>;
using States = std::vector<State>;

namespace confvisor::supervise {
// For Boost.Test's messages.
std::ostream& operator<<(std::ostream& out, State s) {
  return out << state_name(s);
}
std::ostream& operator<<(std::ostream& out, RollingPhase p) {
  return out << rolling_phase_name(p);
}
std::ostream& operator<<(std::ostream& out, CommandPhase p) {
  return out << command_phase_name(p);
}
}  // namespace confvisor::supervise

namespace {

// A worker with timings short enough for a test: ready 50 ms after its start, restarted
// 20 ms after a failure, and given 5 s to stop.
WorkerSpec spec_of(std::vector<std::string> command) {
  WorkerSpec spec;
  spec.name = "w";
  spec.command = std::move(command);
  spec.start_window = 50ms;
  spec.backoff.initial = 20ms;
  spec.backoff.max = 20ms;
  spec.stop_timeout = 5s;
  return spec;
}

// One that exits 1 at once, within its start window however slow the machine.
WorkerSpec failing_spec() {
  WorkerSpec spec = spec_of({"/bin/sh", "-c", "exit 1"});
  spec.start_window = 30s;
  return spec;
}

Spec shared(WorkerSpec spec) {
  return std::make_shared<const WorkerSpec>(std::move(spec));
}

const std::vector<std::string> kSleep = {"/bin/sleep", "30"};

std::vector<std::string> sh(const std::string& script) {
  return {"/bin/sh", "-c", script};
}

// A supervisor in miniature: one loop, the host an instance reports to, the reaping of its
// children on SIGCHLD, and a record of every state each instance has entered. With
// `cgroups`, the process tracking the daemon would have (cgroup v2 where it can be had).
class Loop {
 public:
  explicit Loop(bool cgroups = false)
      : segment_(confvisor::test::unique_segment("state")),
        host_{io,
              segment_,
              "",
              [] { return std::uint64_t{7}; },
              [this](pid_t pid, WorkerInstance* instance) {
                if (instance != nullptr) {
                  by_pid_[pid] = instance->weak_from_this();
                } else {
                  by_pid_.erase(pid);
                }
              },
              [this] { changed(); },
              [this](const std::string&, unsigned) { ++sweeps; },
              nullptr},
        sigchld_(io, SIGCHLD) {
    if (cgroups) host_.tracking = &tracking_.emplace(io, segment_);
    wait_for_children();
  }
  ~Loop() { stop_all(); }
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  std::shared_ptr<WorkerInstance> instance(const Spec& spec, unsigned index = 0) {
    instances_.push_back(std::make_shared<WorkerInstance>(host_, spec, index));
    history_.emplace_back();
    return instances_.back();
  }

  // Ends whatever a case left running, at once.
  void stop_all() {
    on_change = nullptr;
    for (auto& instance : instances_) {
      instance->stop();
      if (instance->pid() > 0) ::kill(-instance->pid(), SIGKILL);
    }
    run_until([this] {
      for (auto& instance : instances_) {
        if (instance->state() != State::stopped) return false;
      }
      return true;
    });
  }

  // Runs the loop until `done` (true) or `timeout` (false).
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = Clock::now() + timeout;
    while (!done()) {
      if (Clock::now() >= deadline) return false;
      io.run_one_until(deadline);
    }
    return true;
  }
  // Runs the loop for `d`: for what must not happen in that time.
  void run_for(std::chrono::milliseconds d) {
    const auto until = Clock::now() + d;
    while (Clock::now() < until) io.run_one_until(until);
  }
  bool reach(const WorkerInstance& instance, State s, std::chrono::milliseconds timeout = 10s) {
    return run_until([&] { return instance.state() == s; }, timeout);
  }

  // The states instance `n` (in the order made) has entered, in order: "STARTING RUNNING".
  [[nodiscard]] std::string history(std::size_t n = 0) const {
    std::string out;
    for (State s : history_.at(n)) out += (out.empty() ? "" : " ") + std::string(state_name(s));
    return out;
  }
  void forget_history() {
    for (auto& h : history_) h.clear();
  }
  [[nodiscard]] ProcessTracking* tracking() { return host_.tracking; }
  // The start order every instance of the loop is given: while `unready` is not empty, an
  // instance whose spec has an "after" waits, blocked for good if `stuck`.
  void use_start_order() {
    host_.start_order = [this](const WorkerSpec&) { return order; };
  }
  StartOrder order;

  boost::asio::io_context io;
  unsigned changes = 0;  // calls of InstanceHost::changed
  unsigned sweeps = 0;   // calls of InstanceHost::sweep_leftovers
  std::function<void()> on_change;

 private:
  void changed() {
    ++changes;
    for (std::size_t n = 0; n < instances_.size(); ++n) {
      const State s = instances_[n]->state();
      if (s != (history_[n].empty() ? State::stopped : history_[n].back())) {
        history_[n].push_back(s);
      }
    }
    if (on_change) on_change();
  }

  void wait_for_children() {
    sigchld_.async_wait([this](const boost::system::error_code& ec, int) {
      if (ec) return;
      reap();
      wait_for_children();
    });
  }

  void reap() {
    for (;;) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) return;
      auto it = by_pid_.find(pid);
      if (it == by_pid_.end()) continue;  // a leftover, or a child whose exec failed
      if (auto instance = it->second.lock()) instance->exited(status);
    }
  }

  std::string segment_;
  std::optional<ProcessTracking> tracking_;  // before the instances, which use its watch
  InstanceHost host_;
  boost::asio::signal_set sigchld_;
  std::map<pid_t, std::weak_ptr<WorkerInstance>> by_pid_;
  std::vector<std::shared_ptr<WorkerInstance>> instances_;
  std::vector<States> history_;
};

bool alive(pid_t pid) {
  return pid > 0 && ::kill(pid, 0) == 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(worker_instance)

// start in Stopped: spawn, Starting; start window: Running.
BOOST_AUTO_TEST_CASE(a_start_spawns_it_and_its_start_window_makes_it_running) {
  Loop loop;
  auto w = loop.instance(shared(spec_of(kSleep)));
  w->start();
  BOOST_TEST(w->state() == State::starting);
  BOOST_TEST(alive(w->pid()));
  BOOST_TEST(!w->settled());
  BOOST_REQUIRE(loop.reach(*w, State::running));
  BOOST_TEST(w->settled());
  BOOST_TEST(loop.history() == "STARTING RUNNING");
  BOOST_TEST(w->status().program == "/bin/sleep");
}

// start in Starting and in Running: ignored, the same process goes on.
BOOST_AUTO_TEST_CASE(a_start_while_starting_or_running_changes_nothing) {
  Loop loop;
  auto w = loop.instance(shared(spec_of(kSleep)));
  w->start();
  const pid_t pid = w->pid();
  const unsigned changes = loop.changes;
  w->start();
  BOOST_TEST(w->pid() == pid);
  BOOST_TEST(loop.changes == changes);
  BOOST_REQUIRE(loop.reach(*w, State::running));
  w->start();
  BOOST_TEST(w->pid() == pid);
  BOOST_TEST(w->state() == State::running);
  BOOST_TEST(loop.history() == "STARTING RUNNING");
}

// stop in Starting and in Running: the stop signal, Stopping; run ended: Stopped.
BOOST_AUTO_TEST_CASE(a_stop_while_starting_or_running_sends_the_stop_signal) {
  for (const bool wait_ready : {false, true}) {
    BOOST_TEST_CONTEXT((wait_ready ? "from Running" : "from Starting")) {
      Loop loop;
      auto w = loop.instance(shared(spec_of(kSleep)));
      w->start();
      if (wait_ready) BOOST_REQUIRE(loop.reach(*w, State::running));
      const pid_t pid = w->pid();
      w->stop();
      BOOST_TEST(w->state() == State::stopping);
      BOOST_TEST(w->pid() == pid);  // until it is reaped
      BOOST_REQUIRE(loop.reach(*w, State::stopped));
      BOOST_TEST(w->pid() == 0);
      BOOST_TEST(!alive(pid));
      BOOST_TEST(w->status().last_exit == "killed by SIGTERM");
      BOOST_TEST(w->status().restarts == 0u);
      BOOST_TEST(loop.history() ==
                 (wait_ready ? "STARTING RUNNING STOPPING STOPPED" : "STARTING STOPPING STOPPED"));
    }
  }
}

// stop in Stopping and in Stopped: ignored.
BOOST_AUTO_TEST_CASE(a_stop_while_stopping_or_stopped_changes_nothing) {
  Loop loop;
  auto w = loop.instance(shared(spec_of(kSleep)));
  w->stop();
  BOOST_TEST(w->state() == State::stopped);
  BOOST_TEST(loop.changes == 0u);
  w->start();
  BOOST_REQUIRE(loop.reach(*w, State::running));
  w->stop();
  const unsigned changes = loop.changes;
  w->stop();
  BOOST_TEST(loop.changes == changes);
  BOOST_REQUIRE(loop.reach(*w, State::stopped));
  BOOST_TEST(loop.history() == "STARTING RUNNING STOPPING STOPPED");
}

// start in Stopping: ignored; the stop runs to its end.
BOOST_AUTO_TEST_CASE(a_start_while_stopping_leaves_it_to_stop) {
  Loop loop;
  auto w = loop.instance(shared(spec_of(kSleep)));
  w->start();
  w->stop();
  w->start();
  BOOST_TEST(w->state() == State::stopping);
  BOOST_REQUIRE(loop.reach(*w, State::stopped));
  loop.run_for(100ms);
  BOOST_TEST(w->state() == State::stopped);
  BOOST_TEST(w->pid() == 0);
}

// stop timeout in Stopping: SIGKILL to the group, the leftovers swept; run ended: Stopped.
BOOST_AUTO_TEST_CASE(one_that_outlives_its_stop_timeout_is_killed) {
  Loop loop;
  WorkerSpec spec = spec_of(kSleep);
  spec.stop_signal = SIGWINCH;  // which sleep ignores
  spec.stop_timeout = 200ms;
  auto w = loop.instance(shared(spec));
  w->start();
  BOOST_REQUIRE(loop.reach(*w, State::running));
  w->stop();
  loop.run_for(100ms);
  BOOST_TEST(w->state() == State::stopping);
  BOOST_REQUIRE(loop.reach(*w, State::stopped));
  BOOST_TEST(w->status().last_exit == "killed by SIGKILL");
  BOOST_TEST(loop.sweeps == 2u);  // at the timeout, and after the exit
}

// run ended in Starting and in Running, by policy: Backoff, then backoff elapsed: spawn.
BOOST_AUTO_TEST_CASE(a_failed_run_backs_off_then_starts_again) {
  Loop loop;
  WorkerSpec spec = spec_of(sh("exit 3"));
  spec.start_window = 10s;  // it fails while Starting
  auto w = loop.instance(shared(spec));
  w->start();
  const pid_t first = w->pid();
  BOOST_REQUIRE(loop.reach(*w, State::backoff));
  BOOST_TEST(w->status().last_exit == "exit code 3");
  BOOST_TEST(w->status().restarts == 1u);
  BOOST_TEST(loop.sweeps == 1u);
  BOOST_REQUIRE(loop.reach(*w, State::starting));
  BOOST_TEST(w->pid() != first);
  BOOST_TEST(loop.history() == "STARTING BACKOFF STARTING");
}

// run ended in Running, by policy: Backoff, then backoff elapsed: spawn.
BOOST_AUTO_TEST_CASE(a_crash_while_running_backs_off_then_starts_again) {
  Loop loop;
  auto w = loop.instance(shared(spec_of(kSleep)));
  w->start();
  BOOST_REQUIRE(loop.reach(*w, State::running));
  const pid_t first = w->pid();
  ::kill(first, SIGSEGV);
  BOOST_REQUIRE(loop.reach(*w, State::backoff));
  BOOST_TEST(w->status().last_exit.starts_with("killed by SIGSEGV"), w->status().last_exit);
  BOOST_TEST(w->status().restarts == 1u);
  BOOST_REQUIRE(loop.reach(*w, State::running));
  BOOST_TEST(w->pid() != first);
  BOOST_TEST(loop.history() == "STARTING RUNNING BACKOFF STARTING RUNNING");
}

// run ended, policy says no: Stopped, whatever the state it ended in.
BOOST_AUTO_TEST_CASE(a_run_the_policy_does_not_restart_ends_stopped) {
  struct Case {
    RestartPolicy restart;
    std::string script;
    State after;
  };
  for (const Case& c : {Case{RestartPolicy::never, "exit 1", State::stopped},
                        Case{RestartPolicy::on_failure, "exit 0", State::stopped},
                        Case{RestartPolicy::on_failure, "exit 1", State::backoff},
                        Case{RestartPolicy::always, "exit 0", State::backoff}}) {
    BOOST_TEST_CONTEXT(c.script << " with policy " << static_cast<int>(c.restart)) {
      Loop loop;
      WorkerSpec spec = spec_of(sh(c.script));
      spec.restart = c.restart;
      spec.start_window = 10s;
      spec.backoff.initial = spec.backoff.max = 10s;  // stays in Backoff for the check
      auto w = loop.instance(shared(spec));
      w->start();
      BOOST_REQUIRE(loop.run_until([&] { return w->state() != State::starting; }));
      BOOST_TEST(w->state() == c.after);
      BOOST_TEST(w->settled() == (c.after == State::stopped));
    }
  }
}

// stop in Backoff: Stopped, and the backoff's timer starts nothing.
BOOST_AUTO_TEST_CASE(a_stop_in_backoff_calls_the_restart_off) {
  Loop loop;
  WorkerSpec spec = failing_spec();
  spec.backoff.initial = spec.backoff.max = 100ms;
  auto w = loop.instance(shared(spec));
  w->start();
  BOOST_REQUIRE(loop.reach(*w, State::backoff));
  w->stop();
  BOOST_TEST(w->state() == State::stopped);
  loop.run_for(300ms);
  BOOST_TEST(w->state() == State::stopped);
  BOOST_TEST(w->pid() == 0);
  BOOST_TEST(loop.history() == "STARTING BACKOFF STOPPED");
}

// start in Backoff: spawn now, without waiting for the backoff.
BOOST_AUTO_TEST_CASE(a_start_in_backoff_starts_it_at_once) {
  Loop loop;
  WorkerSpec spec = failing_spec();
  spec.backoff.initial = spec.backoff.max = 30s;
  auto w = loop.instance(shared(spec));
  w->start();
  BOOST_REQUIRE(loop.reach(*w, State::backoff));
  w->start();
  BOOST_TEST(w->state() == State::starting);
  BOOST_TEST(alive(w->pid()));
}

// run ended at the restart limit: Fatal; start and stop in Fatal.
BOOST_AUTO_TEST_CASE(the_restart_limit_makes_it_fatal_until_started_again) {
  Loop loop;
  WorkerSpec spec = failing_spec();
  spec.backoff.initial = spec.backoff.max = 10ms;
  spec.restart_limit.count = 2;
  auto w = loop.instance(shared(spec));
  w->start();
  BOOST_REQUIRE(loop.reach(*w, State::fatal));
  BOOST_TEST(w->status().restarts == 2u);
  BOOST_TEST(w->settled());
  BOOST_TEST(loop.history() == "STARTING BACKOFF STARTING BACKOFF STARTING FATAL");
  loop.run_for(100ms);  // no fatal_retry_after: it stays
  BOOST_TEST(w->state() == State::fatal);

  // A start gives it the whole restart limit again.
  loop.forget_history();
  w->start();
  BOOST_TEST(w->state() == State::starting);
  BOOST_REQUIRE(loop.reach(*w, State::fatal));
  BOOST_TEST(loop.history() == "STARTING BACKOFF STARTING BACKOFF STARTING FATAL");
  w->stop();
  BOOST_TEST(w->state() == State::stopped);
}

// fatal retry in Fatal: spawn.
BOOST_AUTO_TEST_CASE(fatal_retry_after_starts_it_again) {
  Loop loop;
  WorkerSpec spec = failing_spec();
  spec.restart_limit.count = 0;
  spec.fatal_retry_after = 100ms;
  auto w = loop.instance(shared(spec));
  w->start();
  BOOST_REQUIRE(loop.reach(*w, State::fatal));
  BOOST_REQUIRE(loop.reach(*w, State::starting));
  BOOST_REQUIRE(loop.reach(*w, State::fatal));
  BOOST_TEST(w->status().restarts == 0u);

  // stop in Fatal: Stopped, and the retry is called off.
  w->stop();
  loop.run_for(300ms);
  BOOST_TEST(w->state() == State::stopped);
}

// A spawn that fails: Backoff (or Fatal) at once, with the reason as its last exit.
BOOST_AUTO_TEST_CASE(a_start_that_cannot_spawn_backs_off) {
  Loop loop;
  WorkerSpec spec = spec_of({"/nonexistent/worker"});
  spec.backoff.initial = spec.backoff.max = 10s;
  auto w = loop.instance(shared(spec));
  w->start();
  BOOST_TEST(w->state() == State::backoff);
  BOOST_TEST(w->pid() == 0);
  BOOST_TEST(w->status().last_exit.starts_with("failed to start: "), w->status().last_exit);
  BOOST_TEST(loop.history() == "BACKOFF");

  spec.restart_limit.count = 0;
  auto f = loop.instance(shared(spec));
  f->start();
  BOOST_TEST(f->state() == State::fatal);
}

// READY=1 in Starting: Running; in Running and Stopping: ignored.
BOOST_AUTO_TEST_CASE(ready_1_makes_a_notify_worker_running) {
  Loop loop;
  WorkerSpec spec = spec_of(kSleep);
  spec.ready = confvisor::config::Readiness::notify;
  spec.stop_signal = SIGWINCH;  // stays Stopping for the check
  spec.stop_timeout = 10s;
  auto w = loop.instance(shared(spec));
  w->start();
  loop.run_for(100ms);
  BOOST_TEST(w->state() == State::starting);  // no start window for a notify worker
  w->notified("STATUS=warming up\nREADY=1");
  BOOST_TEST(w->state() == State::running);
  BOOST_TEST(w->status().status_text == "warming up");
  w->notified("READY=1");
  BOOST_TEST(w->state() == State::running);
  w->stop();
  w->notified("READY=1\nSTATUS=going");
  BOOST_TEST(w->state() == State::stopping);
  BOOST_TEST(w->status().status_text == "going");
  BOOST_TEST(loop.history() == "STARTING RUNNING STOPPING");
}

// watchdog in Starting or Running: SIGKILL, and the exit goes through the policy.
// WATCHDOG=1 re-arms it.
BOOST_AUTO_TEST_CASE(the_watchdog_kills_one_that_stops_pinging) {
  Loop loop;
  WorkerSpec spec = spec_of(kSleep);
  spec.ready = confvisor::config::Readiness::notify;
  spec.watchdog = 300ms;
  spec.backoff.initial = spec.backoff.max = 10s;
  auto w = loop.instance(shared(spec));
  w->start();
  const pid_t pid = w->pid();
  w->notified("READY=1");
  boost::asio::steady_timer ping(loop.io);
  std::function<void()> keep_pinging = [&] {
    w->notified("WATCHDOG=1");
    ping.expires_after(30ms);
    ping.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) keep_pinging();
    });
  };
  keep_pinging();
  loop.run_for(900ms);
  BOOST_TEST(w->state() == State::running);
  BOOST_TEST(w->pid() == pid);
  ping.cancel();
  BOOST_REQUIRE(loop.reach(*w, State::backoff));
  BOOST_TEST(w->status().last_exit == "killed by SIGKILL");
}

// watchdog in Stopping: ignored, the stop timeout bounds it.
BOOST_AUTO_TEST_CASE(the_watchdog_leaves_a_stopping_worker_to_its_stop_timeout) {
  Loop loop;
  WorkerSpec spec = spec_of(kSleep);
  spec.ready = confvisor::config::Readiness::notify;
  spec.watchdog = 100ms;
  spec.stop_signal = SIGWINCH;
  spec.stop_timeout = 600ms;
  auto w = loop.instance(shared(spec));
  w->start();
  w->stop();
  loop.run_for(300ms);
  BOOST_TEST(w->state() == State::stopping);
  BOOST_TEST(alive(w->pid()));
  BOOST_REQUIRE(loop.reach(*w, State::stopped));
  BOOST_TEST(w->status().last_exit == "killed by SIGKILL");
}

// reload in Running: the reload signal to its process; in Stopping and Stopped: nothing.
BOOST_AUTO_TEST_CASE(a_reload_signals_a_running_worker_only) {
  Loop loop;
  WorkerSpec spec = spec_of(kSleep);
  spec.backoff.initial = spec.backoff.max = 10s;
  auto w = loop.instance(shared(spec));
  w->send_reload_signal();
  BOOST_TEST(w->state() == State::stopped);
  BOOST_TEST(loop.changes == 0u);
  w->start();
  BOOST_REQUIRE(loop.reach(*w, State::running));
  w->send_reload_signal();  // SIGHUP, which ends a sleep
  BOOST_REQUIRE(loop.reach(*w, State::backoff));
  BOOST_TEST(w->status().last_exit == "killed by SIGHUP");

  WorkerSpec slow = spec_of(kSleep);
  slow.stop_signal = SIGWINCH;
  slow.stop_timeout = 300ms;
  auto s = loop.instance(shared(slow));
  s->start();
  s->stop();
  s->send_reload_signal();
  BOOST_REQUIRE(loop.reach(*s, State::stopped));
  BOOST_TEST(s->status().last_exit == "killed by SIGKILL");  // not by SIGHUP
}

// A retired instance stops, and no start brings it back.
BOOST_AUTO_TEST_CASE(a_retired_instance_is_never_started_again) {
  Loop loop;
  auto w = loop.instance(shared(spec_of(kSleep)));
  w->start();
  BOOST_REQUIRE(loop.reach(*w, State::running));
  w->retire();
  BOOST_TEST(w->state() == State::stopping);
  BOOST_REQUIRE(loop.reach(*w, State::stopped));
  w->start();
  BOOST_TEST(w->state() == State::stopped);
}

// A spec whose instances start after worker "db".
WorkerSpec after_db(WorkerSpec spec) {
  spec.after = {"db"};
  return spec;
}

// start with the order unmet: Waiting, no process; order met: spawn, Starting, Running.
BOOST_AUTO_TEST_CASE(a_start_with_its_order_unmet_waits_until_order_met) {
  Loop loop;
  loop.use_start_order();
  loop.order.unready = {"db"};
  auto w = loop.instance(shared(after_db(spec_of(kSleep))));
  w->start();
  BOOST_TEST(w->state() == State::waiting);
  BOOST_TEST(w->pid() == 0);
  BOOST_TEST(w->status().waiting_for == std::vector<std::string>{"db"},
             boost::test_tools::per_element());
  BOOST_TEST(!w->settled());
  w->start();      // start while Waiting: it goes on waiting
  w->order_met();  // sent too early: the order is looked at again
  BOOST_TEST(w->state() == State::waiting);
  loop.order.unready.clear();
  w->order_met();
  BOOST_TEST(w->state() == State::starting);
  BOOST_TEST(alive(w->pid()));
  BOOST_REQUIRE(loop.reach(*w, State::running));
  BOOST_TEST(w->status().waiting_for.empty());
  BOOST_TEST(loop.history() == "WAITING STARTING RUNNING");
}

// order met in every other state: ignored.
BOOST_AUTO_TEST_CASE(order_met_changes_nothing_in_other_states) {
  Loop loop;
  loop.use_start_order();
  auto w = loop.instance(shared(after_db(spec_of(kSleep))));
  w->order_met();
  BOOST_TEST(w->state() == State::stopped);
  BOOST_TEST(loop.changes == 0u);
  w->start();
  const pid_t pid = w->pid();
  w->order_met();
  BOOST_REQUIRE(loop.reach(*w, State::running));
  w->order_met();
  BOOST_TEST(w->pid() == pid);
  BOOST_TEST(loop.history() == "STARTING RUNNING");
}

// stop and wind down in Waiting: Stopped; a retired one is never started again.
BOOST_AUTO_TEST_CASE(a_stop_or_wind_down_while_waiting_stops_it) {
  Loop loop;
  loop.use_start_order();
  loop.order.unready = {"db"};
  auto a = loop.instance(shared(after_db(spec_of(kSleep))));
  auto b = loop.instance(shared(after_db(spec_of(kSleep))), 1);
  a->start();
  b->start();
  a->stop();
  b->wind_down();
  BOOST_TEST(a->state() == State::stopped);
  BOOST_TEST(b->state() == State::stopped);
  loop.order.unready.clear();
  b->start();
  BOOST_TEST(b->state() == State::stopped);
  a->start();
  BOOST_TEST(a->state() == State::starting);
}

// backoff elapsed and fatal retry with the order unmet: Waiting, not a spawn.
BOOST_AUTO_TEST_CASE(a_restart_with_its_order_unmet_waits) {
  Loop loop;
  loop.use_start_order();
  WorkerSpec spec = after_db(spec_of(kSleep));
  auto w = loop.instance(shared(spec));
  w->start();
  BOOST_REQUIRE(loop.reach(*w, State::running));
  loop.order.unready = {"db"};  // db went down meanwhile: the running one goes on
  ::kill(w->pid(), SIGKILL);
  BOOST_REQUIRE(loop.reach(*w, State::waiting));
  BOOST_TEST(loop.history() == "STARTING RUNNING BACKOFF WAITING");

  WorkerSpec fatal = after_db(failing_spec());
  fatal.restart_limit.count = 0;
  fatal.fatal_retry_after = 20ms;
  loop.order.unready.clear();
  auto f = loop.instance(shared(fatal), 1);
  f->start();
  BOOST_REQUIRE(loop.reach(*f, State::fatal));
  loop.order.unready = {"db"};
  BOOST_REQUIRE(loop.reach(*f, State::waiting));
}

// wind down in Starting or Running: the run goes on; its exit is not restarted. In Backoff
// or Fatal: Stopped at once, the restart called off.
BOOST_AUTO_TEST_CASE(wind_down_lets_a_run_go_on_and_calls_off_a_restart) {
  Loop loop;
  auto w = loop.instance(shared(spec_of(kSleep)));
  w->start();
  BOOST_REQUIRE(loop.reach(*w, State::running));
  w->wind_down();
  BOOST_TEST(w->state() == State::running);
  BOOST_TEST(alive(w->pid()));
  ::kill(w->pid(), SIGKILL);
  BOOST_REQUIRE(loop.reach(*w, State::stopped));
  BOOST_TEST(loop.history() == "STARTING RUNNING STOPPED");

  auto b = loop.instance(shared(failing_spec()), 1);
  b->start();
  BOOST_REQUIRE(loop.reach(*b, State::backoff));
  b->wind_down();
  BOOST_TEST(b->state() == State::stopped);
  loop.run_for(100ms);  // its backoff would have elapsed
  BOOST_TEST(b->state() == State::stopped);
}

// A one-shot that exited with success lets its dependents start; one held stopped does not.
BOOST_AUTO_TEST_CASE(a_one_shot_done_lets_dependents_start) {
  Loop loop;
  WorkerSpec spec = spec_of(sh("exit 0"));
  spec.restart = RestartPolicy::on_failure;
  spec.start_window = 10s;
  auto w = loop.instance(shared(spec));
  BOOST_TEST(!w->lets_dependents_start());
  w->start();
  BOOST_REQUIRE(loop.reach(*w, State::stopped));
  BOOST_TEST(w->lets_dependents_start());
  w->hold(true);
  BOOST_TEST(!w->lets_dependents_start());

  WorkerSpec never = spec_of(sh("exit 1"));
  never.restart = RestartPolicy::never;
  never.start_window = 10s;
  auto n = loop.instance(shared(never), 1);
  n->start();
  BOOST_REQUIRE(loop.reach(*n, State::stopped));
  BOOST_TEST(!n->lets_dependents_start());
}

// reaped in Stopped, Backoff, Fatal: cannot happen; should it, it changes nothing.
BOOST_AUTO_TEST_CASE(an_exit_without_a_run_changes_nothing) {
  Loop loop;
  auto w = loop.instance(shared(spec_of(kSleep)));
  w->exited(0);
  BOOST_TEST(w->state() == State::stopped);
  BOOST_TEST(w->status().last_exit.empty());
  BOOST_TEST(loop.changes == 0u);
}

// With cgroup tracking, a run ends once its main process has been reaped and its cgroup is
// empty: what it left is killed first, and the next state comes after.
BOOST_AUTO_TEST_CASE(in_cgroup_mode_the_run_ends_once_its_cgroup_is_empty) {
  Loop loop(true);
  if (loop.tracking()->mode() != TrackingMode::cgroup) {
    BOOST_TEST_MESSAGE("skipped: " << loop.tracking()->description());
    return;
  }
  const std::string pid_file =
      (std::filesystem::temp_directory_path() / (confvisor::test::unique_segment("cg") + ".pid"))
          .string();
  // A leftover in a session of its own: out of the worker's process group.
  WorkerSpec spec = spec_of(sh("setsid sleep 30 & echo $! > " + pid_file + "; exec sleep 30"));
  spec.backoff.initial = spec.backoff.max = 10s;
  auto w = loop.instance(shared(spec));
  w->start();
  BOOST_REQUIRE(loop.reach(*w, State::running));
  BOOST_TEST(!w->status().cgroup.empty());
  pid_t left = 0;
  BOOST_REQUIRE(loop.run_until([&] {
    std::ifstream in(pid_file);
    return static_cast<bool>(in >> left);
  }));
  std::filesystem::remove(pid_file);
  BOOST_REQUIRE(alive(left));
  ::kill(w->pid(), SIGKILL);
  BOOST_REQUIRE(loop.reach(*w, State::backoff));
  // By then the leftover is gone, or a zombie that init has yet to reap.
  std::ifstream stat("/proc/" + std::to_string(left) + "/stat");
  std::string pid_field, comm, state;
  if (stat >> pid_field >> comm >> state) BOOST_TEST(state == "Z");
  BOOST_TEST(w->status().cgroup.empty());
  BOOST_TEST(w->status().last_exit == "killed by SIGKILL");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rolling_restart)

namespace {

// A worker's instances and a rolling restart driven as the supervisor drives it: after each
// change of an instance's state, from the loop.
struct Rolling {
  explicit Rolling(const Spec& old, unsigned count) {
    for (unsigned i = 0; i < count; ++i) instances.push_back(loop.instance(old, i));
    loop.on_change = [this] {
      if (pending) return;
      pending = true;
      boost::asio::post(loop.io, [this] {
        pending = false;
        advance();
      });
    };
  }
  ~Rolling() {
    restart.cancel();
    loop.stop_all();
  }
  Rolling(const Rolling&) = delete;
  Rolling& operator=(const Rolling&) = delete;
  void advance() {
    restart.advance(instances, spec);
    unsigned down = 0;
    for (const auto& i : instances) down += i->state() != State::running;
    most_down = std::max(most_down, down);
    const std::string step =
        rolling_phase_name(restart.phase()) + std::string(" ") + std::to_string(restart.position());
    if (steps.empty() || steps.back() != step) steps.push_back(step);
  }
  // Begins the restart, recording from here.
  void begin(unsigned count) {
    most_down = 0;
    steps.clear();
    restart.begin(count);
  }
  void start_all() {
    for (auto& i : instances) i->start();
    BOOST_REQUIRE(loop.run_until([&] {
      for (auto& i : instances) {
        if (i->state() != State::running) return false;
      }
      return true;
    }));
  }
  [[nodiscard]] std::vector<pid_t> pids() const {
    std::vector<pid_t> out;
    for (const auto& i : instances) out.push_back(i->pid());
    return out;
  }
  bool finish() {
    return loop.run_until([&] { return !restart.under_way(); });
  }

  Loop loop;
  RollingRestart::Instances instances;
  RollingRestart restart;
  Spec spec;
  bool pending = false;
  unsigned most_down = 0;
  std::vector<std::string> steps;  // "stopping old 0": its phase and position after each advance
};

}  // namespace

BOOST_AUTO_TEST_CASE(each_instance_in_turn_is_stopped_then_started_with_the_new_spec) {
  Rolling r(shared(spec_of(kSleep)), 3);
  r.start_all();
  const std::vector<pid_t> before = r.pids();
  r.spec = shared(spec_of({"/bin/sleep", "31"}));
  r.begin(3);
  BOOST_TEST(r.restart.phase() == RollingPhase::stopping_old);
  r.advance();
  BOOST_TEST(r.instances[0]->state() == State::stopping);  // the first, and only it
  BOOST_TEST(r.instances[1]->state() == State::running);
  BOOST_REQUIRE(r.finish());
  BOOST_TEST(r.most_down == 1u);
  for (unsigned i = 0; i < 3; ++i) {
    BOOST_TEST(r.instances[i]->state() == State::running);
    BOOST_TEST(r.instances[i]->pid() != before[i]);
    BOOST_TEST(r.instances[i]->spec().command.at(1) == "31");
    BOOST_TEST(r.loop.history(i) == "STARTING RUNNING STOPPING STOPPED STARTING RUNNING");
  }
  BOOST_TEST(r.steps == (std::vector<std::string>{"stopping old 0", "starting new 0",
                                                  "stopping old 1", "starting new 1",
                                                  "stopping old 2", "starting new 2", "idle 3"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(one_an_operator_stopped_takes_the_new_spec_and_stays_stopped) {
  Rolling r(shared(spec_of(kSleep)), 2);
  r.start_all();
  r.instances[0]->hold(true);
  r.instances[0]->stop();
  BOOST_REQUIRE(r.loop.reach(*r.instances[0], State::stopped));
  r.spec = shared(spec_of({"/bin/sleep", "31"}));
  r.begin(2);
  BOOST_REQUIRE(r.finish());
  BOOST_TEST(r.instances[0]->state() == State::stopped);
  BOOST_TEST(r.instances[0]->spec().command.at(1) == "31");
  BOOST_TEST(r.instances[1]->state() == State::running);
  BOOST_TEST(r.instances[1]->spec().command.at(1) == "31");
}

BOOST_AUTO_TEST_CASE(one_in_backoff_or_fatal_is_restarted_at_once_with_the_new_spec) {
  WorkerSpec failing = failing_spec();
  failing.restart_limit.count = 0;
  WorkerSpec waiting = failing_spec();
  waiting.backoff.initial = waiting.backoff.max = 30s;
  Rolling r(shared(failing), 0);
  r.instances.push_back(r.loop.instance(shared(failing), 0));
  r.instances.push_back(r.loop.instance(shared(waiting), 1));
  for (auto& i : r.instances) i->start();
  BOOST_REQUIRE(r.loop.reach(*r.instances[0], State::fatal));
  BOOST_REQUIRE(r.loop.reach(*r.instances[1], State::backoff));
  r.spec = shared(spec_of(kSleep));
  r.begin(2);
  BOOST_REQUIRE(r.finish());
  for (unsigned i = 0; i < 2; ++i) {
    BOOST_TEST(r.instances[i]->state() == State::running);
    BOOST_TEST(r.instances[i]->spec().command == kSleep);
  }
  BOOST_TEST(r.loop.history(0) == "STARTING FATAL STOPPED STARTING RUNNING");
  BOOST_TEST(r.loop.history(1) == "STARTING BACKOFF STOPPED STARTING RUNNING");
}

BOOST_AUTO_TEST_CASE(a_new_spec_that_fails_to_start_does_not_stall_the_restart) {
  Rolling r(shared(spec_of(kSleep)), 2);
  r.start_all();
  WorkerSpec broken = spec_of({"/nonexistent/worker"});
  broken.backoff.initial = broken.backoff.max = 30s;
  r.spec = shared(broken);
  r.begin(2);
  BOOST_REQUIRE(r.finish());
  for (const auto& i : r.instances) {
    BOOST_TEST(i->state() == State::backoff);
    BOOST_TEST(i->status().last_exit.starts_with("failed to start: "));
  }
}

BOOST_AUTO_TEST_CASE(a_begin_while_under_way_starts_over_from_the_first) {
  Rolling r(shared(spec_of(kSleep)), 2);
  r.start_all();
  r.spec = shared(spec_of({"/bin/sleep", "31"}));
  r.begin(2);
  BOOST_REQUIRE(r.loop.run_until([&] { return r.restart.position() == 1; }));
  const pid_t restarted = r.instances[0]->pid();
  r.spec = shared(spec_of({"/bin/sleep", "32"}));
  r.begin(2);
  BOOST_TEST(r.restart.phase() == RollingPhase::stopping_old);
  BOOST_TEST(r.restart.position() == 0u);
  BOOST_REQUIRE(r.finish());
  BOOST_TEST(r.instances[0]->pid() != restarted);
  for (const auto& i : r.instances) {
    BOOST_TEST(i->state() == State::running);
    BOOST_TEST(i->spec().command.at(1) == "32");
  }
}

BOOST_AUTO_TEST_CASE(a_cancel_ends_it_where_it_is) {
  Rolling r(shared(spec_of(kSleep)), 2);
  r.start_all();
  r.spec = shared(spec_of({"/bin/sleep", "31"}));
  r.begin(2);
  r.advance();
  BOOST_TEST(r.instances[0]->state() == State::stopping);
  r.restart.cancel();
  BOOST_TEST(r.restart.phase() == RollingPhase::idle);
  BOOST_REQUIRE(r.loop.reach(*r.instances[0], State::stopped));
  r.loop.run_for(100ms);
  BOOST_TEST(r.instances[0]->state() == State::stopped);  // not started again
  BOOST_TEST(r.instances[1]->state() == State::running);
  BOOST_TEST(r.instances[1]->spec().command.at(1) == "30");
  r.restart.cancel();  // idle: nothing
  BOOST_TEST(r.restart.phase() == RollingPhase::idle);
}

BOOST_AUTO_TEST_CASE(nothing_to_restart_ends_at_the_next_advance) {
  Rolling r(shared(spec_of(kSleep)), 1);
  r.spec = shared(spec_of(kSleep));
  r.begin(0);
  BOOST_TEST(r.restart.under_way());
  r.advance();
  BOOST_TEST(r.restart.phase() == RollingPhase::idle);
  BOOST_TEST(r.instances[0]->state() == State::stopped);
}

// Instances retired by a later change of `instances` alone end the walk early.
BOOST_AUTO_TEST_CASE(instances_removed_meanwhile_end_the_walk) {
  Rolling r(shared(spec_of(kSleep)), 3);
  r.start_all();
  r.spec = shared(spec_of({"/bin/sleep", "31"}));
  r.begin(3);
  BOOST_REQUIRE(r.loop.run_until([&] { return r.restart.position() == 1; }));
  r.instances.back()->stop();
  r.instances.pop_back();
  r.instances.back()->stop();
  r.instances.pop_back();
  BOOST_REQUIRE(r.finish());
  BOOST_TEST(r.instances.size() == 1u);
  BOOST_REQUIRE(r.loop.reach(*r.instances[0], State::running));
  BOOST_TEST(r.instances[0]->spec().command.at(1) == "31");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(worker_command)

namespace {

struct Reply {
  bool ended = false;
  std::optional<bool> ok;
  std::vector<InstanceStatus> statuses;
};

// Begins `action` on `targets` and runs the loop until it replies, advancing it after each
// change as the supervisor does.
Reply run_command(Loop& loop, WorkerAction action, const RollingRestart::Instances& targets) {
  auto reply = std::make_shared<Reply>();
  auto command = std::make_shared<WorkerCommand>(
      action, targets, [reply](bool ok, std::vector<InstanceStatus> statuses) {
        reply->ok = ok;
        reply->statuses = std::move(statuses);
      });
  auto advance = [command, reply] {
    if (!reply->ended) reply->ended = command->advance();
  };
  loop.on_change = [&loop, advance] { boost::asio::post(loop.io, advance); };
  command->begin();
  boost::asio::post(loop.io, advance);
  BOOST_TEST(loop.run_until([&] { return reply->ended; }));
  loop.on_change = nullptr;
  BOOST_TEST(command->phase() == CommandPhase::done);
  return *reply;
}

RollingRestart::Instances running(Loop& loop, const Spec& spec, unsigned count) {
  RollingRestart::Instances out;
  for (unsigned i = 0; i < count; ++i) {
    out.push_back(loop.instance(spec, i));
    out.back()->start();
  }
  for (auto& i : out) BOOST_REQUIRE(loop.reach(*i, State::running));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_restart_stops_all_then_starts_all) {
  Loop loop;
  const auto targets = running(loop, shared(spec_of(kSleep)), 2);
  const pid_t first = targets[0]->pid();
  const Reply reply = run_command(loop, WorkerAction::restart, targets);
  BOOST_TEST(reply.ok.value_or(false));
  BOOST_REQUIRE(reply.statuses.size() == 2u);
  for (unsigned i = 0; i < 2; ++i) {
    BOOST_TEST(reply.statuses[i].state == State::running);
    BOOST_TEST(!targets[i]->held());
    BOOST_TEST(loop.history(i) == "STARTING RUNNING STOPPING STOPPED STARTING RUNNING");
  }
  BOOST_TEST(targets[0]->pid() != first);
}

BOOST_AUTO_TEST_CASE(a_stop_holds_them_stopped_until_a_start) {
  Loop loop;
  const auto targets = running(loop, shared(spec_of(kSleep)), 2);
  const Reply stopped = run_command(loop, WorkerAction::stop, targets);
  BOOST_TEST(stopped.ok.value_or(false));
  for (const auto& i : targets) {
    BOOST_TEST(i->state() == State::stopped);
    BOOST_TEST(i->held());
  }
  const Reply started = run_command(loop, WorkerAction::start, targets);
  BOOST_TEST(started.ok.value_or(false));
  for (const auto& i : targets) {
    BOOST_TEST(i->state() == State::running);
    BOOST_TEST(!i->held());
  }
}

BOOST_AUTO_TEST_CASE(a_start_that_fails_for_good_replies_not_ok) {
  Loop loop;
  WorkerSpec spec = spec_of({"/nonexistent/worker"});
  spec.restart_limit.count = 0;
  const Reply reply = run_command(loop, WorkerAction::start, {loop.instance(shared(spec))});
  BOOST_TEST(!reply.ok.value_or(true));
  BOOST_REQUIRE(reply.statuses.size() == 1u);
  BOOST_TEST(reply.statuses[0].state == State::fatal);
}

BOOST_AUTO_TEST_CASE(a_command_the_daemon_stops_under_ends_at_once) {
  Loop loop;
  const auto targets = running(loop, shared(spec_of(kSleep)), 1);
  std::optional<bool> ok;
  WorkerCommand restart(WorkerAction::restart, targets,
                        [&](bool result, std::vector<InstanceStatus>) { ok = result; });
  restart.begin();
  BOOST_TEST(restart.phase() == CommandPhase::stopping);
  BOOST_TEST(restart.abandon());
  BOOST_TEST(!ok.value_or(true));
  BOOST_TEST(restart.phase() == CommandPhase::done);
  BOOST_REQUIRE(loop.reach(*targets[0], State::stopped));
  BOOST_TEST(restart.advance());  // ended already: it starts nothing
  loop.run_for(100ms);
  BOOST_TEST(targets[0]->state() == State::stopped);
}

BOOST_AUTO_TEST_SUITE_END()
