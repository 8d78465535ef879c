#include "daemon/core/live_generation.hpp"

#include "common/segment/view.hpp"

namespace confvisor::daemon {

std::optional<LiveGeneration> read_live_generation(const std::string& segment) {
  const SegmentView view{SegmentNames(segment)};
  const std::optional<Record> record = view.read_current();
  if (!record) return std::nullopt;
  LiveGeneration live;
  live.generation = record->generation;
  live.text = std::string(record->text());
  live.source = std::string(record->source());
  live.published_at = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(record->published_at_ns)));
  live.publisher_pid = static_cast<pid_t>(record->publisher_pid);
  live.writer_lock_holder =
      static_cast<pid_t>(view.header().writer_pid.load(std::memory_order_relaxed));
  return live;
}

}  // namespace confvisor::daemon
