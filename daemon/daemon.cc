#include "daemon.hpp"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <cstdio>
#include <filesystem>

#include "accounts.hpp"
#include "log.hpp"

namespace confvisor::daemon {

namespace {

std::string absolute(const std::string& path) { return std::filesystem::absolute(path).string(); }

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

std::string human_size(std::size_t bytes) {
  char buf[32];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof buf, "%zu B", bytes);
  } else if (bytes < 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024 * 1024));
  }
  return buf;
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
    case SIGHUP: return "SIGHUP";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGCHLD: return "SIGCHLD";
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
      lock_(config_.settings.segment),
      publisher_(publisher_options(config_.settings)),
      signal_events_(io_, signals_.fd()),
      watchdog_timer_(io_),
      supervisor_(io_, config_.settings.segment, [this] { return generation_; }) {
  // Descendants that leave a worker's process group are reparented to us, not to init, so
  // a stopped worker leaves nothing running behind it.
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) throw_sys("become a child subreaper");
  log_info("starting: pid " + std::to_string(::getpid()) + ", config " + config_path_ +
           ", segment " + config_.settings.segment + " (/dev/shm/confvisor." +
           config_.settings.segment + ")");
  publish_initial();
}

Daemon::~Daemon() {
  // The signalfd belongs to signals_; the descriptor object must not close it.
  signal_events_.release();
}

void Daemon::publish_initial() {
  const std::string text = boost::json::serialize(config_.document);
  if (std::uint64_t current = publisher_.current_generation(); current != 0) {
    if (publisher_.read(current).text == text) {
      generation_ = current;
      published_text_ = text;
      log_info("publish skipped: generation " + std::to_string(current) +
               " already holds this config (" + human_size(text.size()) + ")");
      return;
    }
  }
  generation_ = publisher_.publish_value(config_.document, config_path_);
  published_text_ = text;
  log_info("publish ok: generation " + std::to_string(generation_) + ", " +
           human_size(text.size()) + ", from " + config_path_);
}

int Daemon::run() {
  supervisor_.apply(config_.settings.workers, false);
  // READY=1 once every worker's first start has come to an end (ready, or failed for good).
  supervisor_.when_settled([this] {
    log_info("ready: generation " + std::to_string(generation_) + ", " + supervisor_.summary());
    notifier_.ready(status());
  });
  wait_for_signals();
  wait_for_watchdog();
  io_.run();
  return 0;
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
  if (reload_requested && !stopping_) reload();
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
           config_.settings.segment);
  supervisor_.stop_all([this] {
    log_info("stopped: every worker has exited");
    io_.stop();
  });
}

void Daemon::reload() {
  notifier_.reloading("reloading " + config_path_);
  LoadResult result = load_config(config_path_, config_.settings.max_config_size);
  std::string refusal = result.config ? refuse_setting_changes(result.config->settings) : "";
  if (!result.config || !refusal.empty()) {
    const std::string why = result.config ? refusal : join(result.errors, "; ");
    last_reload_ = "failed: " + why;
    log_error("reload failed: generation " + std::to_string(generation_) +
              " stays published: " + why);
    notifier_.ready(status());
    return;
  }
  const std::string text = boost::json::serialize(result.config->document);
  if (text == published_text_) {
    config_ = std::move(*result.config);
    last_reload_ = "unchanged";
    log_info("reload unchanged: generation " + std::to_string(generation_) +
             " stays published, " + config_path_ + " holds the same config");
    notifier_.ready(status());
    return;
  }
  try {
    apply_settings(result.config->settings);
    generation_ = publisher_.publish_value(result.config->document, config_path_);
  } catch (const Error& e) {
    last_reload_ = std::string("failed: ") + e.what();
    log_error("reload failed: generation " + std::to_string(generation_) +
              " stays published: " + e.what());
    notifier_.ready(status());
    return;
  }
  config_ = std::move(*result.config);
  published_text_ = text;
  last_reload_ = "ok";
  log_info("reload ok: generation " + std::to_string(generation_) + ", " +
           human_size(text.size()) + ", from " + config_path_);
  // After the publish: a worker restarted or signalled now reads the new generation.
  supervisor_.apply(config_.settings.workers, true);
  notifier_.ready(status());
}

// Settings that name or shape the segment cannot change under running readers.
std::string Daemon::refuse_setting_changes(const Settings& next) const {
  const Settings& cur = config_.settings;
  auto refuse = [](std::string_view key, const std::string& from, const std::string& to) {
    return std::string("/confvisor/") + std::string(key) + " changed from " + from + " to " + to +
           ": restart confvisord to apply it";
  };
  if (next.segment != cur.segment) return refuse("segment", "\"" + cur.segment + "\"", "\"" + next.segment + "\"");
  if (next.mode != cur.mode) {
    char from[8], to[8];
    std::snprintf(from, sizeof from, "%04o", cur.mode);
    std::snprintf(to, sizeof to, "%04o", next.mode);
    return refuse("mode", from, to);
  }
  if (next.group != cur.group) {
    return refuse("group", cur.group.value_or("(none)"), next.group.value_or("(none)"));
  }
  return {};
}

void Daemon::apply_settings(const Settings& next) { publisher_.set_history(next.history); }

std::string Daemon::status() const {
  return "generation " + std::to_string(generation_) + " published; " + supervisor_.summary() +
         "; last reload: " + last_reload_;
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
