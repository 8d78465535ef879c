// The daemon's side of the HTTP endpoint (daemon/http): what /metrics, /healthz, /status and
// /history read, taken from the same state the control socket's status and history report.
#include <sys/stat.h>

#include "common/segment/name.hpp"
#include "daemon/core/daemon.hpp"

namespace confvisor::daemon {

namespace {

// The size of the segment object, read without the writer lock (another process may hold
// it); nullopt if it cannot be seen.
std::optional<std::uint64_t> segment_object_size(const std::string& segment) {
  struct stat st {};
  if (::stat(SegmentNames(segment).path.c_str(), &st) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace

std::unique_ptr<http::Server> Daemon::make_http_server() {
  if (!config_->settings.http) return nullptr;
  http::DaemonView view{.status = [this] { return status_json(); },
                        .history = [this] { return history_json(); },
                        .metrics = [this] { return metrics_input(); },
                        .health_problems = [this] { return health_problems(); }};
  return std::make_unique<http::Server>(io_, *config_->settings.http,
                                        http::endpoints(std::move(view)));
}

http::MetricsInput Daemon::metrics_input() {
  sync_live();
  const config::ConfigOnDisk::Reading& on_disk =
      config_on_disk_.read(config_path_, config_->settings.max_config_size);
  return http::MetricsInput{.generation = generation_,
                            .live_matches_file = on_disk.text && *on_disk.text == published_text_,
                            .segment_size = segment_object_size(config_->settings.segment),
                            .config_size = published_text_.size(),
                            .reloads = reload_counts_.counts(),
                            .instances = supervisor_.status(),
                            .http_connections_refused = http_ ? http_->refused() : 0};
}

// Healthy: the config is published, the workers were started with it, none is FATAL, and the
// daemon is not stopping.
std::vector<std::string> Daemon::health_problems() const {
  std::vector<std::string> problems;
  if (stopping_) problems.push_back("confvisord is stopping");
  if (!workers_started_) {
    problems.push_back(pending_ ? "the first publish waits: " + lock_wait_reason_
                                : std::string("no config published yet"));
  }
  for (const supervise::InstanceStatus& s : supervisor_.status()) {
    if (s.state != supervise::State::fatal) continue;
    std::string line =
        "worker " + s.name + "[" + std::to_string(s.instance) + "] is " + state_name(s.state);
    if (!s.last_exit.empty()) line += " (last exit: " + s.last_exit + ")";
    problems.push_back(std::move(line));
  }
  return problems;
}

}  // namespace confvisor::daemon
