// The daemon's log: one line per event on stderr, greppable, with a level. Under systemd
// (stderr is the journal) each line carries its syslog priority as "<N>" so journald files
// it at the right level; elsewhere it starts with a UTC timestamp.
#pragma once

#include <string>
#include <string_view>

namespace confvisor {

enum class LogLevel { debug = 0, info = 1, warning = 2, error = 3 };

void set_log_level(LogLevel level);
// "debug", "info", "warning", "error"; throws Error naming the accepted values otherwise.
[[nodiscard]] LogLevel parse_log_level(std::string_view name);

void log(LogLevel level, std::string_view message);
inline void log_debug(std::string_view m) {
  log(LogLevel::debug, m);
}
inline void log_info(std::string_view m) {
  log(LogLevel::info, m);
}
inline void log_warning(std::string_view m) {
  log(LogLevel::warning, m);
}
inline void log_error(std::string_view m) {
  log(LogLevel::error, m);
}

}  // namespace confvisor
