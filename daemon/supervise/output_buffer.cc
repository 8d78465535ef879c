#include "daemon/supervise/output_buffer.hpp"

namespace confvisor::supervise {

const char* stream_name(OutputStream stream) {
  switch (stream) {
    case OutputStream::out:
      return "stdout";
    case OutputStream::err:
      return "stderr";
    case OutputStream::event:
      return "event";
  }
  return "?";
}

OutputBuffer::OutputBuffer(unsigned max_lines, std::size_t max_bytes)
    : max_lines_(max_lines), max_bytes_(max_bytes) {}

void OutputBuffer::set_limits(unsigned max_lines, std::size_t max_bytes) {
  max_lines_ = max_lines;
  max_bytes_ = max_bytes;
  trim();
}

void OutputBuffer::push(OutputLine line) {
  bytes_ += line.text.size();
  lines_.push_back(std::move(line));
  trim();
}

void OutputBuffer::trim() {
  while (!lines_.empty() && (lines_.size() > max_lines_ || bytes_ > max_bytes_)) {
    bytes_ -= lines_.front().text.size();
    lines_.pop_front();
  }
}

}  // namespace confvisor::supervise
