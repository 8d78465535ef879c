// confvisor-bench [--json FILE] [--quick] [--benchmark_* flags]
//
// One run measures, at 1 KiB, 64 KiB and 1 MiB configs: the reader's hot path and the
// baselines it replaces (Google Benchmark, in process), then publish -> visible latency to 1
// and 16 reader processes. It ends with a summary table on stdout and, with --json, one JSON
// object holding every figure. Targets are reported, never asserted.

#include <benchmark/benchmark.h>

#include <chrono>
#include <ctime>
#include <exception>
#include <iomanip>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cleanup.hpp"
#include "config_gen.hpp"
#include "inprocess_bench.hpp"
#include "latency_harness.hpp"
#include "report.hpp"

namespace cb = confvisor::bench;

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

struct SizePlan {
  std::size_t bytes;
  std::size_t publishes;        // full run
  std::size_t quick_publishes;  // --quick
};
// Fewer publishes as configs grow: each one costs a parse in every reader process.
constexpr SizePlan kSizes[] = {{1u << 10, 300, 50}, {64u << 10, 200, 20}, {1u << 20, 50, 5}};
constexpr std::size_t kReaderCounts[] = {1, 16};

// Google Benchmark flags this tool sets unless the command line sets them again (the last
// occurrence of a flag wins). A full run takes the median of 3 repetitions: the machine may
// be shared, and the median ignores one disturbed repetition.
const std::vector<std::string> kFullDefaults = {"--benchmark_repetitions=3"};
const std::vector<std::string> kQuickDefaults = {"--benchmark_min_time=0.02"};

constexpr const char* kUsage =
    "usage: confvisor-bench [--json FILE] [--quick] [--benchmark_* flags]\n"
    "  --json FILE   also write every figure as one JSON object to FILE\n"
    "  --quick       fewer iterations and publishes (a smoke run, well under a minute)\n"
    "  --benchmark_* passed to Google Benchmark (e.g. --benchmark_filter=current), they\n"
    "                apply to the in-process figures only\n";

struct Options {
  std::string json_path;
  bool quick = false;
  std::vector<std::string> benchmark_args;  // argv[0] first
};

enum class Parsed { kRun, kHelp, kBad };

// kBad has printed why the command line is not usable.
Parsed parse_args(int argc, char** argv, Options& options) {
  std::vector<std::string> passthrough;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      options.quick = true;
    } else if (arg == "--json") {
      if (i + 1 >= argc) {
        std::cerr << "confvisor-bench: --json needs a FILE\n" << kUsage;
        return Parsed::kBad;
      }
      options.json_path = argv[++i];
    } else if (arg.rfind("--json=", 0) == 0) {
      options.json_path = arg.substr(7);
    } else if (arg == "--help" || arg == "-h") {
      return Parsed::kHelp;
    } else {
      passthrough.push_back(arg);
    }
  }
  options.benchmark_args.push_back(argv[0]);
  const auto& defaults = options.quick ? kQuickDefaults : kFullDefaults;
  options.benchmark_args.insert(options.benchmark_args.end(), defaults.begin(), defaults.end());
  options.benchmark_args.insert(options.benchmark_args.end(), passthrough.begin(),
                                passthrough.end());
  return Parsed::kRun;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int run(int argc, char** argv) {
  Options options;
  switch (parse_args(argc, argv, options)) {
    case Parsed::kBad:
      return kExitUsage;
    case Parsed::kHelp:
      std::cout << kUsage;
      return 0;
    case Parsed::kRun:
      break;
  }

  cb::RunInfo info;
  for (int i = 0; i < argc; ++i) {
    if (i > 0) info.command += ' ';
    info.command += argv[i];
  }
  info.quick = options.quick;
  info.machine = cb::probe_machine();
  info.started_at = utc_now();
  info.load_at_start = cb::load_average();
  const auto started = std::chrono::steady_clock::now();

  std::vector<char*> gb_argv;
  for (std::string& a : options.benchmark_args) gb_argv.push_back(a.data());
  int gb_argc = static_cast<int>(gb_argv.size());
  gb_argv.push_back(nullptr);
  benchmark::Initialize(&gb_argc, gb_argv.data());
  if (benchmark::ReportUnrecognizedArguments(gb_argc, gb_argv.data())) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  cb::install_signal_cleanup();

  std::vector<cb::GeneratedConfig> configs;
  std::vector<cb::SizeResults> results;
  for (const SizePlan& plan : kSizes) {
    configs.push_back(cb::generate_config(plan.bytes));
    cb::SizeResults r;
    r.label = cb::size_label(plan.bytes);
    r.bytes = plan.bytes;
    r.services = configs.back().services;
    r.deep_pointer = configs.back().deep_pointer;
    results.push_back(std::move(r));
  }

  {
    // The fixtures (segments, Readers, baseline copies) live exactly as long as the
    // benchmarks that use them.
    std::vector<std::unique_ptr<cb::InProcessFixture>> fixtures;
    for (const cb::GeneratedConfig& config : configs) {
      fixtures.push_back(std::make_unique<cb::InProcessFixture>(config));
      cb::register_inprocess(*fixtures.back());
    }
    auto figures = cb::run_inprocess();
    for (cb::SizeResults& r : results) r.inprocess = std::move(figures[r.label]);
  }
  benchmark::Shutdown();

  // After Google Benchmark: its worker threads are joined by now, and the harness forks.
  std::cout << "\npublish -> visible latency (reader processes blocked in wait_for_change)\n";
  for (std::size_t i = 0; i < configs.size(); ++i) {
    for (std::size_t readers : kReaderCounts) {
      const cb::LatencyOptions latency{
          readers, options.quick ? kSizes[i].quick_publishes : kSizes[i].publishes};
      cb::LatencyResult l = cb::measure_publish_latency(configs[i], latency);
      std::cout << "  " << results[i].label << ", " << readers << " reader(s), " << l.publishes
                << " publishes: p50 " << std::fixed << std::setprecision(1) << l.p50_us
                << " us, p99 " << l.p99_us << " us, max " << l.max_us << " us" << std::defaultfloat
                << std::endl;
      results[i].latency.push_back(std::move(l));
    }
  }

  info.load_at_end = cb::load_average();
  info.duration_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  cb::print_summary(std::cout, info, results);
  if (!options.json_path.empty()) {
    cb::write_json(options.json_path, info, results);
    std::cout << "\nwrote " << options.json_path << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "confvisor-bench: " << e.what() << "\n";
    return kExitFailure;
  }
}
