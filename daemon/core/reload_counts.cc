#include "daemon/core/reload_counts.hpp"

namespace confvisor::daemon {

void ReloadCounts::record(const Change& change) {
  for (std::size_t i = 0; i < kFinal.size(); ++i) {
    if (kFinal[i] != change.result) continue;
    ++tallies_[i].count;
    tallies_[i].last = change.at;
  }
}

std::vector<http::ReloadCount> ReloadCounts::counts() const {
  std::vector<http::ReloadCount> out;
  for (std::size_t i = 0; i < kFinal.size(); ++i) {
    out.push_back(http::ReloadCount{
        .result = outcome_name(kFinal[i]), .count = tallies_[i].count, .last = tallies_[i].last});
  }
  return out;
}

}  // namespace confvisor::daemon
