#include "bench/distribution.hpp"

#include <algorithm>
#include <cmath>

namespace confvisor::bench {

double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

Distribution summarize(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  Distribution d;
  d.samples = samples.size();
  d.p50 = percentile(samples, 0.50);
  d.p99 = percentile(samples, 0.99);
  d.max = samples.empty() ? 0 : samples.back();
  return d;
}

}  // namespace confvisor::bench
