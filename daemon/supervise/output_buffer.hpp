// The recent output of one worker instance, kept in memory for `confvisorctl logs`: a ring of
// lines bounded both in number and in bytes of text, the oldest dropped first.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

namespace confvisor::supervise {

// Where a line came from: the instance's stdout or stderr, or the daemon itself (a marker
// for a start or an exit of the instance).
enum class OutputStream { out, err, event };
// "stdout", "stderr", "event": the names `confvisorctl logs` and the log files show.
[[nodiscard]] const char* stream_name(OutputStream stream);

struct OutputLine {
  std::uint64_t seq = 0;  // the daemon's order of arrival, across every instance
  std::chrono::system_clock::time_point time;  // when the daemon read it
  OutputStream stream = OutputStream::out;
  std::string text;  // escaped (escape_output): valid UTF-8, no control characters
  bool cut = false;  // the line was longer than 4 KiB: the rest of it is not kept
};

class OutputBuffer {
 public:
  OutputBuffer(unsigned max_lines, std::size_t max_bytes);

  // New bounds; lines past them go at once.
  void set_limits(unsigned max_lines, std::size_t max_bytes);
  // Adds `line`, then drops the oldest lines until both bounds hold. A line whose text alone
  // is over the byte bound is not kept at all.
  void push(OutputLine line);

  [[nodiscard]] const std::deque<OutputLine>& lines() const { return lines_; }
  [[nodiscard]] std::size_t bytes() const { return bytes_; }

 private:
  void trim();

  unsigned max_lines_;
  std::size_t max_bytes_;
  std::deque<OutputLine> lines_;
  std::size_t bytes_ = 0;  // of text in lines_
};

}  // namespace confvisor::supervise
