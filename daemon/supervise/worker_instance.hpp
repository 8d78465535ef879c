// One running copy of a worker: a state machine whose every event handler is a switch on
// the state, so the whole table below can be checked against the code.
//
//   Stopped --start--> Starting --ready (start_window, or READY=1)--> Running
//   Stopped --start, a worker of its "after" not ready--> Waiting --order met--> Starting
//   Starting/Running --run ended--> Backoff --backoff elapsed--> Starting  (policy says restart)
//                                \-> Fatal (restart limit reached)
//                                \-> Stopped (policy says no)
//   Starting/Running --stop--> Stopping --run ended, or SIGKILL after stop_timeout--> Stopped
//   Backoff/Fatal/Waiting --stop--> Stopped
//   Backoff/Fatal --start--> Starting
//   Fatal --fatal_retry_after--> Starting
//   A start whose spawn fails goes on to Backoff or Fatal, as a run that failed at once.
//   Every way to Starting (start, backoff elapsed, fatal retry) goes to Waiting instead
//   while a worker of its "after" is not ready; an instance retired meanwhile goes to Stopped.
//
// Every event in every state. "-" is an event that is ignored in that state, with the reason
// in its handler; "x" one that cannot reach that state: no process there to reap or hear
// from, or a timer voided by the epoch (every start, stop, exit and schedule() moves it on).
//
//                   Stopped  Starting  Running   Backoff   Stopping  Fatal     Waiting
//   start           begin    -         -         begin     -         begin     -
//   stop            -        Stopping  Stopping  Stopped   -         Stopped   Stopped
//   wind down       -        -         -         Stopped   -         Stopped   Stopped
//   order met       -        -         -         -         -         -         begin
//   reaped          x        end run   end run   x         end run   x         x
//   cgroup empty    x        end run   end run   x         end run   x         x
//   run ended       x        policy    policy    x         Stopped   x         x
//   start window    x        Running   -         x         x         x         x
//   READY=1         x        Running   -         x         -         x         x
//   backoff elapsed x        x         x         begin     x         x         x
//   stop timeout    x        x         x         x         SIGKILL   x         x
//   fatal retry     x        x         x         x         x         begin     x
//   watchdog        x        SIGKILL   SIGKILL   x         -         x         x
//   WATCHDOG=1      x        re-arm    re-arm    x         -         x         x
//   reload          -        signal    signal    -         -         -         -
//
//   begin:   Waiting while a worker of its "after" is not ready, Stopped once retired, else
//            spawn.
//   spawn:   Starting, or Backoff or Fatal when the spawn fails.
//   end run: what is left of the run is killed; the run has ended once the main process has
//            been reaped and (with cgroup tracking) its cgroup is empty, in either order.
//   policy:  Backoff, Fatal once the restart limit is reached, or Stopped when the restart
//            policy does not restart it (or it was retired).
//   wind down: it is never started again (retired); a run goes on until its stop, which the
//            supervisor sends once the instances that start after it have stopped.
//   STATUS= and STOPPING=1 are recorded and logged in any state; they change none.
//
// Waiting is only ever entered on the way to a start: a running instance keeps running
// whatever happens to the workers it starts after (as systemd's After=, which orders starts
// and stops only). The supervisor sends "order met" from its review of every state change.
//
// With cgroup tracking, what the main process left in the cgroup is killed when it exits,
// and the next state is entered only once all of it has gone, so a restart never runs beside
// the remains of the run before. Between the reaping and the empty cgroup the instance stays
// Starting, Running or Stopping with no main process: its timers are void, nothing reaches
// it by pid, and a stop still ends the run through the cgroup.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/config/model.hpp"
#include "daemon/supervise/cgroup.hpp"
#include "daemon/supervise/cgroup_watch.hpp"
#include "daemon/supervise/instance_output.hpp"
#include "daemon/supervise/log_file.hpp"

namespace confvisor::supervise {

enum class State { stopped, starting, running, backoff, stopping, fatal, waiting };
[[nodiscard]] const char* state_name(State s);

struct InstanceStatus {
  std::string name;
  unsigned instance = 0;
  pid_t pid = 0;  // 0 when no process
  State state = State::stopped;
  std::chrono::steady_clock::duration uptime{};
  unsigned restarts = 0;
  std::string last_exit;    // "exit code 1", "killed by SIGKILL", "" if none yet
  std::string status_text;  // its last STATUS= (ready: notify workers)
  std::string program;      // the file its last start ran (command[0] resolved), "" if none
  std::string cgroup;       // its cgroup while it has one ("" in subreaper mode)
  std::optional<std::uint64_t> memory_current;  // memory.current, where the controller is
  std::vector<std::string> waiting_for;         // Waiting: the workers of its "after" not ready
};

// Where an instance's start order stands: the workers of its "after" that are not ready, and
// whether one of them will not get ready by itself (FATAL, stopped, or waiting for such a
// one), so that only an operator's start or a reload can let the instance start.
struct StartOrder {
  std::vector<std::string> unready;
  bool stuck = false;
};

class ProcessTracking;

class WorkerInstance;

// What an instance needs from its supervisor.
struct InstanceHost {
  boost::asio::io_context& io;
  std::string segment;
  std::string notify_socket;                  // for ready: notify workers
  std::function<std::uint64_t()> generation;  // for log lines
  std::function<void(pid_t, WorkerInstance*)>
      track_pid;                  // pid is now this one's; nullptr: released
  std::function<void()> changed;  // state changed: readiness, rolling restarts
  std::function<void(const std::string&, unsigned)> sweep_leftovers;  // kill what it left
  ProcessTracking* tracking = nullptr;  // the cgroup tree, in cgroup mode
  LogFiles* log_files = nullptr;        // where "log": {"file": ...} is opened; none: no files
  // Where the start order of a spec stands; unset: no worker waits for another.
  std::function<StartOrder(const config::WorkerSpec&)> start_order{};
};

class WorkerInstance : public std::enable_shared_from_this<WorkerInstance> {
 public:
  WorkerInstance(InstanceHost& host, std::shared_ptr<const config::WorkerSpec> spec,
                 unsigned index);
  ~WorkerInstance();

  // The events from outside, one handler each.
  void start();                               // from Stopped, Fatal or Backoff: start now
  void order_met();                           // Waiting: every worker of its "after" is ready
  void stop();                                // stop and stay stopped
  void exited(int wait_status);               // its main process was reaped
  void notified(const std::string& message);  // a datagram from its NOTIFY_SOCKET
  void send_reload_signal();                  // a reload with on_reload "signal"
  void use_spec(std::shared_ptr<const config::WorkerSpec> spec);  // takes effect at the next start
  // New "log" settings, in effect at once (the spec's own take effect at the next start).
  void use_log(const config::LogSettings& log);
  // Held by an operator's stop: rolling restarts and on_reload leave it stopped until an
  // operator's start.
  void hold(bool held) { held_ = held; }
  // Removed from the config, or the daemon is stopping: never started again. One with no
  // process is Stopped at once; a run goes on until stop(), which the supervisor sends in
  // the start order's reverse.
  void wind_down();
  // wind_down(), then stop() at once.
  void retire();

  [[nodiscard]] State state() const { return state_; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] unsigned index() const { return index_; }
  [[nodiscard]] const config::WorkerSpec& spec() const { return *spec_; }
  // Its first start has come to an end: it got ready, or failed for good.
  [[nodiscard]] bool settled() const { return settled_; }
  [[nodiscard]] bool held() const { return held_; }
  // Lets the instances that start after it start: Running, or Stopped after a run that
  // counted as a success and that its policy does not restart (a one-shot that is done),
  // unless an operator holds it stopped.
  [[nodiscard]] bool lets_dependents_start() const;
  // Has a run, or is starting one: what an instance to stop after it waits for.
  [[nodiscard]] bool has_run() const;
  [[nodiscard]] StartOrder start_order() const;
  [[nodiscard]] InstanceStatus status() const;
  [[nodiscard]] std::string label() const;
  // What it has written, from every run: `confvisorctl logs`.
  [[nodiscard]] const std::shared_ptr<InstanceOutput>& output() const { return output_; }

 private:
  // The events from within: timers, the cgroup's watch, and the messages of notified().
  void on_start_window();
  void on_backoff_elapsed();
  void on_stop_timeout();
  void on_fatal_retry();
  void on_watchdog_timeout();
  void on_cgroup_event();
  void on_ready();     // READY=1
  void on_watchdog();  // WATCHDOG=1
  void run_ended();    // every process of the run has gone: on to the next state

  // The transitions' work.
  void begin();
  void spawn();
  void end_run(int wait_status);
  int close_run();  // the run's wait status; its cgroup removed and last_exit_ set
  void after_exit(int wait_status, bool was_ready);
  void after_failure(const std::string& why, bool was_ready);
  void became_ready();
  void set_state(State s);
  void schedule(std::chrono::milliseconds delay, void (WorkerInstance::*handler)());
  void arm_watchdog();
  void signal_group(int sig) const;
  [[nodiscard]] UniqueFd enter_cgroup();
  void kill_cgroup();
  void leave_cgroup();
  [[nodiscard]] std::string tag() const;  // "api[0] (generation 7)"
  [[nodiscard]] bool counts_as_success(int wait_status) const;

  InstanceHost& host_;
  std::shared_ptr<const config::WorkerSpec> spec_;
  const unsigned index_;
  State state_ = State::stopped;
  pid_t pid_ = 0;
  bool settled_ = false;
  bool held_ = false;
  bool retired_ = false;
  bool completed_ = false;  // its last run succeeded and is not restarted
  std::chrono::steady_clock::time_point started_at_{};
  std::chrono::milliseconds next_backoff_;
  std::deque<std::chrono::steady_clock::time_point> recent_restarts_;
  unsigned restarts_ = 0;
  std::string last_exit_;
  std::string status_text_;
  std::string program_;
  std::uint64_t timer_epoch_ = 0;
  // cgroup mode: this run's cgroup, its watch, and the main process's wait status from its
  // reaping until the cgroup is empty.
  std::optional<Cgroup> cgroup_;
  CgroupWatch::Watch cgroup_watch_;
  std::optional<int> exit_status_;
  boost::asio::steady_timer timer_;
  boost::asio::steady_timer watchdog_;
  std::shared_ptr<InstanceOutput> output_;
  std::shared_ptr<RunOutput> run_;  // the current run's, from its spawn to its end
};

// "exit code 3", "killed by SIGSEGV (core dumped)".
[[nodiscard]] std::string describe_wait_status(int wait_status);

}  // namespace confvisor::supervise
