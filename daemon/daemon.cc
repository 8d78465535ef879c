#include "daemon.hpp"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <filesystem>

#include "accounts.hpp"
#include "log.hpp"
#include "units.hpp"

namespace confvisor::daemon {

namespace {

std::string absolute(const std::string& path) {
  return std::filesystem::absolute(path).string();
}

Config load_or_throw(const std::string& path, std::size_t max_size) {
  LoadResult result = load_config(path, max_size);
  if (!result.config) throw ConfigRejected(std::move(result.errors));
  return std::move(*result.config);
}

std::optional<gid_t> resolve_group(const std::optional<std::string>& name) {
  if (!name) return std::nullopt;
  if (auto gid = find_group(*name)) return gid;
  throw Error("unknown group \"" + *name + "\" for the segment");
}

PublisherOptions publisher_options(const Settings& s) {
  return PublisherOptions{.segment = s.segment,
                          .mode = s.mode,
                          .group = resolve_group(s.group),
                          .initial_size = s.segment_size,
                          .history = s.history,
                          .on_event = [](const std::string& line) { log_info(line); }};
}

std::string join(const std::vector<std::string>& lines, std::string_view sep) {
  std::string out;
  for (const auto& l : lines) {
    if (!out.empty()) out += sep;
    out += l;
  }
  return out;
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGHUP:
      return "SIGHUP";
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGCHLD:
      return "SIGCHLD";
  }
  return "signal";
}

}  // namespace

ConfigRejected::ConfigRejected(std::vector<std::string> e)
    : Error(e.empty() ? "config rejected" : e.front()), errors(std::move(e)) {}

Daemon::Daemon(const std::string& config_path)
    : signals_{SIGHUP, SIGTERM, SIGINT, SIGCHLD},
      config_path_(absolute(config_path)),
      config_(load_or_throw(config_path_, Settings{}.max_config_size)),
      lock_(config_->settings.segment),
      control_(std::make_unique<ControlServer>(
          io_, config_->settings.socket,
          ControlAccess{::geteuid(), resolve_group(config_->settings.group).value_or(::getegid())},
          [this](const control::Request& request, const PeerCredentials& peer,
                 ControlServer::Reply reply) { on_control(request, peer, std::move(reply)); })),
      publisher_(publisher_options(config_->settings)),
      signal_events_(io_, signals_.fd()),
      watchdog_timer_(io_),
      supervisor_(io_, config_->settings.segment, [this] { return generation_; }) {
  // Descendants that leave a worker's process group are reparented to us, not to init, so
  // a stopped worker leaves nothing running behind it.
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) throw_sys("become a child subreaper");
  log_info("starting: pid " + std::to_string(::getpid()) + ", config " + config_path_ +
           ", segment " + config_->settings.segment + " (/dev/shm/confvisor." +
           config_->settings.segment + ")");
  publish_initial();
}

Daemon::~Daemon() {
  // The signalfd belongs to signals_; the descriptor object must not close it.
  signal_events_.release();
}

void Daemon::publish_initial() {
  const std::string text = boost::json::serialize(config_->document);
  if (std::uint64_t current = publisher_.current_generation(); current != 0) {
    if (publisher_.read(current).text == text) {
      generation_ = current;
      published_text_ = text;
      file_text_ = text;
      log_info("publish skipped: generation " + std::to_string(current) +
               " already holds this config (" + human_size(text.size()) + ")");
      return;
    }
  }
  file_text_ = text;
  try {
    generation_ = publisher_.publish_serialized(text, config_path_);
  } catch (const Error& e) {  // say, no room to recover the segment: supervise all the same
    generation_ = publisher_.current_generation();
    if (generation_ == 0) throw;
    log_error("publish failed: generation " + std::to_string(generation_) +
              " stays published, the next reload tries again: " + e.what());
    return;
  }
  published_text_ = text;
  log_info("publish ok: generation " + std::to_string(generation_) + ", " +
           human_size(text.size()) + ", from " + config_path_);
}

int Daemon::run() {
  supervisor_.apply(config_->settings.workers, false);
  // READY=1 once every worker's first start has come to an end (ready, or failed for good).
  supervisor_.when_settled([this] {
    log_info("ready: generation " + std::to_string(generation_) + ", " + supervisor_.summary());
    notifier_.ready(status());
  });
  wait_for_signals();
  wait_for_watchdog();
  // From here on the daemon must not die: workers and readers depend on it. A handler that
  // throws is a bug to log loudly; the loop then goes on with the next event.
  for (;;) {
    try {
      io_.run();
      return 0;
    } catch (const std::exception& e) {
      log_error(std::string("internal error in an event handler (the daemon carries on): ") +
                e.what());
    }
  }
}

void Daemon::wait_for_signals() {
  signal_events_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                            [this](const boost::system::error_code& ec) {
                              if (ec) return;
                              on_signals(signals_.drain());
                            });
}

void Daemon::on_signals(const std::vector<int>& signals) {
  bool reload_requested = false;
  for (int sig : signals) {
    if (sig == SIGCHLD) supervisor_.reap();
    if (sig == SIGHUP) reload_requested = true;
    if (sig == SIGTERM || sig == SIGINT) shut_down(sig);
  }
  // However many SIGHUPs arrived, one reload reads the file as it is now.
  if (reload_requested && !stopping_) reload("SIGHUP");
  wait_for_signals();
}

// Stops every worker gracefully (each within its stop_timeout), then leaves the loop. The
// segment stays: readers keep their config across a restart of the daemon.
void Daemon::shut_down(int sig) {
  if (stopping_) {
    log_info(std::string(signal_name(sig)) + " again: already stopping the workers");
    return;
  }
  stopping_ = true;
  notifier_.stopping("stopping; generation " + std::to_string(generation_) + " stays published");
  log_info(std::string("stopping on ") + signal_name(sig) + ": stopping the workers; generation " +
           std::to_string(generation_) + " stays published in /dev/shm/confvisor." +
           config_->settings.segment);
  supervisor_.stop_all([this] {
    log_info("stopped: every worker has exited");
    control_->close();
    io_.stop();
  });
}

Daemon::Change Daemon::reload(const std::string& trigger) {
  notifier_.reloading("reloading " + config_path_);
  Change change =
      adopt(load_config(config_path_, config_->settings.max_config_size), true, config_path_);
  finish_change(change, "reload", trigger);
  return change;
}

// Republishes a kept generation as a new one. It goes through the same checks as a reload:
// the config it holds must still be valid here and keep the segment's settings.
Daemon::Change Daemon::rollback(std::uint64_t generation, const std::string& trigger) {
  const Generation kept = publisher_.read(generation);  // throws if not kept
  notifier_.reloading("rolling back to generation " + std::to_string(generation));
  const std::string source =
      kept.info.source + " (rollback to generation " + std::to_string(generation) + ")";
  Change change =
      adopt(load_config_text(kept.text, "generation " + std::to_string(generation)), false, source);
  finish_change(change, "rollback", trigger);
  return change;
}

// The one way a new config goes live: refused whole if anything is wrong with it, else
// published, then the workers reconciled to it.
Daemon::Change Daemon::adopt(LoadResult loaded, bool from_file, const std::string& source) {
  Change change;
  change.source = source;
  auto fail = [&](std::string why) {
    change.result = "failed";
    change.error = std::move(why);
    return change;
  };
  if (!loaded.config) return fail(join(loaded.errors, "\n"));
  if (std::string refusal = refuse_setting_changes(loaded.config->settings); !refusal.empty()) {
    return fail(refusal);
  }
  const std::string text = boost::json::serialize(loaded.config->document);
  if (from_file) file_text_ = text;
  if (text == published_text_) {
    config_.emplace(std::move(*loaded.config));
    change.result = "unchanged";
    return change;
  }
  try {
    apply_settings(loaded.config->settings);
    generation_ = publisher_.publish_serialized(text, source);
  } catch (const Error& e) {
    return fail(e.what());
  }
  config_.emplace(std::move(*loaded.config));
  published_text_ = text;
  change.result = "ok";
  // After the publish: a worker restarted or signalled now reads the new generation.
  supervisor_.apply(config_->settings.workers, true);
  return change;
}

// Logs the outcome in one line, remembers it for status, and tells the service manager.
void Daemon::finish_change(Change& change, const std::string& what, const std::string& trigger) {
  change.trigger = trigger;
  change.at = std::chrono::system_clock::now();
  change.generation = generation_;
  const std::string gen = "generation " + std::to_string(generation_);
  if (change.result == "failed") {
    std::string one_line = change.error;
    std::replace(one_line.begin(), one_line.end(), '\n', ';');
    log_error(what + " failed: " + gen + " stays published: " + one_line);
  } else if (change.result == "unchanged") {
    log_info(what + " unchanged: " + gen + " stays published, " + change.source +
             " holds the same config");
  } else {
    log_info(what + " ok: " + gen + ", " + human_size(published_text_.size()) + ", from " +
             change.source);
  }
  last_change_ = change;
  notifier_.ready(status());
}

// Settings that name or shape the segment cannot change under running readers.
std::string Daemon::refuse_setting_changes(const Settings& next) const {
  const Settings& cur = config_->settings;
  auto refuse = [](std::string_view key, const std::string& from, const std::string& to) {
    return std::string("/confvisor/") + std::string(key) + " changed from " + from + " to " + to +
           ": restart confvisord to apply it";
  };
  if (next.segment != cur.segment)
    return refuse("segment", "\"" + cur.segment + "\"", "\"" + next.segment + "\"");
  if (next.mode != cur.mode) {
    char from[8], to[8];
    std::snprintf(from, sizeof from, "%04o", cur.mode);
    std::snprintf(to, sizeof to, "%04o", next.mode);
    return refuse("mode", from, to);
  }
  if (next.group != cur.group) {
    return refuse("group", cur.group.value_or("(none)"), next.group.value_or("(none)"));
  }
  if (next.socket != cur.socket) return refuse("socket", cur.socket, next.socket);
  return {};
}

void Daemon::apply_settings(const Settings& next) {
  publisher_.set_history(next.history);
}

std::string Daemon::status() const {
  std::string last = last_change_.result;
  if (last == "failed") last += ": " + last_change_.error.substr(0, last_change_.error.find('\n'));
  return "generation " + std::to_string(generation_) + " published; " + supervisor_.summary() +
         "; last reload: " + last;
}

void Daemon::wait_for_watchdog() {
  auto period = notifier_.watchdog_period();
  if (!period) return;  // no timer at all: an idle daemon makes no wakeups
  watchdog_timer_.expires_after(*period);
  watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    notifier_.watchdog();
    wait_for_watchdog();
  });
}

}  // namespace confvisor::daemon
