// The worker of the supervision figures: `confvisor-bench --as-worker`, started by the
// confvisord under test. It reports in with one datagram (its pid, its instance and the
// CLOCK_MONOTONIC time, taken in main() after exec, dynamic linking and static
// initialisation) to the socket named by CONFVISOR_BENCH_REPORT, then sleeps in pause()
// until a signal ends it: no CPU time and no wakeups while it runs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace confvisor::bench {

inline constexpr std::string_view kWorkerFlag = "--as-worker";
// Set through the worker's "env" in the daemon's config.
inline constexpr const char* kReportEnv = "CONFVISOR_BENCH_REPORT";

struct WorkerReport {
  pid_t pid = 0;
  unsigned instance = 0;     // CONFVISOR_INSTANCE
  std::int64_t sent_ns = 0;  // CLOCK_MONOTONIC just before the report was sent
};

[[nodiscard]] std::string format_report(const WorkerReport& report);
// nullopt for anything that is not a report.
[[nodiscard]] std::optional<WorkerReport> parse_report(std::string_view text);

// The whole --as-worker mode. Returns only on failure (1, after saying why on stderr).
int worker_main();

}  // namespace confvisor::bench
