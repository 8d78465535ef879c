// A worker's log file ("log": {"file": PATH, "max_size": ..., "keep": N}): every line of its
// instances appended as "TIME NAME[INSTANCE] STREAM: TEXT", rotated by size to PATH.1 ...
// PATH.N, and opened again by name on SIGUSR1 (after logrotate moved it).
//
// The daemon's loop writes it, so it must never wait on it: the file is opened non-blocking
// and only a regular file is kept open (a FIFO or a device would hand our writes to whoever
// reads it). A write to a regular file never waits for another process; the kernel takes it
// into the page cache and, at worst, throttles it while dirty pages are written back, which
// is bounded by the disk's speed. (A hard-mounted network file system whose server is gone is
// the exception: keep log files on local disks.)
//
// Faults are logged and survived: a file that cannot be opened (a directory, a FIFO, a
// missing directory, no permission) is logged once and tried again on SIGUSR1 and on a
// reload; a write that fails (ENOSPC, EDQUOT, EIO) is logged once, the lines lost meanwhile
// are counted, and the count is logged when writing works again. The lines are in the
// daemon's log and in `confvisorctl logs` all the same.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/os/unique_fd.hpp"
#include "daemon/config/model.hpp"

namespace confvisor::supervise {

class LogFile {
 public:
  // Opens `path` for appending (mode 0640), creating it if missing.
  LogFile(std::string path, std::optional<std::uint64_t> max_size, unsigned keep);
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;
  ~LogFile();

  // Appends one line, newline included, rotating first if it would take the file past
  // max_size.
  void write(std::string_view line);
  // Closes the file and opens `path` again: a moved file is left to whoever moved it.
  void reopen();
  // A reload names this file again: new rotation settings, and another try if it is not open.
  void configure(std::optional<std::uint64_t> max_size, unsigned keep);

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] bool is_open() const { return static_cast<bool>(fd_); }
  // Lines not written since the current failure began (0 while writes work).
  [[nodiscard]] std::uint64_t unwritten() const { return unwritten_; }

 private:
  void open();
  // Before a line of `incoming` bytes that would take the file past max_size.
  void rotate(std::size_t incoming);
  void failed(const std::string& why);
  void lost_line();

  std::string path_;
  std::optional<std::uint64_t> max_size_;
  unsigned keep_;
  UniqueFd fd_;
  std::uint64_t size_ = 0;
  std::string failure_;  // why lines are not written, "" while they are
  std::uint64_t unwritten_ = 0;
  bool rotation_failed_ = false;  // not tried again until the file is opened again
};

// The log files of every worker, by path, so that SIGUSR1 reaches each one.
class LogFiles {
 public:
  // The file `log` names, shared with whoever already writes it; nullptr if it names none.
  [[nodiscard]] std::shared_ptr<LogFile> open(const config::LogSettings& log);
  void reopen_all();

 private:
  std::map<std::string, std::weak_ptr<LogFile>> files_;
};

}  // namespace confvisor::supervise
