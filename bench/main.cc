// confvisor-bench [--json FILE] [--quick] [--only PARTS] [--confvisord PATH] [--benchmark_* flags]
//
// One run measures, at 1 KiB, 64 KiB and 1 MiB configs: the reader's hot path and the
// baselines it replaces (Google Benchmark, in process), publish -> visible latency to 1 and
// 16 reader processes, then with the real confvisord: SIGHUP -> visible and the idle
// daemon's cost, and supervision (SIGKILL -> replacement, starting 100 instances, 32 idle
// workers). It ends with a summary table on stdout and, with --json, one JSON object holding
// every figure. Targets are reported, never asserted.
//
// `confvisor-bench --as-worker` is the worker the supervision figures run under the daemon.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <exception>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/bench_worker.hpp"
#include "bench/cleanup.hpp"
#include "bench/config_gen.hpp"
#include "bench/daemon_bench.hpp"
#include "bench/inprocess_bench.hpp"
#include "bench/latency_harness.hpp"
#include "bench/report.hpp"
#include "bench/supervision_bench.hpp"

namespace cb = confvisor::bench;

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

struct SizePlan {
  std::size_t bytes;
  std::size_t publishes;        // latency harness, full run
  std::size_t quick_publishes;  // --quick
  std::size_t reloads;          // SIGHUPs to the daemon, full run
  std::size_t quick_reloads;    // --quick
};
// Fewer publishes and reloads as configs grow: each one costs a parse in every reader
// process (and in the daemon).
constexpr SizePlan kSizes[] = {
    {1u << 10, 300, 50, 200, 20}, {64u << 10, 200, 20, 100, 10}, {1u << 20, 50, 5, 50, 5}};
constexpr std::size_t kReaderCounts[] = {1, 16};

// The daemon-level figures: full run, then --quick (which must stay well under 30 s).
constexpr std::chrono::milliseconds kIdleWindow{5000}, kQuickIdleWindow{1000};
constexpr std::size_t kKills = 200, kQuickKills = 30;
constexpr std::size_t kStartRuns = 10, kQuickStartRuns = 2;
constexpr unsigned kStartInstances = 100;
constexpr unsigned kIdleWorkers = 32;

// The parts of a run, in the order they run; --only selects some.
constexpr const char* kInProcess = "inprocess";
constexpr const char* kLatency = "latency";
constexpr const char* kDaemon = "daemon";
constexpr const char* kSupervision = "supervision";
const std::vector<std::string> kParts = {kInProcess, kLatency, kDaemon, kSupervision};

// Google Benchmark flags this tool sets unless the command line sets them again (the last
// occurrence of a flag wins). A full run takes the median of 3 repetitions: the machine may
// be shared, and the median ignores one disturbed repetition.
const std::vector<std::string> kFullDefaults = {"--benchmark_repetitions=3"};
const std::vector<std::string> kQuickDefaults = {"--benchmark_min_time=0.02"};

constexpr const char* kUsage =
    "usage: confvisor-bench [--json FILE] [--quick] [--only PARTS] [--confvisord PATH]\n"
    "                       [--benchmark_* flags]\n"
    "  --json FILE         also write every figure as one JSON object to FILE\n"
    "  --quick             fewer iterations, publishes, reloads and kills, 1 s idle\n"
    "                      windows (a smoke run, well under a minute)\n"
    "  --only PARTS        run only these parts, comma-separated (default: all, in\n"
    "                      this order):\n"
    "                        inprocess    Reader::current() and the baselines\n"
    "                        latency      publish -> visible to 1 and 16 reader processes\n"
    "                        daemon       the real confvisord: SIGHUP -> visible, and the\n"
    "                                     idle daemon's RSS, CPU time, context switches\n"
    "                        supervision  the real confvisord: SIGKILL -> replacement,\n"
    "                                     starting 100 instances, 32 idle workers\n"
    "  --confvisord PATH   the daemon to run (default: confvisord next to this binary)\n"
    "  --benchmark_*       passed to Google Benchmark (e.g. --benchmark_filter=current);\n"
    "                      they apply to the in-process figures only\n";

struct Options {
  std::string json_path;
  bool quick = false;
  std::vector<std::string> parts = kParts;
  std::string confvisord;                   // empty: next to this binary
  std::vector<std::string> benchmark_args;  // argv[0] first

  [[nodiscard]] bool runs(const std::string& part) const {
    return std::find(parts.begin(), parts.end(), part) != parts.end();
  }
};

// "daemon,supervision" -> those parts in run order; nullopt (after saying why) if one is
// unknown or none is given.
std::optional<std::vector<std::string>> parse_parts(const std::string& list) {
  std::vector<std::string> wanted;
  for (std::size_t begin = 0; begin <= list.size();) {
    const std::size_t end = std::min(list.find(',', begin), list.size());
    const std::string part = list.substr(begin, end - begin);
    if (std::find(kParts.begin(), kParts.end(), part) == kParts.end()) {
      std::cerr << "confvisor-bench: unknown part \"" << part << "\" in --only\n" << kUsage;
      return std::nullopt;
    }
    wanted.push_back(part);
    begin = end + 1;
  }
  std::vector<std::string> ordered;
  for (const std::string& part : kParts) {
    if (std::find(wanted.begin(), wanted.end(), part) != wanted.end()) ordered.push_back(part);
  }
  return ordered;
}

// The value of "--name VALUE" or "--name=VALUE" at argv[i] (advancing i past VALUE);
// nullopt if argv[i] is not that option. An option without its value is reported.
std::optional<std::string> option_value(int argc, char** argv, int& i, const std::string& name,
                                        bool& missing) {
  const std::string arg = argv[i];
  if (arg.rfind(name + "=", 0) == 0) return arg.substr(name.size() + 1);
  if (arg != name) return std::nullopt;
  if (i + 1 >= argc) {
    missing = true;
    return std::nullopt;
  }
  return std::string(argv[++i]);
}

enum class Parsed { kRun, kHelp, kBad };

// kBad has printed why the command line is not usable.
Parsed parse_args(int argc, char** argv, Options& options) {
  std::vector<std::string> passthrough;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    bool missing = false;
    if (arg == "--quick") {
      options.quick = true;
    } else if (auto json = option_value(argc, argv, i, "--json", missing)) {
      options.json_path = *json;
    } else if (auto only = option_value(argc, argv, i, "--only", missing)) {
      auto parts = parse_parts(*only);
      if (!parts) return Parsed::kBad;
      options.parts = std::move(*parts);
    } else if (auto daemon = option_value(argc, argv, i, "--confvisord", missing)) {
      options.confvisord = *daemon;
    } else if (missing) {
      std::cerr << "confvisor-bench: " << arg << " needs a value\n" << kUsage;
      return Parsed::kBad;
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

// This binary, for the workers' command: an absolute path, whatever the working directory.
std::string self_path() {
  return std::filesystem::read_symlink("/proc/self/exe").string();
}

// Throws if the daemon the daemon-level parts need is not there.
std::string confvisord_path(const Options& options) {
  const std::string path =
      !options.confvisord.empty()
          ? options.confvisord
          : (std::filesystem::path(self_path()).parent_path() / "confvisord").string();
  if (::access(path.c_str(), X_OK) != 0) {
    throw std::runtime_error("no executable confvisord at " + path +
                             " (build the confvisord target, or pass --confvisord PATH)");
  }
  return std::filesystem::absolute(path).string();
}

std::vector<cb::SizeResults> empty_results() {
  std::vector<cb::SizeResults> results;
  for (const SizePlan& plan : kSizes) {
    cb::SizeResults r;
    r.label = cb::size_label(plan.bytes);
    r.bytes = plan.bytes;
    results.push_back(std::move(r));
  }
  return results;
}

void run_inprocess(const std::vector<cb::GeneratedConfig>& configs,
                   std::vector<cb::SizeResults>& results) {
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

void run_latency(const std::vector<cb::GeneratedConfig>& configs,
                 std::vector<cb::SizeResults>& results, bool quick) {
  std::cout << "\npublish -> visible latency (reader processes blocked in wait_for_change)\n";
  for (std::size_t i = 0; i < configs.size(); ++i) {
    for (std::size_t readers : kReaderCounts) {
      const cb::LatencyOptions latency{readers,
                                       quick ? kSizes[i].quick_publishes : kSizes[i].publishes};
      cb::LatencyResult l = cb::measure_publish_latency(configs[i], latency);
      std::cout << "  " << results[i].label << ", " << readers << " reader(s), " << l.publishes
                << " publishes: p50 " << std::fixed << std::setprecision(1) << l.p50_us
                << " us, p99 " << l.p99_us << " us, max " << l.max_us << " us" << std::defaultfloat
                << std::endl;
      results[i].latency.push_back(std::move(l));
    }
  }
}

void run_daemon(const std::string& confvisord, std::vector<cb::SizeResults>& results, bool quick) {
  std::cout << "\nconfvisord: SIGHUP -> visible, then idle (" << confvisord << ")\n";
  for (std::size_t i = 0; i < std::size(kSizes); ++i) {
    const cb::DaemonBenchOptions daemon{confvisord,
                                        quick ? kSizes[i].quick_reloads : kSizes[i].reloads,
                                        quick ? kQuickIdleWindow : kIdleWindow};
    cb::DaemonSizeFigures d = cb::measure_daemon(kSizes[i].bytes, daemon);
    std::cout << "  " << results[i].label << ", " << d.sighup.reloads << " reloads: p50 "
              << std::fixed << std::setprecision(1) << d.sighup.visible.p50 << " us, p99 "
              << d.sighup.visible.p99 << " us; idle " << d.idle.daemon.window_s
              << " s: " << d.idle.daemon.context_switches() << " context switches, "
              << d.idle.daemon.cpu_ticks << " CPU ticks" << std::defaultfloat << std::endl;
    results[i].daemon = d;
  }
}

cb::SupervisionFigures run_supervision(const std::string& confvisord, bool quick) {
  std::cout << "\nconfvisord: supervision (SIGKILL -> replacement, start " << kStartInstances
            << " instances, " << kIdleWorkers << " idle workers)" << std::endl;
  cb::SupervisionOptions o;
  o.confvisord = confvisord;
  o.bench_binary = self_path();
  o.kills = quick ? kQuickKills : kKills;
  o.start_runs = quick ? kQuickStartRuns : kStartRuns;
  o.start_instances = kStartInstances;
  o.idle_workers = kIdleWorkers;
  o.idle_window = quick ? kQuickIdleWindow : kIdleWindow;
  return cb::measure_supervision(o);
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
  info.parts = options.parts;
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
  // Before anything is measured: a missing daemon should not cost a whole in-process run.
  const bool with_daemon = options.runs(kDaemon) || options.runs(kSupervision);
  const std::string confvisord = with_daemon ? confvisord_path(options) : std::string();
  cb::install_signal_cleanup();

  cb::Results results{empty_results(), std::nullopt};
  if (options.runs(kInProcess) || options.runs(kLatency)) {
    std::vector<cb::GeneratedConfig> configs;
    for (std::size_t i = 0; i < std::size(kSizes); ++i) {
      configs.push_back(cb::generate_config(kSizes[i].bytes));
      results.sizes[i].services = configs.back().services;
      results.sizes[i].deep_pointer = configs.back().deep_pointer;
    }
    if (options.runs(kInProcess)) run_inprocess(configs, results.sizes);
    benchmark::Shutdown();
    // After Google Benchmark: its worker threads are joined by now, and the harness forks.
    if (options.runs(kLatency)) run_latency(configs, results.sizes, options.quick);
  } else {
    benchmark::Shutdown();
  }
  if (options.runs(kDaemon)) run_daemon(confvisord, results.sizes, options.quick);
  if (options.runs(kSupervision)) results.supervision = run_supervision(confvisord, options.quick);

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
  // The worker mode first, before anything else of the bench is set up: it should cost
  // what a small worker costs.
  if (argc == 2 && argv[1] == cb::kWorkerFlag) return cb::worker_main();
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "confvisor-bench: " << e.what() << "\n";
    return kExitFailure;
  }
}
