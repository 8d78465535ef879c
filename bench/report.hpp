// Everything one run measured, and its two outputs: the summary table printed at the end,
// and the JSON object written by --json. Targets are evaluated here and reported, never
// asserted: speed depends on the machine.
#pragma once

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "bench/daemon_bench.hpp"
#include "bench/inprocess_bench.hpp"
#include "bench/latency_harness.hpp"
#include "bench/supervision_bench.hpp"

namespace confvisor::bench {

struct MachineInfo {
  long nproc = 0;
  std::string cpu_model;  // "model name" of /proc/cpuinfo
  std::string kernel;     // uname: sysname release version machine
};
[[nodiscard]] MachineInfo probe_machine();

// The first three fields of /proc/loadavg ("0.12 0.30 0.25"): on a shared machine, how much
// else was running is part of every figure.
[[nodiscard]] std::string load_average();

struct RunInfo {
  std::string command;
  bool quick = false;
  std::vector<std::string> parts;  // what --only selected, in run order
  MachineInfo machine;
  std::string started_at;  // UTC, ISO 8601
  double duration_s = 0;
  std::string load_at_start, load_at_end;  // load_average()
};

struct SizeResults {
  std::string label;  // "64KiB"
  std::size_t bytes = 0;
  std::size_t services = 0;
  std::string deep_pointer;
  InProcessFigures inprocess;
  std::vector<LatencyResult> latency;  // by ascending reader count
  std::optional<DaemonSizeFigures> daemon;
};

// Everything one run measured.
struct Results {
  std::vector<SizeResults> sizes;
  std::optional<SupervisionFigures> supervision;
};

// seed_copy_parse / current_unchanged_1thread: how many unchanged reads cost as much as one
// re-parse per read, the approach confvisor replaces. nullopt if either was not measured
// (e.g. filtered out with --benchmark_filter).
[[nodiscard]] std::optional<double> parse_per_read_ratio(const SizeResults& size);

struct TargetCheck {
  std::string name;
  std::string size;        // the config size, or what else the figure is "at" ("32 workers")
  std::string comparison;  // "<=" or ">="
  double limit = 0;
  std::string unit;
  std::optional<double> value;  // nullopt: not measured in this run
  [[nodiscard]] bool met() const {
    return value && (comparison == "<=" ? *value <= limit : *value >= limit);
  }
};
// The targets of the parts this run measured.
[[nodiscard]] std::vector<TargetCheck> evaluate_targets(const Results& results);

void print_summary(std::ostream& out, const RunInfo& run, const Results& results);

// Throws std::runtime_error if the file cannot be written.
void write_json(const std::string& path, const RunInfo& run, const Results& results);

}  // namespace confvisor::bench
