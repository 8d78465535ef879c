// The paths the HTTP endpoint serves, and what each answers:
//   /metrics   the Prometheus text format (daemon/http/metrics.hpp)
//   /healthz   200 "ok" when the config is published and no worker is FATAL; else 503 and
//              the reasons, one per line
//   /status    the JSON of `confvisorctl status --json`
//   /history   the JSON of `confvisorctl history --json`
//   /          the status page (daemon/http/status_page.hpp)
// Any other path is 404. Every answer is read from the daemon at the request, on its loop.
#pragma once

#include <boost/json/value.hpp>
#include <functional>
#include <string>
#include <vector>

#include "daemon/http/exchange.hpp"
#include "daemon/http/metrics.hpp"

namespace confvisor::http {

// What the endpoints read from the daemon.
struct DaemonView {
  std::function<boost::json::value()> status;
  std::function<boost::json::value()> history;
  std::function<MetricsInput()> metrics;
  // Why the daemon is not healthy, one line per reason; empty when it is.
  std::function<std::vector<std::string>()> health_problems;
};

// The handler for a Server.
[[nodiscard]] Handler endpoints(DaemonView view);

}  // namespace confvisor::http
