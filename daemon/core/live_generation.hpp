// What readers of a segment really see now, read as a reader reads it: without the writer
// lock, so it never waits for a publisher, and whoever published it (this daemon, or a
// `confvisorctl publish --force` beside it).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace confvisor::daemon {

struct LiveGeneration {
  std::uint64_t generation = 0;
  std::string text;  // minified JSON
  std::string source;
  std::chrono::system_clock::time_point published_at;
  pid_t publisher_pid = 0;
  // Who holds the segment's writer lock now, 0 if nobody (see SegmentHeader::writer_pid).
  pid_t writer_lock_holder = 0;
};

// The active generation of /dev/shm/confvisor.SEGMENT; nullopt if nothing was published.
// Throws Error if the segment cannot be read (missing, corrupt).
[[nodiscard]] std::optional<LiveGeneration> read_live_generation(const std::string& segment);

}  // namespace confvisor::daemon
