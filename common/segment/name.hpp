// Names of the shm objects behind segment NAME. The current segment is always
// /dev/shm/confvisor.NAME (a contract with operators); a move to a new segment goes through
// the two side names below and ends with an atomic rename over the current one.
#pragma once

#include <string>
#include <string_view>

namespace confvisor {

// Throws Error unless `name` is 1..200 characters of [A-Za-z0-9_-], or such a name followed
// by ".canary" (the canary segment of that one). No other dots, so one segment's side names
// can never be another segment's current name.
void validate_segment_name(std::string_view name);

// The segment that the canary instances of segment `name`'s daemon read: NAME.canary, the
// shm object /dev/shm/confvisor.NAME.canary.
inline constexpr std::string_view kCanarySuffix = ".canary";
[[nodiscard]] std::string canary_segment(std::string_view name);
[[nodiscard]] bool is_canary_segment(std::string_view name);
// The segment whose daemon owns `name`: NAME for NAME.canary, else `name` itself.
[[nodiscard]] std::string_view owning_segment(std::string_view name);

struct SegmentNames {
  explicit SegmentNames(std::string_view name);  // validates

  std::string name;      // NAME
  std::string shm;       // confvisor.NAME, the name shm_open and Boost take
  std::string path;      // /dev/shm/confvisor.NAME
  std::string prev_shm;  // confvisor.NAME.prev: the replaced segment until it is marked moved
  std::string prev_path;

  // A segment being built by process `pid`, before it is renamed into place.
  [[nodiscard]] std::string building_shm(long pid) const;
  [[nodiscard]] std::string building_prefix() const;  // confvisor.NAME.new.
};

inline constexpr std::string_view kShmDir = "/dev/shm/";

}  // namespace confvisor
