// The verified rollout ("rollout" in the confvisor section): for `verify` after a reload or a
// snapshot from etcd publishes generation N, the workers that read N are watched. A worker's
// rejection of N, a crash or failed start of an instance, a watchdog timeout, or an instance with
// "ready": "notify" that has not sent READY=1 when the window ends fails N. The first failure
// decides: with on_failure "rollback" the daemon publishes the last good document again as a new
// generation (the `failed` hook) and N's content is marked bad, so that a reload of the same
// merged document is refused until it changes; with "keep" it is only reported.
//
// The rules, as Argo Rollouts and Flagger apply them to a stable and a canary revision:
// - "Good" is the last document that passed its window, or went live without one (the first
//   publish, a reload without "rollout", a rollback). A rollback always goes back to it.
// - A reload that publishes while a window is open supersedes that window: the generation it
//   watched is neither good nor bad, the new one is watched, and a failure of the new one
//   rolls back to the last good document, not to the superseded generation.
// - A rollback (automatic, or an operator's `confvisorctl rollback`) is not verified: what it
//   publishes is taken as good at once, so one bad generation is rolled back once and a
//   rollback never loops into another.
// - Every failure of an instance while a window is open counts: an instance running when N
//   was published reads N, and one started in the window reads it when it starts.
// - A rejection counts only for the generation the window watches; a late report of an older
//   generation is ignored.
//
// With a canary ("rollout": {"canary": {"worker", "instances"}}) a reload's generation has two
// stages. First only the canary instances read it, from the canary segment: the window
// counts their failures alone. When it passes, the `promote` hook publishes the generation to
// every instance under the same number, and a second window watches all of them. A failure in
// the first stage stops there: the rest never read the generation, and a rollback publishes
// the good document again to the canary segment only.
//
// The marks of bad content are the SHA-256 of each failed document. The daemon keeps them in
// its state_dir (marks_json, restore_marks), so that a restarted daemon refuses them too. A
// window open when the daemon was killed ends with it: the next daemon publishes what its
// file holds, unless that content is marked.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "daemon/config/model.hpp"
#include "daemon/supervise/run_failure.hpp"

namespace confvisor::daemon {

// What failed a verified generation: a worker's report (rejected), or its supervision.
// not_promoted: the canary passed, but publishing the generation to every instance failed.
enum class FailureSignal { rejected, crashed, start_failed, watchdog, not_ready, not_promoted };
[[nodiscard]] const char* failure_signal_name(FailureSignal signal);  // "rejected", ...

struct VerifyFailure {
  std::string worker;
  unsigned instance = 0;
  FailureSignal signal = FailureSignal::crashed;
  std::string reason;  // "exit code 3", the worker's own words for a rejection
  // "worker api[0] crashed (exit code 3)", "worker api[0] rejected it: port out of range"
  [[nodiscard]] std::string describe() const;
};

// Where a watched generation stands: verifying (its window is open), passed (it became the
// good document), failed (a failure decided it), superseded (a reload published another one
// before its window ended).
enum class Verdict { verifying, passed, failed, superseded };
[[nodiscard]] const char* verdict_name(Verdict verdict);  // "verifying", ...

// Which instances a window watches: the canary instances only, or every one. A generation
// between the two (its canary passed, its publish to everyone not yet done) is promoting.
enum class Stage { canary, promoting, all };
[[nodiscard]] const char* stage_name(Stage stage);  // "canary", "promoting", "all"

struct VerifyRecord {
  std::uint64_t generation = 0;
  Verdict verdict = Verdict::verifying;
  config::RolloutSettings settings;
  // Where the window is, or was when the verdict came: a failure at the canary stage never
  // reached the other instances.
  Stage stage = Stage::all;
  std::optional<config::CanarySettings> canary;  // set for a generation tried on a canary
  std::uint64_t good_generation = 0;             // what a rollback publishes again
  std::optional<VerifyFailure> failure;
  std::chrono::steady_clock::duration failed_after{};  // into the window, when failed
  // Set once the daemon has acted on a failure with on_failure "rollback": the generation
  // that published the good document again, or why that did not happen.
  std::optional<std::uint64_t> rolled_back_as;
  std::string rollback_error;
  std::optional<std::uint64_t> superseded_by;
  std::chrono::system_clock::time_point began{}, ended{};
  std::chrono::steady_clock::time_point began_steady{};
};

class RolloutVerify {
 public:
  struct Hooks {
    // Asked when a window ends: the instances still waiting for their READY=1.
    std::function<std::vector<supervise::RunFailure>()> not_ready;
    // A generation failed. With on_failure "rollback", the hook publishes `good_text` again
    // and tells rolled_back() or rollback_failed(); with "keep" it reports. It runs once the
    // record is final and no window is open, so it may publish (and so call accept()).
    std::function<void(const VerifyRecord& record, const std::string& good_text,
                       const std::string& good_source)>
        failed;
    // A generation passed its window: it is the good document now.
    std::function<void(std::uint64_t generation)> passed;
    // A generation passed its canary window: the hook publishes it to every instance, which
    // calls verify() for it again (or promotion_failed()).
    std::function<void(std::uint64_t generation)> promote;
  };

  RolloutVerify(boost::asio::io_context& io, Hooks hooks);

  // `generation` went live unverified (the first publish, a reload without "rollout", a
  // rollback): it is the good document now. An open window is superseded. A reload
  // (`from_reload`) also ends what summary() says of the last failure.
  void accept(std::uint64_t generation, std::string text, std::string source, bool from_reload);
  // A reload or an etcd snapshot published `generation`, from `source`: it is watched for
  // settings.verify. An open window is superseded; the good document stays what a rollback
  // publishes until the window passes. With `canary`, only the canary segment has it so far,
  // and the window watches those instances; a generation that is promoting goes on to the
  // window on every instance.
  void verify(std::uint64_t generation, std::string text, std::string source,
              const config::RolloutSettings& settings,
              const std::optional<config::CanarySettings>& canary = std::nullopt);
  // Generation `by` is what readers see now, by another way than a publish of its own (a
  // reload found the config back to it): an open window, or a promotion, is superseded.
  void supersede(std::uint64_t by);
  // The promoting generation could not be published to every instance: it fails.
  void promotion_failed(std::uint64_t generation, const std::string& why);

  // The failure signals. Each fails the watched generation if a window is open. A worker's
  // report that it rejected a generation (the acknowledgement socket) comes to on_rejected;
  // the supervisor's failed runs to on_run_failed.
  void on_rejected(const std::string& worker, unsigned instance, std::uint64_t generation,
                   const std::string& reason);
  void on_run_failed(const supervise::RunFailure& failure);

  // What the `failed` hook did for generation `failed`.
  void rolled_back(std::uint64_t failed, std::uint64_t generation);
  void rollback_failed(std::uint64_t failed, const std::string& why);

  // Why a reload may not publish `text`: the generation whose identical content failed, and
  // how; nullopt if the content is not marked.
  [[nodiscard]] std::optional<std::string> refusal(const std::string& text) const;
  // How generation `generation` was verified, while it is remembered (the last 64); nullopt
  // for one that was never watched. `confvisorctl reload --wait` reports a rollback from it.
  [[nodiscard]] std::optional<VerifyRecord> record(std::uint64_t generation) const;
  // The open window's record, or that of a generation promoting from its canary; null if
  // neither.
  [[nodiscard]] const VerifyRecord* verifying() const;
  // The last generation that failed, or null.
  [[nodiscard]] const VerifyRecord* last_failure() const;

  // The marks of bad content, oldest first, as the daemon keeps them on disk:
  // [{"sha256": HEX, "generation": N, "cause": TEXT}, ...].
  [[nodiscard]] boost::json::value marks_json() const;
  // Takes marks kept by an earlier daemon (marks_json's form), before any of its own. Throws
  // Error naming what is wrong with `marks`; then none is taken.
  void restore_marks(const boost::json::value& marks);

  // For status --json: the open window, the last failure and the marked contents.
  [[nodiscard]] boost::json::value status_json() const;
  // For one entry of history: null if never watched, else its verdict and cause.
  [[nodiscard]] boost::json::value history_json(std::uint64_t generation) const;
  // One line for STATUS= and status's text: "" unless a generation failed.
  [[nodiscard]] std::string summary() const;

 private:
  struct Mark {
    std::string hash;  // SHA-256, in hex
    std::uint64_t generation = 0;
    std::string cause;
  };
  VerifyRecord* find(std::uint64_t generation);
  // Whether a signal from `worker`[`instance`] counts in the open window.
  [[nodiscard]] bool watched(const std::string& worker, unsigned instance) const;
  void open_window(VerifyRecord& record);
  void fail(VerifyFailure failure);
  void promote(VerifyRecord& record);
  void on_window_end();
  void remember(VerifyRecord record);

  boost::asio::steady_timer timer_;
  Hooks hooks_;
  std::uint64_t good_generation_ = 0;
  std::string good_text_;
  std::string good_source_;
  std::optional<std::uint64_t> open_;       // the generation whose window is open
  std::optional<std::uint64_t> promoting_;  // passed its canary, not yet published to all
  std::string open_text_;
  std::string open_source_;
  std::uint64_t window_epoch_ = 0;    // voids a timer whose window has ended
  std::deque<VerifyRecord> records_;  // oldest first, at most kKeptRecords
  std::optional<std::uint64_t> last_failed_;
  bool failure_is_news_ = false;  // no reload has published since the last failure
  std::deque<Mark> marks_;        // oldest first, at most kKeptMarks
};

}  // namespace confvisor::daemon
