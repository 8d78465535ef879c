// A file the daemon keeps in its state_dir across restarts, replaced whole and atomically:
// SEGMENT.last-good.json, the last good etcd-merged document, so that a daemon started while
// etcd is unreachable still publishes what its workers last ran with; SEGMENT.bad.json, the
// content that failed its verify window, so that a restarted daemon still refuses it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace confvisor::daemon {

class StateFile {
 public:
  // STATE_DIR/NAME.
  StateFile(const std::string& state_dir, const std::string& name);

  // Makes sure the state directory can hold the file: creates it (mode 0700) if it is missing
  // and its parent is there, and checks it is a directory this process may write. Throws Error
  // naming the directory and what is wrong with it.
  void prepare() const;

  // Replaces the file with `text`, atomically: a temporary file in the same directory (mode
  // 0600), fsync, rename over the file, fsync of the directory. A crash at any point leaves
  // the old file or the new one, never a part. Throws Error naming the step that failed.
  void write(std::string_view text) const;

  // The file's text, or nullopt if there is none. Read as the config file is (a regular file
  // of at most `max_size` bytes, opened without blocking); throws Error if it is there but
  // cannot be read.
  [[nodiscard]] std::optional<std::string> read(std::size_t max_size) const;

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::string path_;
};

}  // namespace confvisor::daemon
