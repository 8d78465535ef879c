// The daemon's side of /confvisor/source/etcd: the file is the base, each snapshot of the
// prefix is merged over it and published as one generation; the last good merged document is
// kept on disk so that a start while etcd is away still publishes it.
//
// Start: nothing is published until the first snapshot, or until etcd is found away (the
// first failed attempt, or no snapshot within the bound below), when the last good file is.
// Without one, the daemon waits for etcd and the workers start once it answers.
#include <boost/json/serialize.hpp>

#include "common/base/log.hpp"
#include "common/base/time_format.hpp"
#include "common/json/nullable.hpp"
#include "common/json/units.hpp"
#include "daemon/core/daemon.hpp"
#include "daemon/core/etcd_overlay.hpp"

namespace confvisor::daemon {

namespace json = boost::json;

namespace {

// How long a start waits for etcd's first snapshot before it publishes the last good file.
constexpr std::chrono::seconds kStartWait{6};

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

}  // namespace

// Called by the constructor: the state directory must be usable (a daemon that could not
// keep the last good would lose it silently), and readers keep what the segment holds until
// the first snapshot is merged.
void Daemon::start_etcd() {
  const config::Settings& s = config_->settings;
  etcd_.emplace(EtcdFeed{.settings = *s.etcd,
                         .base = json::value(config_->document, json::storage_ptr()),
                         .last_good = StateFile(s.state_dir, s.segment + ".last-good.json"),
                         .source = nullptr,
                         .state = {},
                         .snapshot = std::nullopt,
                         .applied_revision = 0,
                         .settled = false,
                         .from_cache = false,
                         .last_error = {},
                         .last_good_error = {},
                         .last_good_written = false,
                         .fell_back = false,
                         .snapshot_after_checks = false,
                         .first_in_checks = false});
  etcd_->last_good.prepare();  // throws: the daemon does not start
  file_text_ = json::serialize(config_->document);
  if (const auto live = read_live_generation(s.segment)) {
    generation_ = live->generation;
    published_text_ = live->text;
  }
  etcd_->source = std::make_unique<etcd::Source>(
      io_, source_options(*s.etcd),
      [this](const etcd::Snapshot& snapshot) { on_etcd_snapshot(snapshot); },
      [this](const etcd::SourceState& state) { on_etcd_state(state); });
  log_info("etcd: following " + s.etcd->prefix + " on " + s.etcd->endpoints.front() +
           (s.etcd->endpoints.size() > 1
                ? " (and " + std::to_string(s.etcd->endpoints.size() - 1) + " more)"
                : "") +
           "; last good file " + etcd_->last_good.path() +
           "; the workers start once a document "
           "is published");
  notifier_.status("waiting for etcd's first snapshot of " + s.etcd->prefix);
  etcd_start_.expires_after(kStartWait);
  etcd_start_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !etcd_ || etcd_->settled) return;
    fall_back_to_last_good("no snapshot within " + format_duration(kStartWait));
  });
}

void Daemon::on_etcd_state(const etcd::SourceState& state) {
  EtcdFeed& feed = *etcd_;
  if (!state.last_error.empty() && state.last_error != feed.state.last_error) {
    feed.last_error = state.last_error;
  }
  feed.state = state;
  if (!feed.settled && state.connection == etcd::Connection::disconnected) {
    fall_back_to_last_good(state.last_error);
  }
}

void Daemon::on_etcd_snapshot(const etcd::Snapshot& snapshot) {
  if (stopping_) return;
  EtcdFeed& feed = *etcd_;
  feed.snapshot = snapshot;
  // While a candidate's checks run, snapshots coalesce: the latest goes on once they end.
  if (checking_) {
    feed.snapshot_after_checks = true;
    return;
  }
  const std::string source =
      etcd_source_name(feed.state.endpoint, feed.settings.prefix, snapshot.revision);
  const std::string trigger = "etcd revision " + std::to_string(snapshot.revision);
  config::LoadResult merged = merge_snapshot(feed.base, feed.settings.prefix, snapshot,
                                             config_->settings.max_config_size, source);
  const bool merge_refused = !merged.config;
  if (merge_refused) feed.last_error = source + ": " + merged.errors.joined("; ");
  const bool first = !feed.settled;
  Change change =
      adopt(std::move(merged), false, source, ChangeKind::etcd, trigger, snapshot.revision);
  if (change.result == Outcome::checking) {
    // Settled for now: after_etcd_checks falls back if the checks refuse a first snapshot.
    feed.settled = true;
    feed.first_in_checks = first;
    etcd_start_.cancel();
    return;
  }
  finish_change(change, ChangeKind::etcd, trigger);
  if (change.result == Outcome::failed) {
    if (!merge_refused) feed.last_error = source + ": " + first_line(change.error);
    // The last good stays: at start, that is the file kept on disk.
    if (first) fall_back_to_last_good("its first snapshot was refused");
    return;
  }
  feed.settled = true;
  etcd_start_.cancel();
}

void Daemon::fall_back_to_last_good(const std::string& why) {
  EtcdFeed& feed = *etcd_;
  if (feed.settled || feed.fell_back) return;
  feed.fell_back = true;  // once: a later failed attempt changes nothing
  feed.settled = true;
  etcd_start_.cancel();
  std::optional<std::string> text;
  try {
    text = feed.last_good.read(config_->settings.max_config_size);
  } catch (const Error& e) {
    log_error(std::string("etcd unreachable at start (") + why +
              "), and the last good file is unusable: " + e.what() +
              "; waiting for etcd, the workers start once it answers");
    feed.settled = false;
    return;
  }
  if (!text) {
    log_warning("etcd unreachable at start (" + why + "), and no last good file " +
                feed.last_good.path() +
                " yet: waiting for etcd, the workers start once it "
                "answers");
    notifier_.status("waiting for etcd (" + why + "); no last good file yet");
    feed.settled = false;
    return;
  }
  const std::string source = feed.last_good.path() + " (last good; etcd unreachable)";
  config::LoadResult cached = merge_cached(feed.base, *text, feed.last_good.path());
  if (!cached.config) {
    log_error("etcd unreachable at start (" + why + "), and the last good file is refused: " +
              cached.errors.joined("; ") + "; waiting for etcd");
    feed.settled = false;
    return;
  }
  log_warning("etcd unreachable at start (" + why + "): publishing the last good document " +
              feed.last_good.path() + "; catching up once etcd answers");
  Change change = adopt(std::move(cached), false, source, ChangeKind::start, "start");
  if (change.result == Outcome::checking) return;  // after_etcd_checks goes on
  note_cache_adopted(change);
  finish_change(change, ChangeKind::start, "start");
}

void Daemon::note_cache_adopted(const Change& change) {
  EtcdFeed& feed = *etcd_;
  if (change.result != Outcome::failed) feed.from_cache = true;
  if (change.result == Outcome::ok || change.result == Outcome::unchanged) {
    // The file holds what is live now.
    feed.last_good_written = true;
  }
}

// The end of a change from etcd or from the last good file whose checks ran: the same
// bookkeeping as when it needs none (on_etcd_snapshot, fall_back_to_last_good).
void Daemon::after_etcd_checks(ChangeKind what, const Change& change) {
  EtcdFeed& feed = *etcd_;
  if (what == ChangeKind::start) {
    note_cache_adopted(change);
    return;
  }
  if (what != ChangeKind::etcd) return;
  if (change.result == Outcome::failed) {
    feed.last_error = change.source + ": " + first_line(change.error);
  }
  if (std::exchange(feed.first_in_checks, false) && change.result == Outcome::failed &&
      !stopping_) {
    feed.settled = false;
    fall_back_to_last_good("its first snapshot was refused");
  }
}

// A reload re-reads the file and merges the latest snapshot over it at once (so an edit of
// the file goes live now), then asks etcd for a full Range again; that snapshot goes live too
// if etcd changed meanwhile.
Change Daemon::reload_with_etcd(config::LoadResult file, const std::string& trigger) {
  EtcdFeed& feed = *etcd_;
  if (!file.config) return adopt(std::move(file), true, config_path_, ChangeKind::reload, trigger);
  Change refused;
  try {
    refuse_setting_changes(file.config->settings);
  } catch (const Error& e) {
    refused.source = config_path_;
    refused.result = Outcome::failed;
    refused.error = e.what();
    return refused;
  }
  feed.base = json::value(file.config->document, json::storage_ptr());
  file_text_ = json::serialize(feed.base);
  feed.source->resync();
  if (feed.snapshot) {
    const std::string source =
        etcd_source_name(feed.state.endpoint, feed.settings.prefix, feed.snapshot->revision);
    config::LoadResult merged = merge_snapshot(feed.base, feed.settings.prefix, *feed.snapshot,
                                               config_->settings.max_config_size, source);
    return adopt(std::move(merged), false, source, ChangeKind::reload, trigger,
                 feed.snapshot->revision);
  }
  if (feed.from_cache) {
    std::optional<std::string> text = feed.last_good.read(config_->settings.max_config_size);
    if (text) {
      return adopt(merge_cached(feed.base, *text, feed.last_good.path()), false,
                   feed.last_good.path() + " (last good; etcd unreachable)", ChangeKind::reload,
                   trigger);
    }
  }
  Change waiting;
  waiting.source = config_path_;
  waiting.result = Outcome::failed;
  waiting.error =
      "etcd has not answered yet: the file is read, and goes live with etcd's first "
      "snapshot";
  return waiting;
}

void Daemon::keep_last_good() {
  EtcdFeed& feed = *etcd_;
  try {
    feed.last_good.write(published_text_);
    feed.last_good_written = true;
    feed.last_good_error.clear();
  } catch (const Error& e) {
    feed.last_good_error = e.what();
    feed.last_error = e.what();
    log_error(std::string("etcd: unable to keep the last good document (a start while etcd is "
                          "away would not find it): ") +
              e.what());
  }
}

json::value Daemon::etcd_json() const {
  if (!etcd_) return nullptr;
  const EtcdFeed& feed = *etcd_;
  return json::object{{"prefix", feed.settings.prefix},
                      {"endpoint", text_or_null(feed.state.endpoint)},
                      {"connection", etcd::connection_name(feed.state.connection)},
                      {"connected_since", feed.state.connected_since
                                              ? json::value(format_utc(*feed.state.connected_since))
                                              : json::value(nullptr)},
                      {"applied_revision", feed.applied_revision},
                      {"watch_revision", feed.state.revision},
                      {"from_last_good", feed.from_cache},
                      {"last_good", feed.last_good.path()},
                      {"last_good_error", text_or_null(feed.last_good_error)},
                      {"last_error", text_or_null(feed.last_error)}};
}

}  // namespace confvisor::daemon
