#include "daemon/core/rollout_verify.hpp"

#include <openssl/evp.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdio>

#include "common/base/error.hpp"
#include "common/base/log.hpp"
#include "common/base/time_format.hpp"
#include "common/json/nullable.hpp"
#include "common/json/units.hpp"

namespace confvisor::daemon {

namespace json = boost::json;

namespace {

// Records and marks are bounded: a daemon reloaded for years keeps the recent ones only.
constexpr std::size_t kKeptRecords = 64;
constexpr std::size_t kKeptMarks = 64;

// The same in every process and on every build: the marks outlive the daemon.
std::string content_hash(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    throw Error("unable to compute a SHA-256");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

bool positive(const json::value& v) {
  return (v.is_int64() && v.get_int64() > 0) || (v.is_uint64() && v.get_uint64() > 0);
}

bool is_sha256_hex(const json::value& v) {
  if (!v.is_string() || v.get_string().size() != 64) return false;
  for (char c : v.get_string()) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string seconds(std::chrono::steady_clock::duration d) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d);
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(ms.count()) / 1000.0);
  return text;
}

FailureSignal signal_of(supervise::FailureKind kind) {
  switch (kind) {
    case supervise::FailureKind::crashed:
      return FailureSignal::crashed;
    case supervise::FailureKind::start_failed:
      return FailureSignal::start_failed;
    case supervise::FailureKind::watchdog:
      return FailureSignal::watchdog;
    case supervise::FailureKind::not_ready:
      return FailureSignal::not_ready;
  }
  return FailureSignal::crashed;
}

json::value time_or_null(std::chrono::system_clock::time_point t) {
  return t == std::chrono::system_clock::time_point{} ? json::value(nullptr)
                                                      : json::value(format_utc(t));
}

json::value canary_json(const std::optional<config::CanarySettings>& canary) {
  if (!canary) return nullptr;
  return json::object{{"worker", canary->worker}, {"instances", canary->instances}};
}

json::value failure_json(const VerifyFailure& f) {
  return json::object{{"worker", f.worker},
                      {"instance", f.instance},
                      {"signal", failure_signal_name(f.signal)},
                      {"reason", f.reason},
                      {"text", f.describe()}};
}

}  // namespace

const char* failure_signal_name(FailureSignal signal) {
  switch (signal) {
    case FailureSignal::rejected:
      return "rejected";
    case FailureSignal::crashed:
      return "crashed";
    case FailureSignal::start_failed:
      return "failed to start";
    case FailureSignal::watchdog:
      return "missed its watchdog";
    case FailureSignal::not_ready:
      return "was not ready";
    case FailureSignal::not_promoted:
      return "was not published to every instance";
  }
  return "?";
}

std::string VerifyFailure::describe() const {
  if (signal == FailureSignal::not_promoted) {
    return "it passed on the canary, but publishing it to every instance failed: " + reason;
  }
  const std::string who = "worker " + worker + "[" + std::to_string(instance) + "] ";
  if (signal == FailureSignal::rejected) return who + "rejected it: " + reason;
  return who + failure_signal_name(signal) + " (" + reason + ")";
}

const char* verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::verifying:
      return "verifying";
    case Verdict::passed:
      return "passed";
    case Verdict::failed:
      return "failed";
    case Verdict::superseded:
      return "superseded";
  }
  return "?";
}

const char* stage_name(Stage stage) {
  switch (stage) {
    case Stage::canary:
      return "canary";
    case Stage::promoting:
      return "promoting";
    case Stage::all:
      return "all";
  }
  return "?";
}

RolloutVerify::RolloutVerify(boost::asio::io_context& io, Hooks hooks)
    : timer_(io), hooks_(std::move(hooks)) {}

void RolloutVerify::accept(std::uint64_t generation, std::string text, std::string source,
                           bool from_reload) {
  supersede(generation);
  if (from_reload) failure_is_news_ = false;
  good_generation_ = generation;
  good_text_ = std::move(text);
  good_source_ = std::move(source);
}

void RolloutVerify::verify(std::uint64_t generation, std::string text, std::string source,
                           const config::RolloutSettings& settings,
                           const std::optional<config::CanarySettings>& canary) {
  if (!canary && promoting_ == generation) {
    promoting_.reset();
    if (VerifyRecord* r = find(generation)) {
      r->stage = Stage::all;
      open_ = generation;
      open_text_ = std::move(text);
      open_source_ = std::move(source);
      open_window(*r);
      return;
    }
  }
  supersede(generation);
  failure_is_news_ = false;
  VerifyRecord record;
  record.generation = generation;
  record.settings = settings;
  record.stage = canary ? Stage::canary : Stage::all;
  record.canary = canary;
  record.good_generation = good_generation_;
  record.began = std::chrono::system_clock::now();
  record.began_steady = std::chrono::steady_clock::now();
  remember(std::move(record));
  open_ = generation;
  open_text_ = std::move(text);
  open_source_ = std::move(source);
  open_window(records_.back());
}

void RolloutVerify::open_window(VerifyRecord& record) {
  const config::RolloutSettings& settings = record.settings;
  const std::uint64_t epoch = ++window_epoch_;
  timer_.expires_after(settings.verify);
  timer_.async_wait([this, epoch](const boost::system::error_code& ec) {
    if (!ec && epoch == window_epoch_) on_window_end();
  });
  std::string where;
  if (record.stage == Stage::canary) {
    where = " on the canary (the first " + std::to_string(record.canary->instances) +
            " instance(s) of " + record.canary->worker + ")";
  } else if (record.canary) {
    where = " on every instance, after its canary,";
  }
  log_info("rollout verifying: generation " + std::to_string(record.generation) + where + " for " +
           format_duration(settings.verify) + "; on a failure " +
           (settings.on_failure == config::RolloutAction::rollback
                ? "the document of generation " + std::to_string(good_generation_) +
                      " is published again"
                : std::string("it is kept (on_failure keep)")));
}

void RolloutVerify::promotion_failed(std::uint64_t generation, const std::string& why) {
  if (promoting_ != generation) return;
  promoting_.reset();
  const VerifyRecord* r = find(generation);
  open_ = generation;
  fail(VerifyFailure{r != nullptr && r->canary ? r->canary->worker : "", 0,
                     FailureSignal::not_promoted, why});
}

bool RolloutVerify::watched(const std::string& worker, unsigned instance) const {
  const VerifyRecord* r = verifying();
  if (r == nullptr) return false;
  if (r->stage != Stage::canary || !r->canary) return true;
  return worker == r->canary->worker && instance < r->canary->instances;
}

void RolloutVerify::supersede(std::uint64_t by) {
  if (promoting_) open_ = std::exchange(promoting_, std::nullopt);
  if (!open_) return;
  VerifyRecord* r = find(*open_);
  open_.reset();
  open_text_.clear();
  ++window_epoch_;
  timer_.cancel();
  if (r == nullptr) return;
  r->verdict = Verdict::superseded;
  r->superseded_by = by;
  r->ended = std::chrono::system_clock::now();
  log_info("rollout superseded: generation " + std::to_string(r->generation) + " by generation " +
           std::to_string(by) + " " + seconds(std::chrono::steady_clock::now() - r->began_steady) +
           " into its " + format_duration(r->settings.verify) +
           " verify window; the last good document stays generation " +
           std::to_string(good_generation_) + "'s");
}

void RolloutVerify::on_rejected(const std::string& worker, unsigned instance,
                                std::uint64_t generation, const std::string& reason) {
  if (!open_ || generation != *open_ || !watched(worker, instance)) return;
  fail(VerifyFailure{worker, instance, FailureSignal::rejected, reason});
}

void RolloutVerify::on_run_failed(const supervise::RunFailure& failure) {
  if (!open_ || !watched(failure.worker, failure.instance)) return;
  fail(VerifyFailure{failure.worker, failure.instance, signal_of(failure.kind), failure.reason});
}

void RolloutVerify::on_window_end() {
  if (!open_) return;
  std::vector<supervise::RunFailure> unready;
  if (hooks_.not_ready) unready = hooks_.not_ready();
  std::erase_if(unready,
                [this](const supervise::RunFailure& f) { return !watched(f.worker, f.instance); });
  if (!unready.empty()) {
    VerifyFailure f{unready.front().worker, unready.front().instance, FailureSignal::not_ready,
                    unready.front().reason};
    if (unready.size() > 1) f.reason += ", and " + std::to_string(unready.size() - 1) + " more";
    fail(std::move(f));
    return;
  }
  VerifyRecord* r = find(*open_);
  open_.reset();
  if (r == nullptr) return;
  if (r->stage == Stage::canary) return promote(*r);
  r->verdict = Verdict::passed;
  r->ended = std::chrono::system_clock::now();
  good_generation_ = r->generation;
  good_text_ = std::exchange(open_text_, {});
  good_source_ = std::exchange(open_source_, {});
  // The hook first: what it keeps (the last good file) is in place when the line says ok.
  if (hooks_.passed) hooks_.passed(r->generation);
  log_info("rollout ok: generation " + std::to_string(r->generation) + " passed its " +
           format_duration(r->settings.verify) + " verify window");
}

// The canary window passed: the generation waits for its publish to every instance, which
// opens the second window (verify) or fails it (promotion_failed).
void RolloutVerify::promote(VerifyRecord& r) {
  r.stage = Stage::promoting;
  promoting_ = r.generation;
  open_text_.clear();
  open_source_.clear();
  const std::uint64_t generation = r.generation;
  log_info("rollout canary ok: generation " + std::to_string(generation) + " passed its " +
           format_duration(r.settings.verify) + " verify window on the first " +
           std::to_string(r.canary->instances) + " instance(s) of " + r.canary->worker +
           ": publishing it to every instance");
  if (hooks_.promote) hooks_.promote(generation);
}

// Decides the open window: the record is final, the content marked (for a rollback), and
// only then the hook runs, with no window open.
void RolloutVerify::fail(VerifyFailure failure) {
  VerifyRecord* r = find(*open_);
  const std::string text = std::exchange(open_text_, {});
  open_source_.clear();
  open_.reset();
  ++window_epoch_;
  timer_.cancel();
  if (r == nullptr) return;
  r->verdict = Verdict::failed;
  r->failed_after = std::chrono::steady_clock::now() - r->began_steady;
  r->ended = std::chrono::system_clock::now();
  r->failure = std::move(failure);
  last_failed_ = r->generation;
  failure_is_news_ = true;
  // A generation that could not be published to everyone is not bad content.
  if (r->settings.on_failure == config::RolloutAction::rollback &&
      r->failure->signal != FailureSignal::not_promoted) {
    if (marks_.size() == kKeptMarks) marks_.pop_front();
    marks_.push_back(Mark{content_hash(text), r->generation, r->failure->describe()});
  }
  const VerifyRecord decided = *r;
  if (hooks_.failed) hooks_.failed(decided, good_text_, good_source_);
}

void RolloutVerify::rolled_back(std::uint64_t failed, std::uint64_t generation) {
  if (VerifyRecord* r = find(failed)) r->rolled_back_as = generation;
}

void RolloutVerify::rollback_failed(std::uint64_t failed, const std::string& why) {
  if (VerifyRecord* r = find(failed)) r->rollback_error = why;
}

std::optional<std::string> RolloutVerify::refusal(const std::string& text) const {
  const std::string hash = content_hash(text);
  for (auto m = marks_.rbegin(); m != marks_.rend(); ++m) {
    if (m->hash != hash) continue;
    return "this content failed its verify window as generation " + std::to_string(m->generation) +
           " (" + m->cause + ") and was rolled back: change the config to publish it again";
  }
  return std::nullopt;
}

std::optional<VerifyRecord> RolloutVerify::record(std::uint64_t generation) const {
  for (const VerifyRecord& r : records_) {
    if (r.generation == generation) return r;
  }
  return std::nullopt;
}

const VerifyRecord* RolloutVerify::verifying() const {
  const std::optional<std::uint64_t> generation = open_ ? open_ : promoting_;
  if (!generation) return nullptr;
  for (const VerifyRecord& r : records_) {
    if (r.generation == *generation) return &r;
  }
  return nullptr;
}

const VerifyRecord* RolloutVerify::last_failure() const {
  if (!last_failed_) return nullptr;
  for (const VerifyRecord& r : records_) {
    if (r.generation == *last_failed_) return &r;
  }
  return nullptr;
}

VerifyRecord* RolloutVerify::find(std::uint64_t generation) {
  for (VerifyRecord& r : records_) {
    if (r.generation == generation) return &r;
  }
  return nullptr;
}

void RolloutVerify::remember(VerifyRecord record) {
  if (records_.size() == kKeptRecords) records_.pop_front();
  records_.push_back(std::move(record));
}

json::value RolloutVerify::history_json(std::uint64_t generation) const {
  const std::optional<VerifyRecord> r = record(generation);
  if (!r) return nullptr;
  json::object out{
      {"verdict", verdict_name(r->verdict)},
      {"failure", r->failure ? failure_json(*r->failure) : json::value(nullptr)},
      {"on_failure", config::rollout_action_name(r->settings.on_failure)},
      {"stage", r->canary ? json::value(stage_name(r->stage)) : json::value(nullptr)},
      {"rolled_back_as",
       r->rolled_back_as ? json::value(*r->rolled_back_as) : json::value(nullptr)},
      {"superseded_by", r->superseded_by ? json::value(*r->superseded_by) : json::value(nullptr)}};
  return out;
}

json::value RolloutVerify::marks_json() const {
  json::array out;
  for (const Mark& m : marks_) {
    out.push_back(
        json::object{{"sha256", m.hash}, {"generation", m.generation}, {"cause", m.cause}});
  }
  return out;
}

void RolloutVerify::restore_marks(const json::value& marks) {
  if (!marks.is_array()) throw Error("expected an array of marks");
  std::deque<Mark> restored;
  for (std::size_t i = 0; i < marks.get_array().size(); ++i) {
    const json::value& m = marks.get_array()[i];
    const json::object* o = m.if_object();
    const json::value* hash = o != nullptr ? o->if_contains("sha256") : nullptr;
    const json::value* generation = o != nullptr ? o->if_contains("generation") : nullptr;
    const json::value* cause = o != nullptr ? o->if_contains("cause") : nullptr;
    if (hash == nullptr || !is_sha256_hex(*hash) || generation == nullptr ||
        !positive(*generation) || cause == nullptr || !cause->is_string()) {
      throw Error("/" + std::to_string(i) +
                  ": expected {\"sha256\": 64 hex digits, \"generation\": N, \"cause\": TEXT}");
    }
    if (restored.size() == kKeptMarks) restored.pop_front();
    restored.push_back(Mark{std::string(hash->get_string()), generation->to_number<std::uint64_t>(),
                            std::string(cause->get_string())});
  }
  marks_ = std::move(restored);
}

json::value RolloutVerify::status_json() const {
  json::value window = nullptr;
  if (const VerifyRecord* r = verifying()) {
    const auto elapsed = std::chrono::steady_clock::now() - r->began_steady;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        r->settings.verify - std::chrono::duration_cast<std::chrono::milliseconds>(elapsed));
    window = json::object{{"generation", r->generation},
                          {"good_generation", r->good_generation},
                          {"verify", format_duration(r->settings.verify)},
                          {"stage", stage_name(r->stage)},
                          {"canary", canary_json(r->canary)},
                          {"began_at", time_or_null(r->began)},
                          {"remaining_ms", std::max<std::int64_t>(0, left.count())}};
  }
  json::value failure = nullptr;
  if (const VerifyRecord* r = last_failure()) {
    failure = json::object{{"generation", r->generation},
                           {"failure", failure_json(*r->failure)},
                           {"stage", stage_name(r->stage)},
                           {"action", config::rollout_action_name(r->settings.on_failure)},
                           {"rolled_back_as", r->rolled_back_as ? json::value(*r->rolled_back_as)
                                                                : json::value(nullptr)},
                           {"good_generation", r->good_generation},
                           {"rollback_error", text_or_null(r->rollback_error)},
                           {"at", time_or_null(r->ended)}};
  }
  json::array bad;
  for (const Mark& m : marks_) {
    bad.push_back(json::object{{"generation", m.generation}, {"cause", m.cause}});
  }
  return json::object{{"good_generation", good_generation_},
                      {"verifying", std::move(window)},
                      {"last_failure", std::move(failure)},
                      {"bad", std::move(bad)}};
}

std::string RolloutVerify::summary() const {
  const VerifyRecord* r = last_failure();
  if (r == nullptr || !failure_is_news_) return "";
  std::string text = "generation " + std::to_string(r->generation) + " failed its verify window" +
                     (r->stage == Stage::all ? "" : " on the canary") + " (" +
                     r->failure->describe() + ")";
  if (r->rolled_back_as) {
    text += ", rolled back as generation " + std::to_string(*r->rolled_back_as);
  } else if (!r->rollback_error.empty()) {
    text += ", its rollback failed";
  } else if (r->settings.on_failure == config::RolloutAction::keep) {
    text += ", kept (on_failure keep)";
  }
  return text;
}

}  // namespace confvisor::daemon
