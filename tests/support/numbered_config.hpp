// Configs that carry their own sequence number and a payload derived from it, so a reader can
// tell a whole generation from a torn or mixed one by content alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "confvisor/worker.hpp"

namespace confvisor::test {

struct Numbered {
  std::size_t base = 50;  // payload length is base + (k * 7919) % spread
  std::size_t spread = 3000;

  [[nodiscard]] std::string payload(std::int64_t k) const;
  // {"k": K, "payload": "...", "nested": {"k_again": K}} plus `extra` members (",..." JSON).
  [[nodiscard]] std::string config(std::int64_t k, const std::string& extra = "") const;
  // True if `s` is exactly what config(k) published, for its own k.
  [[nodiscard]] bool whole(const Snapshot& s, const std::string& root = "") const;
};

}  // namespace confvisor::test
