// What a CheckRun (daemon/supervise/check_run.hpp) needs from the process that runs it: its
// loop, the wait statuses of its check processes, and where checks run. The daemon's
// Supervisor is one (it reaps every child of the daemon); LoneCheckHost is the one of
// `confvisord --check --run-checks`, a process that has no supervisor.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "daemon/supervise/cgroup.hpp"

namespace confvisor::supervise {

class CheckHost {
 public:
  virtual ~CheckHost() = default;
  [[nodiscard]] virtual boost::asio::io_context& io() = 0;
  // `exited` gets the wait status of child `pid` from the loop once it has been reaped;
  // forget_child drops the call (the child is still reaped).
  virtual void watch_child(pid_t pid, std::function<void(int status)> exited) = 0;
  virtual void forget_child(pid_t pid) = 0;
  // The cgroup the checks of worker `worker` run in; nullopt: their process group only.
  [[nodiscard]] virtual std::optional<Cgroup> check_cgroup(const std::string& worker) const = 0;
};

// Reaps its own children on SIGCHLD (an Asio signal_set); checks run in process groups only.
class LoneCheckHost final : public CheckHost {
 public:
  explicit LoneCheckHost(boost::asio::io_context& io);
  boost::asio::io_context& io() override { return io_; }
  void watch_child(pid_t pid, std::function<void(int status)> exited) override;
  void forget_child(pid_t pid) override;
  [[nodiscard]] std::optional<Cgroup> check_cgroup(const std::string&) const override {
    return std::nullopt;
  }

 private:
  void wait();
  void reap();

  boost::asio::io_context& io_;
  boost::asio::signal_set sigchld_;
  std::map<pid_t, std::function<void(int)>> watched_;
};

}  // namespace confvisor::supervise
