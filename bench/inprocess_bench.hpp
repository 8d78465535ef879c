// The in-process figures, measured by Google Benchmark: Reader::current() when nothing
// changed (1 and 2 threads on one shared Reader), a typed get by JSON pointer, and the
// baselines (copy + parse per read in their several forms) on the same text.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "bench/baselines.hpp"
#include "bench/cleanup.hpp"
#include "bench/config_gen.hpp"
#include "common/publish/publisher.hpp"
#include "confvisor/worker.hpp"

namespace confvisor::bench {

// Metric ids: the keys of InProcessFigures, of the JSON output and of the benchmark names
// ("<metric>/<size>").
inline constexpr const char* kCurrentUnchanged = "current_unchanged";
inline constexpr const char* kTypedGet = "typed_get";
inline constexpr const char* kSeedCopyParse = "seed_copy_parse";
inline constexpr const char* kFileRereadParse = "file_reread_parse";
inline constexpr const char* kSharableCopyParse = "sharable_lock_copy_parse";
inline constexpr const char* kSharableCopy = "sharable_lock_copy";

// One size's subjects: a published segment with a Reader on it, and the same text in each
// baseline's form. Lives while the benchmarks run; its segment and file go with it.
struct InProcessFixture {
  explicit InProcessFixture(const GeneratedConfig& config);

  std::string label;
  std::size_t bytes;
  std::string deep_pointer;
  std::int64_t deep_value;
  BenchSegment segment;
  Publisher publisher;
  Reader reader;
  SeedMapping seed;
  LockedMapping locked;
  TempFile file;
};

struct InProcessFigure {
  double real_ns = 0;           // Google Benchmark's real time per iteration
  double cpu_ns = 0;            // CPU time per iteration, summed over threads
  std::int64_t iterations = 0;  // over all repetitions
  int repetitions = 0;          // the figures are the median of these
  int threads = 1;
  // Wall time of one call as one thread sees it. Google Benchmark divides the threads'
  // average wall time by the iterations of *all* threads (a throughput figure), so with N
  // threads a call takes N times its real_ns.
  [[nodiscard]] double per_call_ns() const { return real_ns * threads; }
};

// Metric id (with "_1thread"/"_2threads" for the threaded one) -> figure.
using InProcessFigures = std::map<std::string, InProcessFigure>;

// Registers every benchmark of `fixture` (which must outlive run_inprocess).
void register_inprocess(InProcessFixture& fixture);

// Runs the registered benchmarks (honouring --benchmark_* flags given to Initialize) with
// Google Benchmark's console output, and returns the figures by size label. With
// repetitions, the median is kept.
[[nodiscard]] std::map<std::string, InProcessFigures> run_inprocess();

}  // namespace confvisor::bench
