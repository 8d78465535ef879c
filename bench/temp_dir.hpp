// A private directory for one daemon run: its config file, the notify and report sockets,
// the daemon's log. Removed with its contents on every way out: by the destructor, and on a
// fatal signal through the paths it registered (cleanup.hpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bench/cleanup.hpp"

namespace confvisor::bench {

class TempDir {
 public:
  // /tmp/confvisor-bench-PID-TAG-XXXXXX. Throws std::runtime_error if it cannot be made.
  explicit TempDir(std::string_view tag);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }

  // path()/NAME, registered (with the temporary name write() uses) for unlinking on a fatal
  // signal. Call once per name, before anything creates it.
  std::string file(std::string_view name);

  // Replaces `path` (a name from file()) by `content` through a temporary and a rename: a
  // daemon reading it on SIGHUP sees the old file or the new one, never half of one.
  // Throws std::runtime_error on a write error.
  static void write(const std::string& path, std::string_view content);

 private:
  std::string path_;
  UnlinkOnSignal dir_;
  std::vector<UnlinkOnSignal> files_;
};

}  // namespace confvisor::bench
