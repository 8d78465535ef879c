#include "common/json/units.hpp"

#include <array>
#include <charconv>
#include <cstdio>
#include <limits>
#include <optional>

#include "common/json/describe.hpp"
#include "confvisor/error.hpp"

namespace confvisor {
namespace {

struct Unit {
  std::string_view suffix;
  std::uint64_t factor;
};

constexpr std::array kSizeUnits{
    Unit{"", 1},
    Unit{"B", 1},
    Unit{"KiB", 1ull << 10},
    Unit{"MiB", 1ull << 20},
    Unit{"GiB", 1ull << 30},
    Unit{"TiB", 1ull << 40},
    Unit{"KB", 1'000},
    Unit{"kB", 1'000},
    Unit{"MB", 1'000'000},
    Unit{"GB", 1'000'000'000},
    Unit{"TB", 1'000'000'000'000},
};

// Durations are stored in milliseconds, so the factors are milliseconds per unit. No bare
// number: "10" could mean seconds to one reader and milliseconds to the next.
constexpr std::array kDurationUnits{
    Unit{"ms", 1},
    Unit{"s", 1000},
    Unit{"m", 60'000},
    Unit{"h", 3'600'000},
};

// A whole number followed by one of `units`, scaled by the unit's factor. nullopt if the
// text has another shape; throws Error if it has the shape but the result exceeds `limit`.
template <std::size_t N>
std::optional<std::uint64_t> scaled_count(std::string_view text, const std::array<Unit, N>& units,
                                          std::uint64_t limit) {
  const std::string_view number = text.substr(0, text.find_first_not_of("0123456789"));
  const std::string_view suffix = text.substr(number.size());
  if (number.empty()) return std::nullopt;
  const Unit* unit = nullptr;
  for (const Unit& candidate : units) {
    if (candidate.suffix == suffix) unit = &candidate;
  }
  if (unit == nullptr) return std::nullopt;

  std::uint64_t count = 0;
  const auto parsed = std::from_chars(number.data(), number.data() + number.size(), count);
  if (parsed.ec != std::errc{} || count > limit / unit->factor) {
    throw Error(quote_text(text) + " is too large");
  }
  return count * unit->factor;
}

}  // namespace

std::uint64_t parse_size(std::string_view text) {
  const auto bytes = scaled_count(text, kSizeUnits, std::numeric_limits<std::uint64_t>::max());
  if (!bytes) throw Error("expected " + std::string(kSizeForms) + ", got " + quote_text(text));
  return *bytes;
}

std::chrono::milliseconds parse_duration(std::string_view text) {
  const auto limit = static_cast<std::uint64_t>(std::chrono::milliseconds::max().count());
  const auto millis = scaled_count(text, kDurationUnits, limit);
  if (!millis) {
    throw Error("expected " + std::string(kDurationForms) + ", got " + quote_text(text));
  }
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(*millis));
}

std::string format_duration(std::chrono::milliseconds duration) {
  const auto millis = duration.count();
  if (millis == 0) return "0s";
  // Largest unit first: the first that divides exactly gives the shortest text.
  for (auto it = kDurationUnits.rbegin(); it != kDurationUnits.rend(); ++it) {
    const auto factor = static_cast<std::chrono::milliseconds::rep>(it->factor);
    if (millis % factor == 0) return std::to_string(millis / factor) + std::string(it->suffix);
  }
  return std::to_string(millis) + "ms";
}

std::string human_size(std::size_t bytes) {
  char buf[32];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof buf, "%zu B", bytes);
  } else if (bytes < 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024 * 1024));
  }
  return buf;
}

}  // namespace confvisor
