#include "bench/latency_harness.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <new>
#include <stdexcept>
#include <thread>

#include "bench/cleanup.hpp"
#include "bench/clock.hpp"
#include "bench/distribution.hpp"
#include "bench/shared_mapping.hpp"
#include "common/publish/publisher.hpp"
#include "common/segment/futex.hpp"
#include "confvisor/worker.hpp"
#include "tests/support/child.hpp"
#include "tests/support/proc_scan.hpp"

namespace confvisor::bench {

namespace {

using namespace std::chrono_literals;
using test::Child;
using test::describe_wait_status;
using test::exited_cleanly;

// Where reader processes report, in a MAP_SHARED mapping made before the fork. Each reader
// owns one line: it stores its time, then the generation (release), then counts itself in
// `reported`; the reader that completes a round wakes the publisher. So the publisher
// sleeps through a round and is woken once, instead of once per reader: it does not
// compete for the CPUs with the readers it is measuring.
struct alignas(64) ReaderLine {
  std::atomic<std::uint64_t> generation{0};
  std::atomic<std::int64_t> seen_ns{0};  // CLOCK_MONOTONIC
  // The reader's CPU time over all its changes, stored once when it is done.
  std::atomic<std::int64_t> cpu_ns{0};
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free &&
              std::atomic<std::int64_t>::is_always_lock_free);

class ReportBoard {
 public:
  explicit ReportBoard(std::size_t readers)
      : readers_(readers), memory_(sizeof(ReaderLine) * (readers + 1)) {
    // The counter has the first line to itself, so reports never share its cache line.
    char* base = static_cast<char*>(memory_.address());
    reported_ = new (base) std::atomic<std::uint32_t>{0};
    lines_ = reinterpret_cast<ReaderLine*>(base + sizeof(ReaderLine));
    for (std::size_t i = 0; i < readers; ++i) new (lines_ + i) ReaderLine{};
  }

  // Reports so far, over all rounds: never reset, so no round is confused with the one
  // before. A futex word: shared futex operations work on a MAP_SHARED anonymous mapping.
  [[nodiscard]] const std::atomic<std::uint32_t>& reported() const { return *reported_; }
  [[nodiscard]] const ReaderLine& line(std::size_t i) const { return lines_[i]; }

  [[nodiscard]] ReaderLine& line(std::size_t i) { return lines_[i]; }

  // Called by reader `index`; the one that completes a round wakes the publisher.
  void report(std::size_t index, std::uint64_t generation, std::int64_t seen_ns) {
    ReaderLine& line = lines_[index];
    line.seen_ns.store(seen_ns, std::memory_order_relaxed);
    line.generation.store(generation, std::memory_order_release);
    const std::uint32_t now = reported_->fetch_add(1, std::memory_order_acq_rel) + 1;
    if (now % readers_ == 0) futex_wake_all(reported_);
  }

 private:
  std::size_t readers_;
  SharedMapping memory_;
  std::atomic<std::uint32_t>* reported_;
  ReaderLine* lines_;
};

// Generous bounds that only end a run that is stuck (a reader or the publisher died).
constexpr auto kReaderIdleLimit = 60s;
constexpr auto kReportTimeout = 60s;
constexpr auto kExitTimeout = 10s;
constexpr auto kAsleepTimeout = 50ms;
constexpr const char* kSource = "confvisor-bench";

// The body of a reader process: report the generation it starts with, then each new one
// the moment wait_for_change() has it.
int reader_main(const std::string& segment, ReportBoard& board, std::size_t index,
                std::size_t publishes) {
  Reader reader(segment);
  board.report(index, reader.current().generation(), monotonic_ns());
  // From here on, this process only handles changes: its CPU time per change is what one
  // publish costs each reader (wake-up, copy, checksum, parse, report).
  const std::int64_t cpu_start = thread_cpu_ns();
  for (std::size_t k = 0; k < publishes; ++k) {
    if (!reader.wait_for_change(kReaderIdleLimit)) return 3;
    const std::int64_t seen = monotonic_ns();
    board.report(index, reader.current().generation(), seen);
  }
  board.line(index).cpu_ns.store(thread_cpu_ns() - cpu_start, std::memory_order_release);
  return 0;
}

// Sleeps until `target` reports are in. Throws if a reader process ended early or nothing
// came for kReportTimeout. Wakes every 100 ms only to notice a dead reader quickly.
void wait_for_reports(const ReportBoard& board, std::uint32_t target,
                      std::vector<Child>& children) {
  const auto deadline = std::chrono::steady_clock::now() + kReportTimeout;
  for (;;) {
    const std::uint32_t now = board.reported().load(std::memory_order_acquire);
    if (now >= target) return;
    // A reader that exited cleanly has made all its reports; any other end is a failure.
    for (Child& child : children) {
      if (auto status = child.try_reap(); status && !exited_cleanly(*status)) {
        throw std::runtime_error("reader process " + std::to_string(child.pid()) + " " +
                                 describe_wait_status(*status) + " during the measurement");
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("readers reported " + std::to_string(now) + " times of " +
                               std::to_string(target) + " expected after waiting 60 s");
    }
    futex_wait(&board.reported(), now, 100ms);
  }
}

// True once every child is asleep (in wait_for_change's futex wait: nothing else in a
// reader blocks), false if one is not within kAsleepTimeout.
bool wait_all_asleep(const std::vector<Child>& children) {
  const auto deadline = std::chrono::steady_clock::now() + kAsleepTimeout;
  for (;;) {
    if (std::all_of(children.begin(), children.end(),
                    [](const Child& c) { return test::process_state(c.pid()) == 'S'; })) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20us);
  }
}

}  // namespace

LatencyResult measure_publish_latency(GeneratedConfig config, const LatencyOptions& options) {
  LatencyResult result;
  result.readers = options.readers;
  result.publishes = options.publishes;

  BenchSegment segment("lat-" + size_label(config.text.size()) + "-" +
                       std::to_string(options.readers) + "r");
  // Events while setting up (the segment's creation) are expected; any later one (growth,
  // recovery) would be part of the figures and is reported with them.
  bool measuring = false;
  PublisherOptions publisher_options = segment.publisher_options(config.text.size());
  publisher_options.on_event = [&result, &measuring](const std::string& line) {
    if (measuring) result.publisher_events.push_back(line);
  };
  Publisher publisher(std::move(publisher_options));
  set_serial(config, 0);
  const std::uint64_t base = publisher.publish(config.text, kSource);
  measuring = true;

  ReportBoard board(options.readers);
  const auto readers = static_cast<std::uint32_t>(options.readers);

  std::vector<Child> children;
  children.reserve(options.readers);
  for (std::size_t i = 0; i < options.readers; ++i) {
    children.emplace_back(
        [&, i] { return reader_main(segment.name(), board, i, options.publishes); },
        test::ChildOptions{.dies_with_parent = true});
  }

  wait_for_reports(board, readers, children);
  for (std::size_t i = 0; i < options.readers; ++i) {
    const std::uint64_t g = board.line(i).generation.load(std::memory_order_acquire);
    if (g != base) {
      throw std::runtime_error("reader " + std::to_string(i) + " started at generation " +
                               std::to_string(g) + ", expected " + std::to_string(base));
    }
  }

  std::vector<double> latencies_us;
  std::vector<double> publish_us;
  std::vector<double> publish_cpu_us;
  latencies_us.reserve(options.publishes * options.readers);
  publish_us.reserve(options.publishes);
  for (std::size_t k = 1; k <= options.publishes; ++k) {
    if (wait_all_asleep(children)) ++result.publishes_all_asleep;
    set_serial(config, k);
    // publish()'s own CPU time, without the time it spends preempted by the readers it woke.
    const std::int64_t cpu_before = thread_cpu_ns();
    const std::int64_t before = monotonic_ns();
    const std::uint64_t generation = publisher.publish(config.text, kSource);
    const std::int64_t returned = monotonic_ns();
    publish_us.push_back(static_cast<double>(returned - before) / 1e3);
    publish_cpu_us.push_back(static_cast<double>(thread_cpu_ns() - cpu_before) / 1e3);
    wait_for_reports(board, static_cast<std::uint32_t>(k + 1) * readers, children);
    for (std::size_t i = 0; i < options.readers; ++i) {
      const ReaderLine& line = board.line(i);
      const std::uint64_t g = line.generation.load(std::memory_order_acquire);
      if (g != generation) {
        throw std::runtime_error("reader " + std::to_string(i) + " reported generation " +
                                 std::to_string(g) + " while generation " +
                                 std::to_string(generation) + " was expected");
      }
      const std::int64_t seen = line.seen_ns.load(std::memory_order_relaxed);
      latencies_us.push_back(static_cast<double>(seen - before) / 1e3);
    }
  }

  for (Child& child : children) {
    const int status = child.wait_for(kExitTimeout);
    if (!exited_cleanly(status)) {
      throw std::runtime_error("reader process " + std::to_string(child.pid()) + " " +
                               describe_wait_status(status));
    }
  }

  std::sort(latencies_us.begin(), latencies_us.end());
  // Each reader stored its CPU time before exiting cleanly (checked above).
  double reader_cpu_us = 0;
  for (std::size_t i = 0; i < options.readers; ++i) {
    reader_cpu_us +=
        static_cast<double>(board.line(i).cpu_ns.load(std::memory_order_acquire)) / 1e3;
  }
  result.reader_cpu_per_change_us =
      reader_cpu_us /
      static_cast<double>(options.readers * std::max<std::size_t>(options.publishes, 1));

  std::sort(publish_us.begin(), publish_us.end());
  std::sort(publish_cpu_us.begin(), publish_cpu_us.end());
  result.samples = latencies_us.size();
  result.p50_us = percentile(latencies_us, 0.50);
  result.p99_us = percentile(latencies_us, 0.99);
  result.max_us = latencies_us.empty() ? 0 : latencies_us.back();
  result.publish_call_p50_us = percentile(publish_us, 0.50);
  result.publish_call_p99_us = percentile(publish_us, 0.99);
  result.publish_call_cpu_p50_us = percentile(publish_cpu_us, 0.50);
  return result;
}

}  // namespace confvisor::bench
