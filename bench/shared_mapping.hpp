// A MAP_SHARED anonymous mapping: shared with forked children like a named one, and with
// nothing to remove afterwards. Holds the baselines' texts and the latency harness' report
// board.
#pragma once

#include <cstddef>

namespace confvisor::bench {

class SharedMapping {
 public:
  // Zero-filled. Throws std::runtime_error if it cannot be mapped.
  explicit SharedMapping(std::size_t size);
  ~SharedMapping();
  SharedMapping(const SharedMapping&) = delete;
  SharedMapping& operator=(const SharedMapping&) = delete;

  [[nodiscard]] void* address() const { return address_; }
  [[nodiscard]] std::size_t size() const { return size_; }

 private:
  void* address_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace confvisor::bench
