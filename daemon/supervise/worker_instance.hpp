// One running copy of a worker: a state machine with one handler per event.
//
//   Stopped --start--> Starting --ready (start_window, or READY=1)--> Running
//   Starting/Running --exit--> Backoff --timer--> Starting      (policy says restart)
//                            \-> Fatal (restart limit reached)  \-> Stopped (policy says no)
//   Starting/Running --stop--> Stopping --exit, or SIGKILL after stop_timeout--> Stopped
//   Fatal --fatal_retry_after, or start--> Starting
//
// With cgroup tracking a run ends when its main process has been reaped and its cgroup is
// empty ("populated 0"), in either order: what the main process left in the cgroup is
// killed when it exits, and the next state is entered only once all of it has gone, so a
// restart never runs beside the remains of the run before.
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

#include "daemon/config/model.hpp"
#include "daemon/supervise/cgroup.hpp"
#include "daemon/supervise/cgroup_watch.hpp"

namespace confvisor::supervise {

enum class State { stopped, starting, running, backoff, stopping, fatal };
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
};

class WorkerInstance : public std::enable_shared_from_this<WorkerInstance> {
 public:
  WorkerInstance(InstanceHost& host, std::shared_ptr<const config::WorkerSpec> spec,
                 unsigned index);
  ~WorkerInstance();

  void start();                               // from Stopped, Fatal or Backoff: start now
  void stop();                                // stop and stay stopped
  void exited(int wait_status);               // its main process was reaped
  void notified(const std::string& message);  // a datagram from its NOTIFY_SOCKET
  void send_reload_signal();
  void use_spec(std::shared_ptr<const config::WorkerSpec> spec);  // takes effect at the next start
  // Held by an operator's stop: rolling restarts and on_reload leave it stopped until an
  // operator's start.
  void hold(bool held) { held_ = held; }
  // Removed from the config: stopped, and never started again.
  void retire();

  [[nodiscard]] State state() const { return state_; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] unsigned index() const { return index_; }
  [[nodiscard]] const config::WorkerSpec& spec() const { return *spec_; }
  // Its first start has come to an end: it got ready, or failed for good.
  [[nodiscard]] bool settled() const { return settled_; }
  [[nodiscard]] bool held() const { return held_; }
  [[nodiscard]] InstanceStatus status() const;
  [[nodiscard]] std::string label() const;

 private:
  void set_state(State s);
  void became_ready();
  void after_failure(const std::string& why, bool was_ready);
  void schedule(std::chrono::milliseconds delay, void (WorkerInstance::*handler)());
  void on_start_window();
  void on_backoff_elapsed();
  void on_stop_timeout();
  void on_fatal_retry();
  void arm_watchdog();
  void on_watchdog_timeout();
  void signal_group(int sig) const;
  void ended();  // every process of the run has gone: on to the next state
  [[nodiscard]] UniqueFd enter_cgroup();
  void kill_cgroup();
  void on_cgroup_event();
  void leave_cgroup();
  [[nodiscard]] std::string tag() const;  // "api[0] (generation 7)"
  [[nodiscard]] bool counts_as_success(int wait_status) const;

  InstanceHost& host_;
  std::shared_ptr<const config::WorkerSpec> spec_;
  const unsigned index_;
  State state_ = State::stopped;
  pid_t pid_ = 0;
  bool settled_ = false;
  bool stop_requested_ = false;
  bool held_ = false;
  bool retired_ = false;
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
};

// "exit code 3", "killed by SIGSEGV (core dumped)".
[[nodiscard]] std::string describe_wait_status(int wait_status);

}  // namespace confvisor::supervise
