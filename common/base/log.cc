#include "common/base/log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "common/base/error.hpp"

namespace confvisor {

namespace {

std::atomic<LogLevel> threshold{LogLevel::info};

constexpr std::array<std::string_view, 4> kNames{"debug", "info", "warning", "error"};
constexpr std::array<int, 4> kSyslogPriority{7, 6, 4, 3};

// systemd sets JOURNAL_STREAM=DEV:INODE when stderr is connected to the journal.
bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  return dev == st.st_dev && ino == st.st_ino;
}

std::string timestamp() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  ::gmtime_r(&ts.tv_sec, &utc);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buf + n, sizeof buf - n, ".%03ldZ", ts.tv_nsec / 1'000'000);
  return buf;
}

}  // namespace

void set_log_level(LogLevel level) {
  threshold.store(level);
}

LogLevel parse_log_level(std::string_view name) {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<LogLevel>(i);
  }
  throw Error("invalid log level \"" + std::string(name) +
              "\": expected one of debug, info, warning, error");
}

void log(LogLevel level, std::string_view message) {
  if (level < threshold.load(std::memory_order_relaxed)) return;
  static const bool journal = stderr_is_journal();
  const auto i = static_cast<std::size_t>(level);
  std::string line;
  if (journal) {
    line = "<" + std::to_string(kSyslogPriority[i]) + ">";
  } else {
    line = timestamp() + " ";
  }
  line += kNames[i];
  line += ": ";
  // One event, one line: a message must never break the log's line structure.
  for (char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
  line += '\n';
  // One write per line, so lines of concurrent writers do not interleave.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace confvisor
