// Percentiles of a set of samples, as every latency figure of the bench reports them.
#pragma once

#include <cstddef>
#include <vector>

namespace confvisor::bench {

struct Distribution {
  std::size_t samples = 0;
  double p50 = 0, p99 = 0, max = 0;  // in the samples' unit; 0 without samples
};

// Nearest-rank percentile (0 < q <= 1) of ascending `sorted` samples; 0 if there are none.
[[nodiscard]] double percentile(const std::vector<double>& sorted, double q);

[[nodiscard]] Distribution summarize(std::vector<double> samples);

}  // namespace confvisor::bench
