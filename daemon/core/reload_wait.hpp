// One `confvisorctl reload --wait`: it waits, on the loop, until every instance of the
// workers with "acks": true has applied generation N (or a newer one), and says how each came
// out. Nothing polls: the daemon passes it every accepted report and every lost run, and its
// own timer ends it. An instance counts if it runs, or is on its way to a start (an instance
// started after the publish counts too); one stopped for good or held by an operator does
// not. An instance settles once: applied, rejected (N or a newer generation), or crashed (a
// run of it ended, or a start failed, while it waited); what has not settled when the time is
// up timed out. The wait ends as soon as every counted instance has settled.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "daemon/supervise/worker_instance.hpp"

namespace confvisor::daemon {

// held_back: the generation never reached the instance (it failed on the canary first);
// interrupted: the daemon began to stop before the instance answered.
enum class WaitOutcome { applied, rejected, crashed, timed_out, held_back, interrupted };
[[nodiscard]] const char* wait_outcome_name(WaitOutcome outcome);  // "applied", "timed_out"...

struct InstanceOutcome {
  std::string worker;
  unsigned instance = 0;
  WaitOutcome outcome = WaitOutcome::applied;
  std::string detail;            // rejected: the worker's reason; crashed: how the run ended
  std::uint64_t generation = 0;  // applied or rejected: the generation it reported
};

class ReloadWait {
 public:
  using Done = std::function<void(const std::vector<InstanceOutcome>&)>;
  using Instances = std::function<std::vector<supervise::InstanceStatus>()>;
  // Waits for generation `generation` for at most `timeout`, looking at the instances that
  // `instances` gives; `done` is called once, from the loop or from review(), with every
  // counted instance in status order.
  ReloadWait(boost::asio::io_context& io, std::uint64_t generation,
             std::chrono::milliseconds timeout, Instances instances, Done done);
  // Its timer's handler holds `this`: it stays where it was made.
  ReloadWait(const ReloadWait&) = delete;
  ReloadWait& operator=(const ReloadWait&) = delete;

  // Looks at the instances as they are now, and ends the wait if every one has settled.
  void review();
  // A run of `worker`[`instance`] was lost: it settles as crashed, with `why`.
  void lost(const std::string& worker, unsigned instance, const std::string& why);
  // The wait ends now: the instances that have not settled come out as `outcome` (held_back,
  // interrupted), with `why`.
  void end_now(WaitOutcome outcome, const std::string& why);

  [[nodiscard]] bool done() const { return done_ == nullptr; }
  [[nodiscard]] std::uint64_t generation() const { return generation_; }

 private:
  using Key = std::pair<std::string, unsigned>;
  void on_timeout();
  // Each counted instance's outcome, and whether it has settled (false: still waited for).
  [[nodiscard]] std::vector<std::pair<InstanceOutcome, bool>> outcomes() const;
  void finish(std::vector<InstanceOutcome> outcomes);

  std::uint64_t generation_;
  std::chrono::milliseconds timeout_;
  Instances instances_;
  Done done_;
  std::map<Key, std::string> crashed_;  // how each lost run ended
  boost::asio::steady_timer timer_;
};

}  // namespace confvisor::daemon
