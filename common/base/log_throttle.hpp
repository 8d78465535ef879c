// Log lines a peer can cause (refused connections, ignored reports), at most one a second of
// each kind, with how many were left out since: a hostile flood cannot fill the log.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>

namespace confvisor {

class LogThrottle {
 public:
  explicit LogThrottle(std::chrono::milliseconds interval = std::chrono::seconds(1))
      : interval_(interval) {}
  // Logs `line` as a warning unless a line of `kind` was logged less than the interval ago;
  // the next one logged says how many were not. `kind` is one of a few fixed words.
  void warning(const std::string& kind, const std::string& line);

 private:
  struct Kind {
    std::chrono::steady_clock::time_point last{};
    std::size_t unlogged = 0;
  };
  std::chrono::milliseconds interval_;
  std::map<std::string, Kind> kinds_;
};

}  // namespace confvisor
