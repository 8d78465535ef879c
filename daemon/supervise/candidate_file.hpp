// The private copies of a config that check commands read before it is published: a
// directory of the daemon's own (mkdtemp under $TMPDIR or /tmp, mode 0711: others may reach a
// file whose name they know, never list it) with one file per check, DIR/WORKER.json, readable
// by that check's user only (mode 0400, owned by it when the daemon runs as root; the
// daemon's own file, 0600, otherwise). Everything is removed when the object goes.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace confvisor::supervise {

class CandidateFiles {
 public:
  // Creates the directory. Throws Error.
  CandidateFiles();
  ~CandidateFiles();
  CandidateFiles(const CandidateFiles&) = delete;
  CandidateFiles& operator=(const CandidateFiles&) = delete;

  // Writes `text` to DIR/WORKER.json, owned by `owner` (uid, gid) when set; returns its path.
  // Throws Error naming the file.
  std::string write(const std::string& worker, std::string_view text,
                    std::optional<std::pair<uid_t, gid_t>> owner);

  [[nodiscard]] const std::string& directory() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace confvisor::supervise
