#include "output_relay.hpp"

#include <boost/asio/buffer.hpp>

#include "log.hpp"

namespace confvisor::daemon {

namespace {
constexpr std::size_t kMaxLine = 4096;
constexpr double kBurst = 2000;
constexpr double kLinesPerSecond = 1000;
}  // namespace

void OutputRelay::start(boost::asio::io_context& io, UniqueFd fd, std::string prefix) {
  std::make_shared<OutputRelay>(io, std::move(fd), std::move(prefix))->read_more();
}

OutputRelay::OutputRelay(boost::asio::io_context& io, UniqueFd fd, std::string prefix)
    : pipe_(io, fd.release()),
      prefix_(std::move(prefix)),
      tokens_(kBurst),
      refilled_(std::chrono::steady_clock::now()) {}

void OutputRelay::read_more() {
  pipe_.async_read_some(boost::asio::buffer(buffer_),
                        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                          if (n > 0) self->consume(std::string_view(self->buffer_.data(), n));
                          if (!ec) return self->read_more();
                          // EOF: every writer (the worker and anything it left behind) is gone.
                          if (!self->partial_.empty()) self->emit(self->partial_);
                          self->report_suppressed();
                        });
}

void OutputRelay::consume(std::string_view data) {
  while (!data.empty()) {
    const std::size_t nl = data.find('\n');
    const std::string_view piece = data.substr(0, nl);
    if (!discarding_) {
      // Cut when the line goes on past kMaxLine: in a later read, or in this one (a whole
      // long line read at once).
      const bool longer = partial_.size() + piece.size() > kMaxLine;
      partial_.append(piece.substr(0, kMaxLine - partial_.size()));
      if (partial_.size() >= kMaxLine && (nl == std::string_view::npos || longer)) {
        emit(partial_ + " [line cut at 4 KiB]");
        partial_.clear();
        discarding_ = true;
      }
    }
    if (nl == std::string_view::npos) return;
    if (!discarding_) emit(partial_);
    partial_.clear();
    discarding_ = false;
    data.remove_prefix(nl + 1);
  }
}

void OutputRelay::emit(std::string_view line) {
  if (!take_token()) {
    ++suppressed_;
    return;
  }
  report_suppressed();
  log_info(prefix_ + ": " + std::string(line));
}

bool OutputRelay::take_token() {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - refilled_).count();
  tokens_ = std::min(kBurst, tokens_ + elapsed * kLinesPerSecond);
  refilled_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

void OutputRelay::report_suppressed() {
  if (suppressed_ == 0) return;
  log_warning(prefix_ + ": " + std::to_string(suppressed_) +
              " output line(s) not logged (more than 1000 lines/s)");
  suppressed_ = 0;
}

}  // namespace confvisor::daemon
