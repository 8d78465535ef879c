// What one bench run leaves in the filesystem (its segments and its temporary file) is
// removed on every way out: by destructors on a normal or failed run, and by a signal handler
// when the run is interrupted (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE), since then no
// destructor runs.
// Reader processes are not this file's business: they die with the bench (PDEATHSIG, see
// child_process.hpp).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "publisher.hpp"

namespace confvisor::bench {

// Installs the handler. Call once, before anything is registered and before any thread or
// child process exists.
void install_signal_cleanup();

// While registered, `path` is unlinked if a fatal signal interrupts the run.
class UnlinkOnSignal {
 public:
  UnlinkOnSignal() = default;
  explicit UnlinkOnSignal(const std::string& path);
  ~UnlinkOnSignal();
  UnlinkOnSignal(UnlinkOnSignal&& other) noexcept;
  UnlinkOnSignal& operator=(UnlinkOnSignal&& other) noexcept;

 private:
  int slot_ = -1;
};

// A segment name unique to this run ("bench-PID-TAG") whose objects are removed
// (Publisher::remove) when it goes out of scope, and unlinked on a fatal signal before that.
class BenchSegment {
 public:
  explicit BenchSegment(std::string_view tag);
  ~BenchSegment();
  BenchSegment(const BenchSegment&) = delete;
  BenchSegment& operator=(const BenchSegment&) = delete;

  [[nodiscard]] const std::string& name() const { return name_; }

  // Options for this segment's publisher: the daemon's default history, and an initial size
  // with room for every kept generation of `config_bytes`, so no publish in a measurement
  // pays for growing the segment (a move that readers must follow).
  [[nodiscard]] PublisherOptions publisher_options(std::size_t config_bytes) const;

 private:
  std::string name_;
  // The current name, the name of a replaced segment and this process' building name:
  // every object a Publisher in this process can leave behind (publisher.cc).
  UnlinkOnSignal current_, prev_, building_;
};

}  // namespace confvisor::bench
