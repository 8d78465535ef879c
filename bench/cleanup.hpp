// What one bench run leaves in the filesystem (its segments, temporary files and
// directories, sockets) is removed on every way out: by destructors on a normal or failed
// run, and by a signal handler when the run is interrupted (SIGINT, SIGTERM, SIGHUP, SIGQUIT,
// SIGPIPE), since then no destructor runs.
// Reader processes are not this file's business: they die with the bench (PDEATHSIG, see
// tests/support/child.hpp). A confvisord the bench runs is: it would die with the bench too, but
// only after the handler had unlinked the files it still uses, so the handler kills and
// reaps it first (KillOnSignal); its workers die with it (the daemon sets their PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "common/publish/publisher.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_support.hpp"

namespace confvisor::bench {

// Installs the handler. Call once, before anything is registered and before any thread or
// child process exists.
void install_signal_cleanup();

enum class PathKind { kFile, kDirectory };

// While registered, `path` is unlinked if a fatal signal interrupts the run; a directory is
// emptied and removed, after every file.
class UnlinkOnSignal {
 public:
  UnlinkOnSignal() = default;
  explicit UnlinkOnSignal(const std::string& path, PathKind kind = PathKind::kFile);
  ~UnlinkOnSignal();
  UnlinkOnSignal(UnlinkOnSignal&& other) noexcept;
  UnlinkOnSignal& operator=(UnlinkOnSignal&& other) noexcept;

 private:
  int slot_ = -1;
};

// While registered, process `pid` (a child of the bench) is SIGKILLed and reaped if a fatal
// signal interrupts the run, before any path is unlinked.
class KillOnSignal {
 public:
  KillOnSignal() = default;
  explicit KillOnSignal(pid_t pid);
  ~KillOnSignal();
  KillOnSignal(KillOnSignal&& other) noexcept;
  KillOnSignal& operator=(KillOnSignal&& other) noexcept;

 private:
  int slot_ = -1;
};

// A run's private directory (test::TempDir), "/tmp/confvisor-bench-PID-TAG-XXXXXX", removed
// with its contents by the destructor and on a fatal signal.
class BenchDir : public test::TempDir {
 public:
  explicit BenchDir(std::string_view tag);

 private:
  UnlinkOnSignal cleanup_;
};

// A segment name unique to this run ("bench-TAG-PID-N") whose objects are removed
// (test::SegmentGuard) when it goes out of scope, and unlinked on a fatal signal before that.
class BenchSegment {
 public:
  explicit BenchSegment(std::string_view tag);

  [[nodiscard]] const std::string& name() const { return guard_.name(); }

  // Options for this segment's publisher: the daemon's default history, and an initial size
  // with room for every kept generation of `config_bytes`, so no publish in a measurement
  // pays for growing the segment (a move that readers must follow).
  [[nodiscard]] PublisherOptions publisher_options(std::size_t config_bytes) const;

  // The objects another process publishing this segment (a confvisord) can leave behind:
  // its building name. The owner lock file is covered for every segment.
  void add_publisher(pid_t pid);

 private:
  // common/publish/owner_lock.cc: the lock a confvisord holds while it publishes the segment.
  [[nodiscard]] std::string lock_path() const;

  test::SegmentGuard guard_;  // first: the last to go
  // The current name, the name of a replaced segment, this process' building name and the
  // daemon's owner lock: every object a Publisher or a confvisord can leave behind
  // (common/publish/publisher.cc, common/publish/owner_lock.cc).
  UnlinkOnSignal current_, prev_, building_, lock_;
  UnlinkOnSignal other_building_;  // add_publisher
};

}  // namespace confvisor::bench
