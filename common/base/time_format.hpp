// Wall-clock times as operators read them in status output and JSON.
#pragma once

#include <chrono>
#include <string>

namespace confvisor {

// "2026-11-23T16:41:57.123Z": ISO 8601 in UTC with milliseconds, sortable as text.
[[nodiscard]] std::string format_utc(std::chrono::system_clock::time_point t);

}  // namespace confvisor
