#include "bench/daemon_config.hpp"

#include "bench/bench_worker.hpp"

namespace confvisor::bench {

namespace json = boost::json;

json::object to_json(const DaemonSection& section) {
  return json::object{{"segment", section.segment},
                      {"segment_size", section.segment_size},
                      {"max_config_size", section.max_config_size},
                      {"socket", section.socket},
                      {"workers", section.workers}};
}

json::object bench_worker(const std::string& name, const std::string& bench_binary,
                          unsigned instances, const std::string& report_socket) {
  return json::object{
      {"name", name},
      {"command", json::array{bench_binary, kWorkerFlag}},
      {"instances", instances},
      {"env", json::object{{kReportEnv, report_socket}}},
      {"restart", "on-failure"},  // the default, spelled out: a SIGKILL is a failure
      {"backoff", json::object{{"initial", "0ms"}, {"max", "0ms"}}},
      {"start_window", "0ms"},
      {"restart_limit", json::object{{"count", 1'000'000}, {"period", "1h"}}},
      {"stop_timeout", "10s"}};
}

}  // namespace confvisor::bench
