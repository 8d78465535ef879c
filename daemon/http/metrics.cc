#include "daemon/http/metrics.hpp"

#include <algorithm>
#include <map>

#include "daemon/http/exposition.hpp"

#ifndef CONFVISOR_VERSION
#error "CONFVISOR_VERSION must name the version (daemon/CMakeLists.txt)"
#endif

namespace confvisor::http {

namespace {

using supervise::InstanceStatus;
using supervise::State;

// Every state a worker's instances are counted in, so that each worker has a series per
// state (0 when none is in it) and a query never misses one that has not happened yet.
constexpr State kStates[] = {State::stopped, State::starting, State::running,
                             State::backoff, State::stopping, State::fatal};

double unix_seconds(std::chrono::system_clock::time_point at) {
  using std::chrono::duration;
  return duration<double>(at.time_since_epoch()).count();
}

// The workers in the order status lists them, each once.
std::vector<std::string> worker_names(const std::vector<InstanceStatus>& instances) {
  std::vector<std::string> names;
  for (const InstanceStatus& s : instances) {
    if (std::find(names.begin(), names.end(), s.name) == names.end()) names.push_back(s.name);
  }
  return names;
}

// The state names to count: the known states, then any other a status shows.
std::vector<std::string> state_names(const std::vector<InstanceStatus>& instances) {
  std::vector<std::string> names;
  for (State state : kStates) names.emplace_back(supervise::state_name(state));
  for (const InstanceStatus& s : instances) {
    const std::string name = supervise::state_name(s.state);
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

void daemon_metrics(Exposition& out, const MetricsInput& in) {
  out.family("confvisor_build_info", "gauge",
             "Always 1; the version label is the version of confvisord.");
  out.sample("confvisor_build_info", {{"version", CONFVISOR_VERSION}}, std::uint64_t{1});

  out.family("confvisor_generation", "gauge",
             "The generation of the config that readers of the segment see now.");
  out.sample("confvisor_generation", {}, in.generation);

  out.family("confvisor_reloads_total", "counter",
             "Reloads and rollbacks since the daemon started, by how they ended.");
  for (const ReloadCount& r : in.reloads)
    out.sample("confvisor_reloads_total", {{"result", r.result}}, r.count);

  out.family("confvisor_last_reload_timestamp_seconds", "gauge",
             "When the last reload or rollback with this result ended, in seconds since the "
             "Unix epoch; absent until one has.");
  for (const ReloadCount& r : in.reloads) {
    if (r.last) {
      out.sample("confvisor_last_reload_timestamp_seconds", {{"result", r.result}},
                 unix_seconds(*r.last));
    }
  }

  out.family("confvisor_live_matches_file", "gauge",
             "1 if the live generation is what the config file holds now, else 0 (an edit "
             "not reloaded yet, a file that fails to load or was deleted).");
  out.sample("confvisor_live_matches_file", {}, std::uint64_t{in.live_matches_file ? 1u : 0u});

  out.family("confvisor_segment_size_bytes", "gauge",
             "Size of the shared-memory segment /dev/shm/confvisor.SEGMENT.");
  if (in.segment_size) out.sample("confvisor_segment_size_bytes", {}, *in.segment_size);

  out.family("confvisor_config_size_bytes", "gauge",
             "Size of the live generation's JSON text (minified), as readers copy it.");
  out.sample("confvisor_config_size_bytes", {}, in.config_size);
}

void worker_metrics(Exposition& out, const std::vector<InstanceStatus>& instances) {
  const std::vector<std::string> workers = worker_names(instances);

  out.family("confvisor_worker_instances", "gauge",
             "Instances of each worker in each state (the states of confvisorctl status).");
  const std::vector<std::string> states = state_names(instances);
  for (const std::string& worker : workers) {
    for (const std::string& state : states) {
      const auto n = std::count_if(instances.begin(), instances.end(), [&](const auto& s) {
        return s.name == worker && supervise::state_name(s.state) == state;
      });
      out.sample("confvisor_worker_instances", {{"worker", worker}, {"state", state}},
                 static_cast<std::uint64_t>(n));
    }
  }

  out.family("confvisor_worker_restarts_total", "counter",
             "Restarts of each worker's instances after an exit, summed over its instances.");
  for (const std::string& worker : workers) {
    std::uint64_t restarts = 0;
    for (const InstanceStatus& s : instances) {
      if (s.name == worker) restarts += s.restarts;
    }
    out.sample("confvisor_worker_restarts_total", {{"worker", worker}}, restarts);
  }

  out.family("confvisor_worker_up", "gauge", "1 if the instance is RUNNING, else 0.");
  for (const InstanceStatus& s : instances) {
    out.sample("confvisor_worker_up",
               {{"worker", s.name}, {"instance", std::to_string(s.instance)}},
               std::uint64_t{s.state == State::running ? 1u : 0u});
  }

  out.family("confvisor_worker_memory_bytes", "gauge",
             "Memory the instance's cgroup uses (memory.current); only where the memory "
             "controller is enabled for it.");
  for (const InstanceStatus& s : instances) {
    if (!s.memory_current) continue;
    out.sample("confvisor_worker_memory_bytes",
               {{"worker", s.name}, {"instance", std::to_string(s.instance)}}, *s.memory_current);
  }
}

}  // namespace

std::string render_metrics(const MetricsInput& in) {
  Exposition out;
  daemon_metrics(out, in);
  worker_metrics(out, in.instances);
  out.family("confvisor_http_connections_refused_total", "counter",
             "HTTP connections closed at once because the endpoint had as many open as it "
             "allows.");
  out.sample("confvisor_http_connections_refused_total", {}, in.http_connections_refused);
  return out.text();
}

}  // namespace confvisor::http
