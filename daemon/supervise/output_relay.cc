#include "daemon/supervise/output_relay.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>

#include "common/base/log.hpp"
#include "common/json/utf8.hpp"

namespace confvisor::supervise {

namespace {
constexpr std::size_t kMaxLine = 4096;
constexpr unsigned kLinesPerInterval = 1000;
constexpr std::chrono::seconds kInterval{1};
}  // namespace

// The line budget of one prefix, in fixed intervals. A timer runs only while lines are being
// counted, so a quiet worker costs no wakeups; the warning comes when the interval ends even
// if the worker then falls silent.
class OutputLimit {
 public:
  // The limit of `prefix`, shared with every live relay of it.
  static std::shared_ptr<OutputLimit> of(boost::asio::io_context& io, const std::string& prefix) {
    auto& known = registry();
    if (auto it = known.find(prefix); it != known.end()) {
      if (auto live = it->second.lock()) return live;
    }
    auto limit = std::make_shared<OutputLimit>(io, prefix);
    known[prefix] = limit;
    return limit;
  }

  OutputLimit(boost::asio::io_context& io, std::string prefix)
      : prefix_(std::move(prefix)), timer_(io) {}
  OutputLimit(const OutputLimit&) = delete;
  OutputLimit& operator=(const OutputLimit&) = delete;
  ~OutputLimit() {
    report();
    auto& known = registry();
    if (auto it = known.find(prefix_); it != known.end() && it->second.expired()) known.erase(it);
  }

  // True if one more line may be logged now; false if it is to be counted instead.
  bool admit() {
    const auto now = std::chrono::steady_clock::now();
    if (now - started_ >= kInterval) {
      report();  // the interval ended before its timer ran
      started_ = now;
      logged_ = 0;
    }
    if (logged_ < kLinesPerInterval) {
      ++logged_;
      return true;
    }
    if (suppressed_++ == 0) {
      timer_.expires_at(started_ + kInterval);
      timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) report();
      });
    }
    return false;
  }

 private:
  static std::map<std::string, std::weak_ptr<OutputLimit>>& registry() {
    // The daemon's one event loop is the only user: no lock.
    static std::map<std::string, std::weak_ptr<OutputLimit>> known;
    return known;
  }

  void report() {
    if (suppressed_ == 0) return;
    log_warning(prefix_ + ": " + std::to_string(suppressed_) +
                " output line(s) not logged (more than " + std::to_string(kLinesPerInterval) +
                " lines/s)");
    suppressed_ = 0;
    timer_.cancel();
  }

  std::string prefix_;
  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::time_point started_{};
  unsigned logged_ = 0;
  std::uint64_t suppressed_ = 0;
};

void OutputRelay::start(boost::asio::io_context& io, UniqueFd fd, std::shared_ptr<RunOutput> run,
                        OutputStream stream) {
  std::make_shared<OutputRelay>(io, std::move(fd), std::move(run), stream)->read_more();
}

OutputRelay::OutputRelay(boost::asio::io_context& io, UniqueFd fd, std::shared_ptr<RunOutput> run,
                         OutputStream stream)
    : pipe_(io, fd.release()),
      run_(std::move(run)),
      stream_(stream),
      prefix_(run_->output().label()),
      limit_(OutputLimit::of(io, prefix_)) {}

void OutputRelay::read_more() {
  pipe_.async_read_some(
      boost::asio::buffer(buffer_),
      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        if (n > 0) self->consume(std::string_view(self->buffer_.data(), n));
        if (!ec) return self->read_more();
        // EOF: every writer (the worker and anything it left behind) is gone.
        if (!self->partial_.empty()) self->emit(escape_output(self->partial_), false);
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
        emit(escape_output(partial_), true);
        partial_.clear();
        discarding_ = true;
      }
    }
    if (nl == std::string_view::npos) return;
    if (!discarding_) emit(escape_output(partial_), false);
    partial_.clear();
    discarding_ = false;
    data.remove_prefix(nl + 1);
  }
}

void OutputRelay::emit(std::string line, bool cut) {
  if (limit_->admit()) log_info(prefix_ + ": " + line + (cut ? " [line cut at 4 KiB]" : ""));
  run_->output().add(stream_, std::move(line), cut);
}

std::string escape_output(std::string_view line) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(line.size());
  const auto escape = [&](unsigned char c) {
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  };
  while (!line.empty()) {
    // The well-formed run first, then the one bad byte that ends it.
    const std::size_t good = find_invalid_utf8(line).value_or(line.size());
    for (std::size_t i = 0; i < good; ++i) {
      const auto c = static_cast<unsigned char>(line[i]);
      const bool c1 = c == 0xc2 && i + 1 < good && static_cast<unsigned char>(line[i + 1]) < 0xa0;
      if (c1) {  // U+0080..U+009F, such as the one-byte CSI
        escape(c);
        escape(static_cast<unsigned char>(line[++i]));
      } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
        escape(c);
      } else {
        out += static_cast<char>(c);
      }
    }
    if (good == line.size()) break;
    escape(static_cast<unsigned char>(line[good]));
    line.remove_prefix(good + 1);
  }
  return out;
}

}  // namespace confvisor::supervise
