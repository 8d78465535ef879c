#include "common/segment/name.hpp"

#include <algorithm>

#include "common/base/error.hpp"

namespace confvisor {

void validate_segment_name(std::string_view name) {
  const std::string_view base = owning_segment(name);
  auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  };
  if (base.empty() || base.size() > 200 || !std::all_of(base.begin(), base.end(), ok_char)) {
    throw Error("invalid segment name \"" + std::string(name) +
                "\": expected 1 to 200 characters of A-Z a-z 0-9 _ -");
  }
}

std::string canary_segment(std::string_view name) {
  return std::string(name) + std::string(kCanarySuffix);
}

bool is_canary_segment(std::string_view name) {
  return name.ends_with(kCanarySuffix);
}

std::string_view owning_segment(std::string_view name) {
  return is_canary_segment(name) ? name.substr(0, name.size() - kCanarySuffix.size()) : name;
}

SegmentNames::SegmentNames(std::string_view n) : name(n) {
  validate_segment_name(n);
  shm = "confvisor." + name;
  path = std::string(kShmDir) + shm;
  prev_shm = shm + ".prev";
  prev_path = std::string(kShmDir) + prev_shm;
}

std::string SegmentNames::building_prefix() const {
  return shm + ".new.";
}

std::string SegmentNames::building_shm(long pid) const {
  return building_prefix() + std::to_string(pid);
}

}  // namespace confvisor
