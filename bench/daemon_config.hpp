// The "confvisor" sections the bench runs the real confvisord with. Everything a run
// creates lives in its own temporary directory and under its own segment name, so nothing
// of the machine's (/run/confvisor, another daemon's segment) is touched.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstddef>
#include <string>

namespace confvisor::bench {

struct DaemonSection {
  std::string segment;
  std::size_t segment_size = 4u << 20;
  std::size_t max_config_size = 64u << 20;
  // The control socket: unused by today's daemon, but its default lives in /run/confvisor,
  // which the bench must not touch.
  std::string socket;
  boost::json::array workers;
};

[[nodiscard]] boost::json::object to_json(const DaemonSection& section);

// The supervision figures' worker: confvisor-bench itself in --as-worker mode
// (bench_worker.hpp), reporting to `report_socket`. Its supervision settings are the
// fastest the validator accepts (daemon/config/validate.cc): restart at once ("backoff"
// 0ms/0ms), a start that counts at once ("start_window" 0ms: so READY=1 waits for no
// timer), and a restart limit that never makes it FATAL during a run (the largest count
// accepted, 1000000, within 1h).
[[nodiscard]] boost::json::object bench_worker(const std::string& name,
                                               const std::string& bench_binary, unsigned instances,
                                               const std::string& report_socket);

}  // namespace confvisor::bench
