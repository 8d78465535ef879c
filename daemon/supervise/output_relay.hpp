// Reads one of a worker's output pipes and logs it line by line as "name[instance]: line".
// It keeps one partial line at most (4 KiB; longer lines are cut), so a worker writing
// megabytes never blocks on a full pipe and never bloats the daemon. Every line also goes to
// the instance's output (daemon/supervise/instance_output.hpp): its buffer, its followers
// and its log file, whatever the log's rate limit below lets through. A last line without a
// newline is a line too, once the pipe is at EOF.
//
// The relays of one prefix (a worker instance's stdout and stderr, and those of an earlier
// run of it still draining) share one limit: at most 1000 lines in each second, counted from
// the first line after a quiet second; the rest of that second's lines are counted and told
// in one warning when it ends ("N output line(s) not logged"), so a flood never floods the
// journal. Control characters other than the tab, and bytes that are not UTF-8, are logged
// escaped as \xNN: a worker cannot forge log lines or send the terminal escape sequences.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "common/os/unique_fd.hpp"
#include "daemon/supervise/instance_output.hpp"

namespace confvisor::supervise {

class OutputLimit;

class OutputRelay : public std::enable_shared_from_this<OutputRelay> {
 public:
  // Starts relaying `fd`, the run's `stream`, until EOF; the relay keeps itself (and the run)
  // alive while it reads.
  static void start(boost::asio::io_context& io, UniqueFd fd, std::shared_ptr<RunOutput> run,
                    OutputStream stream);

  OutputRelay(boost::asio::io_context& io, UniqueFd fd, std::shared_ptr<RunOutput> run,
              OutputStream stream);

 private:
  void read_more();
  void consume(std::string_view data);
  void emit(std::string line, bool cut);

  boost::asio::posix::stream_descriptor pipe_;
  std::shared_ptr<RunOutput> run_;
  OutputStream stream_;
  std::string prefix_;
  std::shared_ptr<OutputLimit> limit_;
  std::array<char, 64 * 1024> buffer_{};
  std::string partial_;
  bool discarding_ = false;  // inside an over-long line, until its newline
};

// Printable form of a worker's line: control characters (but the tab), DEL, C1 controls and
// bytes that are not well-formed UTF-8 become \xNN; everything else is kept as it is.
[[nodiscard]] std::string escape_output(std::string_view line);

}  // namespace confvisor::supervise
