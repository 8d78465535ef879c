#include "bench/inprocess_bench.hpp"

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <functional>
#include <stdexcept>
#include <vector>

#include "common/base/errors.hpp"

namespace confvisor::bench {

namespace {

// Google Benchmark's console output, plus a copy of every figure for the summary and the
// JSON file. Benchmark names are "<metric>/<size label>" (see register_inprocess).
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  CollectingReporter()
      : benchmark::ConsoleReporter(::isatty(STDOUT_FILENO) ? OO_ColorTabular : OO_Tabular) {}

  // With repetitions, only the aggregates (mean, median, stddev, cv) are shown, but every
  // repetition is collected: the figure is the median, its iteration count their sum.
  void ReportRuns(const std::vector<Run>& runs) override {
    std::vector<Run> shown;
    for (const Run& run : runs) {
      collect(run);
      if (run.run_type == Run::RT_Aggregate || run.repetitions <= 1) shown.push_back(run);
    }
    if (!shown.empty()) benchmark::ConsoleReporter::ReportRuns(shown);
  }

  std::map<std::string, InProcessFigures> figures;
  Errors errors;

 private:
  void collect(const Run& run) {
    if (run.error_occurred) {
      errors.add(run.benchmark_name() + ": " + run.error_message);
      return;
    }
    const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
    if (run.run_type == Run::RT_Aggregate && !median) return;
    const std::string& name = run.run_name.function_name;
    const auto slash = name.find('/');
    if (slash == std::string::npos) return;
    std::string metric = name.substr(0, slash);
    if (!run.run_name.threads.empty()) {
      metric += '_';
      metric += std::to_string(run.threads);
      metric += run.threads == 1 ? "thread" : "threads";
    }
    InProcessFigure& f = figures[name.substr(slash + 1)][metric];
    // Repetitions come first, then the aggregates: the median, once there, wins.
    const double to_ns = 1e9 / benchmark::GetTimeUnitMultiplier(run.time_unit);
    f.real_ns = run.GetAdjustedRealTime() * to_ns;
    f.cpu_ns = run.GetAdjustedCPUTime() * to_ns;
    f.threads = static_cast<int>(run.threads);
    if (!median) {
      f.iterations += run.iterations;
      ++f.repetitions;
    }
  }
};

benchmark::internal::Benchmark* add(const char* metric, const InProcessFixture& fixture,
                                    std::function<void(benchmark::State&)> body) {
  const std::string name = std::string(metric) + "/" + fixture.label;
  return benchmark::RegisterBenchmark(name.c_str(), std::move(body));
}

// The baselines all move the whole text per read: report it as bytes/s too.
void count_bytes(benchmark::State& state, std::size_t bytes) {
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes));
}

// A Reader opens only a segment that exists, so the fixture publishes before it opens one.
Reader publish_and_open(Publisher& publisher, std::string_view text, const std::string& segment) {
  publisher.publish(text, "confvisor-bench");
  return Reader(segment);
}

}  // namespace

InProcessFixture::InProcessFixture(const GeneratedConfig& config)
    : label(size_label(config.text.size())),
      bytes(config.text.size()),
      deep_pointer(config.deep_pointer),
      deep_value(config.deep_value),
      segment("inproc-" + label),
      publisher(segment.publisher_options(bytes)),
      reader(publish_and_open(publisher, config.text, segment.name())),
      seed(config.text),
      locked(config.text),
      file(config.text) {
  if (reader.current().text() != config.text) {
    throw std::runtime_error("segment " + segment.name() + " does not hold the text published");
  }
}

void register_inprocess(InProcessFixture& fixture) {
  InProcessFixture* f = &fixture;

  // Nothing changed since this thread's last call: the path every worker takes on every
  // config access. Both threads share one Reader, as a worker's threads would.
  add(kCurrentUnchanged, fixture,
      [f](benchmark::State& state) {
        f->reader.current();  // fill this thread's cache slot outside the timed loop
        for (auto _ : state) {
          const Snapshot& snapshot = f->reader.current();
          benchmark::DoNotOptimize(&snapshot);
        }
      })
      ->Unit(benchmark::kNanosecond)
      ->Threads(1)
      ->Threads(2);

  add(kTypedGet, fixture, [f](benchmark::State& state) {
    if (f->reader.current().get<std::int64_t>(f->deep_pointer) != f->deep_value) {
      state.SkipWithError(("wrong value at " + f->deep_pointer).c_str());
      return;
    }
    for (auto _ : state) {
      const std::int64_t value = f->reader.current().get<std::int64_t>(f->deep_pointer);
      benchmark::DoNotOptimize(value);
    }
  })->Unit(benchmark::kNanosecond);

  // The parsed value is destroyed every iteration as well: a worker re-parsing per read
  // pays for that too.
  add(kSeedCopyParse, fixture, [f](benchmark::State& state) {
    for (auto _ : state) {
      boost::json::value v = parse_config(f->seed.copy());
      benchmark::DoNotOptimize(v);
    }
    count_bytes(state, f->bytes);
  })->Unit(benchmark::kMicrosecond);

  add(kFileRereadParse, fixture, [f](benchmark::State& state) {
    for (auto _ : state) {
      boost::json::value v = parse_config(f->file.read());
      benchmark::DoNotOptimize(v);
    }
    count_bytes(state, f->bytes);
  })->Unit(benchmark::kMicrosecond);

  add(kSharableCopyParse, fixture, [f](benchmark::State& state) {
    for (auto _ : state) {
      boost::json::value v = parse_config(f->locked.copy());
      benchmark::DoNotOptimize(v);
    }
    count_bytes(state, f->bytes);
  })->Unit(benchmark::kMicrosecond);

  add(kSharableCopy, fixture, [f](benchmark::State& state) {
    for (auto _ : state) {
      std::string text = f->locked.copy();
      benchmark::DoNotOptimize(text.data());
      benchmark::ClobberMemory();
    }
    count_bytes(state, f->bytes);
  })->Unit(benchmark::kMicrosecond);
}

std::map<std::string, InProcessFigures> run_inprocess() {
  CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  if (!reporter.errors.empty()) {
    std::string message = "benchmarks failed:";
    for (const auto& e : reporter.errors) message += "\n  " + e;
    throw std::runtime_error(message);
  }
  return std::move(reporter.figures);
}

}  // namespace confvisor::bench
