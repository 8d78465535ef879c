#include "daemon/supervise/log_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/base/error.hpp"
#include "common/base/log.hpp"
#include "common/os/regular_file.hpp"

namespace confvisor::supervise {

LogFile::LogFile(std::string path, std::optional<std::uint64_t> max_size, unsigned keep)
    : path_(std::move(path)), max_size_(max_size), keep_(keep) {
  open();
}

LogFile::~LogFile() {
  if (unwritten_ > 0) {
    log_warning("log file " + path_ + ": closed; " + std::to_string(unwritten_) +
                " line(s) were not written (" + failure_ + ")");
  }
}

// O_NONBLOCK: a FIFO without a reader then fails at once (ENXIO) instead of waiting for one,
// and one with a reader is refused by the fstat below. On a regular file it changes nothing.
void LogFile::open() {
  fd_.reset();
  rotation_failed_ = false;
  UniqueFd fd(::open(path_.c_str(),
                     O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0640));
  if (!fd) {
    const int err = errno;
    struct stat st {};
    if (::stat(path_.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      return failed("it is " + std::string(file_type_name(st.st_mode)) + ", not a regular file");
    }
    return failed(sys_message("open", err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return failed(sys_message("fstat", errno));
  if (!S_ISREG(st.st_mode)) {
    return failed("it is " + std::string(file_type_name(st.st_mode)) + ", not a regular file");
  }
  fd_ = std::move(fd);
  size_ = static_cast<std::uint64_t>(st.st_size);
}

void LogFile::reopen() {
  open();
  if (fd_) log_info("log file " + path_ + ": opened again");
}

void LogFile::configure(std::optional<std::uint64_t> max_size, unsigned keep) {
  max_size_ = max_size;
  keep_ = keep;
  if (!fd_) reopen();
}

void LogFile::write(std::string_view line) {
  if (fd_ && max_size_ && !rotation_failed_ && size_ > 0 && size_ + line.size() > *max_size_) {
    rotate(line.size());
  }
  if (!fd_) return lost_line();
  ssize_t n = ::write(fd_.get(), line.data(), line.size());
  if (n < 0 && errno == EINTR) n = ::write(fd_.get(), line.data(), line.size());
  if (n > 0) size_ += static_cast<std::uint64_t>(n);
  if (n == static_cast<ssize_t>(line.size())) {
    if (!failure_.empty()) {
      log_info("log file " + path_ + ": writing again; " + std::to_string(unwritten_) +
               " line(s) were not written (" + failure_ + ")");
      failure_.clear();
      unwritten_ = 0;
    }
    return;
  }
  // A short write is the disk filling up in the middle of the line.
  if (failure_.empty()) failed(sys_message("write", n < 0 ? errno : ENOSPC));
  lost_line();
}

void LogFile::lost_line() {
  ++unwritten_;
}

// The renames are metadata operations in the file's own directory, done by the kernel at once
// on a local file system: nothing here waits for another process. Another process may have
// truncated the file since (logrotate's copytruncate), so its size is asked for first.
void LogFile::rotate(std::size_t incoming) {
  struct stat st {};
  if (::fstat(fd_.get(), &st) == 0) size_ = static_cast<std::uint64_t>(st.st_size);
  if (size_ == 0 || !max_size_ || size_ + incoming <= *max_size_) return;
  // Moved away by someone else (logrotate, before its SIGUSR1): a new file takes its place,
  // and the files of that other rotation are left as they are.
  struct stat at_path {};
  if (::stat(path_.c_str(), &at_path) != 0 || at_path.st_ino != st.st_ino ||
      at_path.st_dev != st.st_dev) {
    return open();
  }
  const auto numbered = [this](unsigned i) { return path_ + "." + std::to_string(i); };
  bool ok = true;
  if (keep_ == 0) {
    ok = ::unlink(path_.c_str()) == 0 || errno == ENOENT;
  } else {
    for (unsigned i = keep_ - 1; ok && i >= 1; --i) {
      ok = ::rename(numbered(i).c_str(), numbered(i + 1).c_str()) == 0 || errno == ENOENT;
    }
    ok = ok && ::rename(path_.c_str(), numbered(1).c_str()) == 0;
  }
  if (!ok) {
    rotation_failed_ = true;
    log_error("log file " + path_ + ": " + sys_message("rotate", errno) +
              "; it grows past max_size until it is opened again (SIGUSR1, a reload)");
    return;
  }
  open();
}

void LogFile::failed(const std::string& why) {
  if (failure_ == why) return;
  failure_ = why;
  log_error("log file " + path_ + ": " + why +
            "; its lines are counted until it works again (SIGUSR1 or a reload opens it "
            "again), and are still in the daemon's log and in `confvisorctl logs`");
}

std::shared_ptr<LogFile> LogFiles::open(const config::LogSettings& log) {
  if (!log.file) return nullptr;
  std::erase_if(files_, [](const auto& entry) { return entry.second.expired(); });
  if (auto it = files_.find(*log.file); it != files_.end()) {
    if (auto file = it->second.lock()) {
      file->configure(log.max_size, log.keep);
      return file;
    }
  }
  auto file = std::make_shared<LogFile>(*log.file, log.max_size, log.keep);
  files_[*log.file] = file;
  return file;
}

void LogFiles::reopen_all() {
  for (auto& [path, weak] : files_) {
    if (auto file = weak.lock()) file->reopen();
  }
}

}  // namespace confvisor::supervise
