// What the config file on disk holds now, for `status`: the daemon's live config is compared
// with it at every status request, so an edit not reloaded yet (or a broken or deleted file)
// is reported as it is. Cheap to ask often: the files are read again only when the identity
// or timestamps of one changed, or its include patterns match other files than before.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace confvisor::config {

class ConfigOnDisk {
 public:
  struct Reading {
    std::optional<std::string> text;  // the document, minified, as a reload would publish it
    std::string error;                // else the first reason a reload would refuse the file
  };

  // Reads `path` and its fragments as a reload would (regular files of at most `max_size`
  // bytes together, opened non-blocking so a FIFO never stalls the loop), or returns the last
  // reading when stat() shows the same files, unchanged since then.
  const Reading& read(const std::string& path, std::size_t max_size);

 private:
  struct Identity {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    timespec mtime{}, ctime{};
    [[nodiscard]] bool operator==(const Identity& o) const;
  };
  // The files a reading depends on: the main file, then every file its include patterns
  // name now (nullopt where stat() finds none), and why the patterns could not be expanded.
  struct Stamp {
    std::vector<std::pair<std::string, std::optional<Identity>>> files;
    std::string include_errors;
    [[nodiscard]] bool operator==(const Stamp& o) const = default;
  };

  [[nodiscard]] Stamp stamp_of(const std::string& path) const;

  std::string path_;
  std::vector<std::string> include_;  // the main file's include patterns at the last reading
  std::optional<Stamp> stamp_;        // of the last reading, while it can be trusted
  Reading last_;
};

}  // namespace confvisor::config
