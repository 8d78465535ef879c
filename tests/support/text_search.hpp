// Searching what the real programs wrote: a daemon's log, a command's output.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace confvisor::test {

[[nodiscard]] bool contains(const std::string& haystack, const std::string& needle);
// The lines of `text`, without their newlines.
[[nodiscard]] std::vector<std::string> lines_of(const std::string& text);
// The lines of `log` that contain `needle`, in order.
[[nodiscard]] std::vector<std::string> log_lines(const std::string& log, const std::string& needle);
// How many lines of `log` contain `needle`.
[[nodiscard]] std::size_t count_lines(const std::string& log, const std::string& needle);
// The last `n` bytes of `text`, after "...\n" when cut: a long log in a failure message.
[[nodiscard]] std::string tail(const std::string& text, std::size_t n = 6000);
// Milliseconds since the epoch of a log line's timestamp ("2026-11-23T17:43:34.434Z info:
// ..."). Throws Error for a line that does not start with one.
[[nodiscard]] long long stamp_ms(const std::string& line);

}  // namespace confvisor::test
