// The publishing side of a segment (the daemon, and tools that run with its rights).
#pragma once

#include <sys/types.h>

#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "confvisor/error.hpp"

namespace confvisor {

struct PublisherOptions {
  std::string segment;                        // NAME: the object is /dev/shm/confvisor.NAME
  mode_t mode = 0640;                         // who may map it read-only
  std::optional<gid_t> group = std::nullopt;  // group owner, for `mode`'s group bits
  std::size_t initial_size = 4u << 20;        // grows by itself when a config outgrows it
  // Generations kept, including the current one (1..64). Unset: keep the segment's own
  // setting (8 for a new segment), so a tool publishing beside the daemon never trims the
  // daemon's window.
  std::optional<unsigned> history = std::nullopt;
  // One line per notable event the caller should log (recovery, growth).
  std::function<void(const std::string&)> on_event = {};
  // Whether a call that needs the segment's writer lock waits while another process holds
  // it. A publisher on an event loop sets false: such a call then throws WriterLockBusy at
  // once, and the caller retries later (nothing of the call has happened).
  bool wait_for_lock = true;
};

// The writer lock of a segment is held by another process (or the segment is being recovered
// by one), and the publisher does not wait for it. The message names the segment and the
// holder ("the writer lock of /dev/shm/confvisor.app is held by pid 4242 (confvisorctl,
// stopped)").
class WriterLockBusy : public Error {
 public:
  WriterLockBusy(const std::string& message, pid_t holder) : Error(message), holder(holder) {}
  pid_t holder;  // 0 if not known
};

struct GenerationInfo {
  std::uint64_t generation = 0;
  std::chrono::system_clock::time_point published_at;
  pid_t publisher_pid = 0;
  std::string source;
  std::size_t size = 0;  // bytes of JSON text
};

struct Generation {
  GenerationInfo info;
  std::string text;  // minified JSON
};

class Publisher {
 public:
  // Opens /dev/shm/confvisor.NAME, or creates it. A segment left by a publisher that died
  // mid-publish is recovered (rebuilt from its verified generations; readers follow).
  // Throws Error. With wait_for_lock false and the writer lock busy, what needs the lock is
  // left to the first later call that gets it.
  explicit Publisher(PublisherOptions options);
  ~Publisher();
  Publisher(Publisher&&) noexcept;
  Publisher& operator=(Publisher&&) noexcept;

  // Publishes `json` as a new generation and returns its number. The text must be one valid
  // JSON document; it is stored minified. On any failure throws Error and the current
  // generation stays as it was.
  std::uint64_t publish(std::string_view json, std::string_view source);
  std::uint64_t publish_value(const boost::json::value& json, std::string_view source);
  // As publish_value, for a caller that already holds boost::json::serialize(json): `text` is
  // stored as it is (the daemon has it to compare with the live text; a 1 MiB document takes
  // milliseconds to serialize). The new generation's number is at least `at_least`: a daemon
  // that publishes one document sequence into two segments (the canary's and the main one)
  // keeps one number per document across both.
  std::uint64_t publish_serialized(std::string_view text, std::string_view source,
                                   std::uint64_t at_least = 0);

  // 0 if nothing was ever published.
  [[nodiscard]] std::uint64_t current_generation();
  // Kept generations, oldest first; the last is the current one.
  [[nodiscard]] std::vector<GenerationInfo> history();
  // A kept generation; throws Error if it is not kept (any more).
  [[nodiscard]] Generation read(std::uint64_t generation);
  // Changes how many generations are kept (1..64); takes effect at the next publish.
  void set_history(unsigned history);
  // Size of the segment object in bytes (after any growth).
  [[nodiscard]] std::size_t segment_size();

  // Removes the segment's objects. Readers that have it mapped keep their last generation.
  // Returns false if there was nothing to remove.
  static bool remove(std::string_view segment);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace confvisor
