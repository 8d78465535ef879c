#include "bench/bench_daemon.hpp"

namespace confvisor::bench {

BenchDaemon::BenchDaemon(const std::string& binary, const std::string& config_path,
                         const BenchDir& dir, BenchSegment& segment)
    : DaemonProcess(dir, config_path, test::DaemonOptions{.program = binary, .log_level = ""}),
      kill_on_signal_(pid()) {
  segment.add_publisher(pid());
}

}  // namespace confvisor::bench
