// Reads one of a worker's output pipes and logs it line by line as "name[instance]: line".
// It keeps one partial line at most (4 KiB; longer lines are cut), and past a burst of
// 2000 lines it logs at most 1000 lines a second and counts the rest: a worker writing
// megabytes never blocks on a full pipe, never bloats the daemon, never floods the journal.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <array>
#include <chrono>
#include <memory>
#include <string>

#include "unique_fd.hpp"

namespace confvisor::daemon {

class OutputRelay : public std::enable_shared_from_this<OutputRelay> {
 public:
  // Starts relaying `fd` until EOF; the relay keeps itself alive while it reads.
  static void start(boost::asio::io_context& io, UniqueFd fd, std::string prefix);

  OutputRelay(boost::asio::io_context& io, UniqueFd fd, std::string prefix);

 private:
  void read_more();
  void consume(std::string_view data);
  void emit(std::string_view line);
  bool take_token();
  void report_suppressed();

  boost::asio::posix::stream_descriptor pipe_;
  std::string prefix_;
  std::array<char, 64 * 1024> buffer_{};
  std::string partial_;
  bool discarding_ = false;  // inside an over-long line, until its newline
  double tokens_;
  std::chrono::steady_clock::time_point refilled_;
  std::uint64_t suppressed_ = 0;
};

}  // namespace confvisor::daemon
