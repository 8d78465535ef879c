// The canary stage of a verified rollout. With /confvisor/rollout/canary the daemon publishes
// into two segments: /dev/shm/confvisor.NAME, which every instance but the canaries reads, and
// /dev/shm/confvisor.NAME.canary, which the first `instances` instances of the canary worker
// read (their CONFVISOR_SEGMENT). Both hold the same document, except while a reload's
// generation is on trial: then only the canary segment has it. One sequence of numbers serves
// both, so that a generation number names one document wherever a reader finds it.
#include <boost/asio/post.hpp>
#include <boost/json/object.hpp>

#include "common/base/log.hpp"
#include "common/json/units.hpp"
#include "common/segment/name.hpp"
#include "daemon/core/daemon.hpp"
#include "daemon/core/live_generation.hpp"

namespace confvisor::daemon {

namespace json = boost::json;

std::string Daemon::canary_name() const {
  return canary_segment(config_->settings.segment);
}

std::uint64_t Daemon::next_generation() const {
  return std::max(generation_, canary_generation_) + 1;
}

// Only the instances running now can be canaries: the live config's canary decides, and the
// candidate's "rollout" gives the window. The first publish has no canaries yet.
bool Daemon::tries_on_canary(ChangeKind what, const config::Config& candidate) const {
  const std::optional<config::RolloutSettings>& live = config_->settings.rollout;
  return rollout_verifies(what) && workers_started_ && candidate.settings.rollout && live &&
         live->canary && canary_publisher_;
}

Change Daemon::begin_canary(ChangeKind what, const std::string& trigger, std::string text,
                            const std::string& source, config::Config candidate,
                            std::optional<std::int64_t> etcd_revision) {
  Change change;
  change.source = source;
  abandon_pending("a " + std::string(change_kind_name(what)) + " goes to the canary first");
  try {
    canary_generation_ = canary_publisher_->publish_serialized(text, source, next_generation());
  } catch (const Error& e) {
    change.result = Outcome::failed;
    change.error = "unable to publish to the canary segment /dev/shm/confvisor." + canary_name() +
                   ": " + e.what();
    return change;
  }
  const config::RolloutSettings settings = *candidate.settings.rollout;
  trial_.reset();
  trial_.emplace(Trial{.what = what,
                       .trigger = trigger,
                       .text = text,
                       .source = source,
                       .config = std::move(candidate),
                       .etcd_revision = etcd_revision,
                       .generation = canary_generation_});
  supervisor_.reload_canaries();
  rollout_.verify(canary_generation_, std::move(text), source, settings,
                  config_->settings.rollout->canary);
  change.result = Outcome::ok;
  change.canary = true;
  return change;
}

void Daemon::promote(std::uint64_t generation) {
  if (stopping_ || !trial_ || trial_->generation != generation) {
    rollout_.promotion_failed(
        generation, stopping_ ? "the daemon is stopping" : "its candidate is no longer kept");
    return;
  }
  Trial trial = std::move(*trial_);
  trial_.reset();
  Change change =
      publish_candidate(trial.what, trial.trigger, std::move(trial.text), trial.source,
                        std::move(trial.config), trial.etcd_revision, std::nullopt, generation);
  // The reload was counted and answered when it went to the canary: this is its second step.
  switch (change.result) {
    case Outcome::ok:
      log_info("rollout promoted: generation " + std::to_string(generation_) +
               " published to every instance, " + human_size(published_text_.size()) + ", from " +
               trial.source);
      notifier_.status(status());
      break;
    case Outcome::waiting:
      log_warning("rollout promoting: generation " + std::to_string(generation) +
                  " waits for the writer lock of /dev/shm/confvisor." + config_->settings.segment +
                  ": " + change.error);
      break;
    default:
      rollout_.promotion_failed(generation, change.error);
      break;
  }
}

void Daemon::on_canary_failed(const VerifyRecord& record, const std::string& good_text,
                              const std::string& good_source) {
  trial_.reset();
  // The waits for it end: the other instances will never read it. Once the failure that
  // decided it has reached the waits too (a crash comes to them after the rollout).
  boost::asio::post(io_, [this, generation = record.generation,
                          why = "its canary failed: " + record.failure->describe()] {
    for (const auto& weak : waiters_) {
      if (const auto waiter = weak.lock(); waiter && waiter->wait.generation() == generation)
        waiter->wait.end_now(WaitOutcome::held_back, why);
    }
    review_waiters();
  });
  if (record.settings.on_failure == config::RolloutAction::keep || !canary_publisher_) {
    log_error(rollout_failure_line(record.generation));
    notifier_.status(status());
    return;
  }
  const std::string source = "rollback of generation " + std::to_string(record.generation) +
                             " on the canary (" + record.failure->describe() + ") to generation " +
                             std::to_string(record.good_generation) + " from " + good_source;
  try {
    canary_generation_ =
        canary_publisher_->publish_serialized(good_text, source, next_generation());
    rollout_.rolled_back(record.generation, canary_generation_);
    supervisor_.reload_canaries();
  } catch (const Error& e) {
    rollout_.rollback_failed(record.generation, e.what());
  }
  log_error(rollout_failure_line(record.generation));
  notifier_.status(status());
}

// Called after every publish to the main segment. A canary segment left from an earlier run
// (or one that readers of another daemon use) is compared by its text, not its number.
void Daemon::sync_canary_segment(const std::string& source) {
  const std::optional<config::RolloutSettings>& rollout = config_->settings.rollout;
  const bool wanted = rollout && rollout->canary;
  if (!wanted) {
    if (!canary_publisher_) return;
    canary_publisher_.reset();
    canary_generation_ = 0;
    if (Publisher::remove(canary_name()))
      log_info("canary segment /dev/shm/confvisor." + canary_name() +
               " removed: the config has no canary any more");
    return;
  }
  try {
    open_canary_segment();
    if (trial_) return;
    const std::optional<LiveGeneration> live = read_live_generation(canary_name());
    // A wait for generation N counts the canaries too: their segment must be at N or past it.
    if (live && live->text == published_text_ && live->generation >= generation_) {
      canary_generation_ = live->generation;
      return;
    }
    canary_generation_ =
        canary_publisher_->publish_serialized(published_text_, source, generation_);
  } catch (const Error& e) {
    log_error("unable to publish generation " + std::to_string(generation_) +
              " to the canary segment /dev/shm/confvisor." + canary_name() + ": " + e.what() +
              "; the next publish tries again");
  }
}

// Before the first publish too: the next number must be past what the canary segment holds
// from an earlier run.
void Daemon::open_canary_segment() {
  const std::optional<config::RolloutSettings>& rollout = config_->settings.rollout;
  if (canary_publisher_ || !rollout || !rollout->canary) return;
  canary_publisher_.emplace(segment_options(config_->settings, canary_name()));
  canary_generation_ = canary_publisher_->current_generation();
}

json::value Daemon::canary_json() const {
  const std::optional<config::RolloutSettings>& rollout = config_->settings.rollout;
  if (!rollout || !rollout->canary) return nullptr;
  return json::object{{"worker", rollout->canary->worker},
                      {"instances", rollout->canary->instances},
                      {"segment", canary_name()},
                      {"generation", canary_generation_},
                      {"trial", trial_ ? json::value(trial_->generation) : json::value(nullptr)}};
}

}  // namespace confvisor::daemon
