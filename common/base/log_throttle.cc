#include "common/base/log_throttle.hpp"

#include "common/base/log.hpp"

namespace confvisor {

void LogThrottle::warning(const std::string& kind, const std::string& line) {
  const auto now = std::chrono::steady_clock::now();
  Kind& k = kinds_[kind];
  if (k.last != std::chrono::steady_clock::time_point{} && now - k.last < interval_) {
    ++k.unlogged;
    return;
  }
  std::string suffix;
  if (k.unlogged > 0) {
    suffix = " (and " + std::to_string(k.unlogged) + " more such line(s) not logged)";
  }
  log_warning(line + suffix);
  k.last = now;
  k.unlogged = 0;
}

}  // namespace confvisor
