// The marks of bad content across restarts. A generation that failed its verify window with
// on_failure "rollback" marks its content; the daemon keeps the marks in
// state_dir/SEGMENT.bad.json (mode 0600, replaced atomically), so that a daemon restarted
// with the same file, or an etcd prefix that still holds the bad value, does not publish that
// content again unverified. A file that cannot be read or written is reported and changes
// nothing else: the daemon runs on, with the marks it has in memory.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/base/log.hpp"
#include "daemon/core/daemon.hpp"
#include "daemon/core/live_generation.hpp"

namespace confvisor::daemon {

namespace {

// 64 marks of a few hundred bytes each: a larger file is not ours.
constexpr std::size_t kMaxMarksFile = 1u << 20;

}  // namespace

void Daemon::restore_bad_marks() {
  try {
    const std::optional<std::string> text = bad_marks_.read(kMaxMarksFile);
    if (!text) return;
    boost::system::error_code ec;
    const boost::json::value marks = boost::json::parse(*text, ec);
    if (ec) throw Error("not JSON: " + ec.message());
    rollout_.restore_marks(marks);
    log_info("rollout: " + std::to_string(marks.as_array().size()) +
             " mark(s) of bad content restored from " + bad_marks_.path() +
             ": reloads refuse that content until it changes");
  } catch (const Error& e) {
    log_warning("rollout: the marks of bad content in " + bad_marks_.path() +
                " are not restored (" + e.what() +
                "): content that failed its verify window before this start may be published");
  }
}

void Daemon::save_bad_marks() {
  try {
    bad_marks_.prepare();
    bad_marks_.write(boost::json::serialize(rollout_.marks_json()) + "\n");
  } catch (const Error& e) {
    log_warning(std::string("rollout: unable to keep the marks of bad content: ") + e.what() +
                "; a restarted daemon would not refuse that content");
  }
}

// The live generation's own config runs the workers then, not the marked file's: the file
// is what the operator must change. Nothing is published.
bool Daemon::keep_live_over_marked(const std::string& text, const std::string& why) {
  std::optional<LiveGeneration> live;
  try {
    live = read_live_generation(config_->settings.segment);
  } catch (const Error&) {
  }
  if (!live || live->text == text) return false;
  config::LoadResult loaded =
      config::load_config_text(live->text, "generation " + std::to_string(live->generation));
  if (!loaded.config) {
    log_warning("start: " + config_path_ + " holds content marked bad (" + why +
                "), and generation " + std::to_string(live->generation) +
                " cannot be kept in its place: " + loaded.errors.joined("; ") +
                ": the file is published all the same");
    return false;
  }
  try {
    refuse_setting_changes(loaded.config->settings);
  } catch (const Error& e) {
    log_warning("start: " + config_path_ + " holds content marked bad (" + why +
                "), and generation " + std::to_string(live->generation) +
                " cannot be kept in its place: " + e.what() +
                ": the file is published all the same");
    return false;
  }
  config_.emplace(std::move(*loaded.config));
  generation_ = live->generation;
  published_text_ = live->text;
  rollout_.accept(generation_, live->text, live->source, false);
  last_change_.result = Outcome::failed;
  last_change_.error = config_path_ + ": " + why;
  last_change_.trigger = "start";
  last_change_.at = std::chrono::system_clock::now();
  last_change_.generation = generation_;
  log_error("start: generation " + std::to_string(generation_) +
            " stays published: " + config_path_ + ": " + why);
  sync_canary_segment(live->source);
  return true;
}

}  // namespace confvisor::daemon
