// What the config file on disk holds now, for `status`: the daemon's live config is compared
// with it at every status request, so an edit not reloaded yet (or a broken or deleted file)
// is reported as it is. Cheap to ask often: the file is read again only when its identity or
// timestamps changed.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <optional>
#include <string>

namespace confvisor::config {

class ConfigOnDisk {
 public:
  struct Reading {
    std::optional<std::string> text;  // the document, minified, as a reload would publish it
    std::string error;                // else the first reason a reload would refuse the file
  };

  // Reads `path` as a reload would (a regular file of at most `max_size` bytes, opened
  // non-blocking so a FIFO never stalls the loop), or returns the last reading when a stat()
  // shows the same file unchanged since then.
  const Reading& read(const std::string& path, std::size_t max_size);

 private:
  struct Identity {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    timespec mtime{}, ctime{};
    [[nodiscard]] bool operator==(const Identity& o) const;
  };

  Reading read_now(const std::string& path, std::size_t max_size);

  std::string path_;
  std::optional<Identity> identity_;  // of the last reading, while it can be trusted
  Reading last_;
};

}  // namespace confvisor::config
