#include "daemon/core/reload_wait.hpp"

#include "common/json/units.hpp"

namespace confvisor::daemon {

const char* wait_outcome_name(WaitOutcome outcome) {
  switch (outcome) {
    case WaitOutcome::applied:
      return "applied";
    case WaitOutcome::rejected:
      return "rejected";
    case WaitOutcome::crashed:
      return "crashed";
    case WaitOutcome::timed_out:
      return "timed_out";
    case WaitOutcome::held_back:
      return "held_back";
    case WaitOutcome::interrupted:
      return "interrupted";
  }
  return "?";
}

namespace {

// Stopped for good, held by an operator, or done with its one run: nothing will report.
bool counted(const supervise::InstanceStatus& s) {
  return s.acks && s.state != supervise::State::stopped;
}

}  // namespace

ReloadWait::ReloadWait(boost::asio::io_context& io, std::uint64_t generation,
                       std::chrono::milliseconds timeout, Instances instances, Done done)
    : generation_(generation),
      timeout_(timeout),
      instances_(std::move(instances)),
      done_(std::move(done)),
      timer_(io) {
  timer_.expires_after(timeout_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) on_timeout();
  });
}

void ReloadWait::lost(const std::string& worker, unsigned instance, const std::string& why) {
  if (done()) return;
  crashed_.emplace(Key{worker, instance}, why);  // the first loss is the one that counts
}

std::vector<std::pair<InstanceOutcome, bool>> ReloadWait::outcomes() const {
  std::vector<std::pair<InstanceOutcome, bool>> out;
  for (const supervise::InstanceStatus& s : instances_()) {
    const auto crash = crashed_.find(Key{s.name, s.instance});
    if (!counted(s) && crash == crashed_.end()) continue;
    InstanceOutcome o{s.name, s.instance, WaitOutcome::timed_out, "", 0};
    bool settled = true;
    if (crash != crashed_.end()) {
      o.outcome = WaitOutcome::crashed;
      o.detail = crash->second;
    } else if (s.applied && *s.applied >= generation_) {
      o.outcome = WaitOutcome::applied;
      o.generation = *s.applied;
    } else if (s.rejected && *s.rejected >= generation_) {
      o.outcome = WaitOutcome::rejected;
      o.generation = *s.rejected;
      o.detail = s.rejected_reason;
    } else if (s.state == supervise::State::fatal) {
      o.outcome = WaitOutcome::crashed;
      o.detail = "FATAL" + (s.last_exit.empty() ? std::string() : ", last exit: " + s.last_exit);
    } else {
      settled = false;
      o.detail = "no report within " + format_duration(timeout_);
    }
    out.emplace_back(std::move(o), settled);
  }
  return out;
}

void ReloadWait::review() {
  if (done()) return;
  std::vector<InstanceOutcome> all;
  for (auto& [o, settled] : outcomes()) {
    if (!settled) return;
    all.push_back(std::move(o));
  }
  finish(std::move(all));
}

void ReloadWait::end_now(WaitOutcome outcome, const std::string& why) {
  if (done()) return;
  std::vector<InstanceOutcome> all;
  for (auto& [o, settled] : outcomes()) {
    if (!settled) {
      o.outcome = outcome;
      o.detail = why;
    }
    all.push_back(std::move(o));
  }
  finish(std::move(all));
}

void ReloadWait::on_timeout() {
  if (done()) return;
  std::vector<InstanceOutcome> all;
  for (auto& [o, settled] : outcomes()) all.push_back(std::move(o));
  finish(std::move(all));
}

void ReloadWait::finish(std::vector<InstanceOutcome> outcomes) {
  timer_.cancel();
  Done done = std::exchange(done_, nullptr);
  done(outcomes);
}

}  // namespace confvisor::daemon
