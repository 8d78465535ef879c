// How the daemon's reloads and rollbacks have ended since it started, for /metrics: per final
// outcome (ok, unchanged, failed), how many and when the last one ended. A change that waits
// for another process's writer lock is counted once, when it ends.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "daemon/core/change.hpp"
#include "daemon/http/metrics.hpp"

namespace confvisor::daemon {

class ReloadCounts {
 public:
  // Counts `change` if it has ended (a waiting one has not).
  void record(const Change& change);
  // One entry per final outcome, in the order ok, unchanged, failed; every one is there,
  // counted 0 until it happens.
  [[nodiscard]] std::vector<http::ReloadCount> counts() const;

 private:
  static constexpr std::array kFinal{Outcome::ok, Outcome::unchanged, Outcome::failed};
  struct Tally {
    std::uint64_t count = 0;
    std::optional<std::chrono::system_clock::time_point> last;
  };
  std::array<Tally, kFinal.size()> tallies_{};
};

}  // namespace confvisor::daemon
