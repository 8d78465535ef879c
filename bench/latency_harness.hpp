// Publish -> visible latency across processes: the publisher (this process) publishes a
// config N times to forked reader processes, each blocked in Reader::wait_for_change() on
// the segment's futex.
//
// Latency of one (publish, reader) pair = CLOCK_MONOTONIC just before Publisher::publish()
// is called, to CLOCK_MONOTONIC in the reader just after its current() returned the new
// generation (wait_for_change returns right after that call). CLOCK_MONOTONIC is one clock
// for every process of the machine, so the two readings compare directly. It includes
// publish() up to its futex wake (the publisher parses and minifies the text, then copies it
// into the segment), the wake-up, and the reader's copy, checksum and parse of the new
// generation.
//
// Publishes are paced: the next one goes out only after every reader reported the previous
// one and is seen asleep again (state 'S' in /proc/PID/stat), so each sample is a wake from
// the futex, not a reader that was still running.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "bench/config_gen.hpp"

namespace confvisor::bench {

struct LatencyOptions {
  std::size_t readers = 1;
  std::size_t publishes = 100;
};

struct LatencyResult {
  std::size_t readers = 0;
  std::size_t publishes = 0;
  std::size_t samples = 0;  // publishes x readers
  double p50_us = 0, p99_us = 0, max_us = 0;
  // How long Publisher::publish() itself took (part of every latency above), and the CPU
  // time it used: the difference is time the publisher spent preempted by the readers it
  // woke.
  double publish_call_p50_us = 0, publish_call_p99_us = 0;
  double publish_call_cpu_p50_us = 0;
  // CPU time one reader process spends per change (mean over readers): wake-up, copy,
  // checksum, parse, report. With R readers on C CPUs, the last reader of a round cannot
  // see the change sooner than about R / C times this.
  double reader_cpu_per_change_us = 0;
  // Publishes that went out with every reader confirmed asleep (a reader not seen asleep
  // within 50 ms is published to anyway, and this count says so).
  std::size_t publishes_all_asleep = 0;
  // Anything the publisher reported (segment growth, recovery): expected to stay empty.
  std::vector<std::string> publisher_events;
};

// Runs one measurement on its own segment and reader processes; all of them are gone when
// it returns or throws. `config` is published with a new serial each time.
[[nodiscard]] LatencyResult measure_publish_latency(GeneratedConfig config,
                                                    const LatencyOptions& options);

}  // namespace confvisor::bench
