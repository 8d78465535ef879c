#include "bench/bench_worker.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "bench/clock.hpp"
#include "tests/support/notify_socket.hpp"

namespace confvisor::bench {

namespace {
constexpr std::string_view kTag = "confvisor-bench-worker";
}  // namespace

std::string format_report(const WorkerReport& report) {
  return std::string(kTag) + " " + std::to_string(report.pid) + " " +
         std::to_string(report.instance) + " " + std::to_string(report.sent_ns);
}

std::optional<WorkerReport> parse_report(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string tag;
  WorkerReport r;
  long long pid = 0;
  if (!(in >> tag >> pid >> r.instance >> r.sent_ns) || tag != kTag || pid <= 0) {
    return std::nullopt;
  }
  r.pid = static_cast<pid_t>(pid);
  return r;
}

int worker_main() {
  const char* report_path = std::getenv(kReportEnv);
  const char* instance = std::getenv("CONFVISOR_INSTANCE");
  if (report_path == nullptr || instance == nullptr) {
    std::fprintf(stderr, "confvisor-bench %s: %s and CONFVISOR_INSTANCE must be set\n",
                 kWorkerFlag.data(), kReportEnv);
    return 1;
  }
  WorkerReport report;
  report.pid = ::getpid();
  report.instance = static_cast<unsigned>(std::strtoul(instance, nullptr, 10));
  report.sent_ns = monotonic_ns();
  if (!test::send_datagram(report_path, format_report(report))) {
    std::fprintf(stderr, "confvisor-bench %s: unable to report to %s: %s\n", kWorkerFlag.data(),
                 report_path, std::strerror(errno));
    return 1;
  }
  // Sleeps without a timer: only a signal (SIGTERM from the daemon's stop, SIGKILL from
  // the bench) ends it, with the default dispositions the daemon gave it.
  for (;;) ::pause();
}

}  // namespace confvisor::bench
