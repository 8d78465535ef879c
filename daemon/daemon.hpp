// confvisord's core: owns the config, the segment it publishes, the workers it supervises,
// and the event loop that turns signals into reloads, reaped children and a clean exit.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <vector>

#include "config.hpp"
#include "error.hpp"
#include "instance_lock.hpp"
#include "notifier.hpp"
#include "publisher.hpp"
#include "signal_fd.hpp"
#include "supervisor.hpp"

namespace confvisor::daemon {

// The config could not be loaded at startup; `errors` has every problem, one per line.
class ConfigRejected : public Error {
 public:
  explicit ConfigRejected(std::vector<std::string> errors);
  std::vector<std::string> errors;
};

class Daemon {
 public:
  // Blocks the signals it handles, loads and validates the config, takes the segment's
  // instance lock, and publishes the config (unless the segment already holds exactly it).
  // Throws ConfigRejected or Error; nothing is published then.
  explicit Daemon(const std::string& config_path);
  ~Daemon();

  // Serves until SIGTERM or SIGINT; returns the exit code.
  int run();

 private:
  void wait_for_signals();
  void on_signals(const std::vector<int>& signals);
  void shut_down(int sig);
  void reload();
  void wait_for_watchdog();
  void publish_initial();
  void apply_settings(const Settings& next);
  [[nodiscard]] std::string refuse_setting_changes(const Settings& next) const;
  [[nodiscard]] std::string status() const;

  SignalFd signals_;  // first: the mask must be in place before anything else starts
  std::string config_path_;
  Config config_;
  InstanceLock lock_;
  Publisher publisher_;
  std::uint64_t generation_ = 0;
  std::string published_text_;  // minified JSON of generation_
  std::string last_reload_ = "none yet";

  Notifier notifier_;
  boost::asio::io_context io_;
  boost::asio::posix::stream_descriptor signal_events_;
  boost::asio::steady_timer watchdog_timer_;
  Supervisor supervisor_;
  bool stopping_ = false;
};

}  // namespace confvisor::daemon
