// Sizes ("4MiB") and durations ("10s") as config files write them. Strict on purpose: a
// whole number and a unit, nothing else, so a typo is an error and not a surprise.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace confvisor {

// What a size or a duration may look like: the "expected ..." part of their errors.
inline constexpr std::string_view kSizeForms =
    R"(a size like "64KiB", "4MiB", "1GiB" or a whole number of bytes (units B, KiB, MiB, GiB, TiB, KB, MB, GB, TB))";
inline constexpr std::string_view kDurationForms =
    R"(a duration like "100ms", "10s", "1m" or "2h" (a whole number and one of the units ms, s, m, h))";

// Bytes in "512B", "64KiB", "4MiB", "1GiB", "1TiB" (binary), "4KB", "4kB", "4MB", "1GB",
// "1TB" (decimal) or "4096" (bytes). Throws Error "expected <kSizeForms>, got \"TEXT\"" on
// anything else (signs, fractions, spaces, unknown units) and an Error naming the text when
// it does not fit in 64 bits.
[[nodiscard]] std::uint64_t parse_size(std::string_view text);

// "100ms", "10s", "1m", "2h". Throws Error like parse_size, with kDurationForms.
[[nodiscard]] std::chrono::milliseconds parse_duration(std::string_view text);

// The shortest exact way to write `duration` in the form parse_duration reads: "30s",
// "1m", "1500ms", "0s".
[[nodiscard]] std::string format_duration(std::chrono::milliseconds duration);

// A size for people to read, not to parse back: "512 B", "12.3 KiB", "1.5 MiB".
[[nodiscard]] std::string human_size(std::size_t bytes);

}  // namespace confvisor
