// The daemon's metrics, in the Prometheus text format (daemon/http/exposition.hpp): what
// /metrics serves. The values are the daemon's own state, the same as `confvisorctl status`
// reports; the README's "HTTP endpoint" lists every metric with its type and labels.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/supervise/worker_instance.hpp"

namespace confvisor::http {

// What the daemon's reloads and rollbacks ended in, for one result ("ok", "unchanged",
// "failed"): how many, and when the last one ended.
struct ReloadCount {
  std::string result;
  std::uint64_t count = 0;
  std::optional<std::chrono::system_clock::time_point> last;
};

// The daemon's state at the moment of a scrape, taken on its loop.
struct MetricsInput {
  std::uint64_t generation = 0;
  bool live_matches_file = false;
  std::optional<std::uint64_t> segment_size;  // bytes of /dev/shm/confvisor.SEGMENT, if known
  std::uint64_t config_size = 0;              // bytes of the live generation's JSON text
  std::vector<ReloadCount> reloads;
  std::vector<supervise::InstanceStatus> instances;  // as status lists them
  std::uint64_t http_connections_refused = 0;        // beyond the connection limit
};

// The whole /metrics body.
[[nodiscard]] std::string render_metrics(const MetricsInput& in);

}  // namespace confvisor::http
