#include "tests/support/daemon_process.hpp"

#include <signal.h>

#include <fstream>
#include <sstream>

#include "common/base/error.hpp"
#include "tests/support/fd_wait.hpp"

namespace confvisor::test {

namespace {

constexpr std::size_t kLogLinesOnFailure = 15;

std::string unique_log_path(const TempDir& dir) {
  static int counter = 0;
  return dir.file("confvisord-" + std::to_string(++counter) + ".log");
}

// The daemon's command line; in `cgroup`, a shell joins it and then becomes the daemon.
std::vector<std::string> daemon_argv(const std::string& config_path, const DaemonOptions& options) {
  std::vector<std::string> argv{options.program, "--config", config_path};
  if (!options.log_level.empty()) argv.insert(argv.end(), {"--log-level", options.log_level});
  if (options.cgroup.empty()) return argv;
  argv.insert(argv.begin(),
              {"/bin/sh", "-c", "echo $$ > \"$0/cgroup.procs\" && exec \"$@\"", options.cgroup});
  return argv;
}

// Nothing of our own environment may reach the daemon that a service manager or a test
// harness could have left and the daemon would act on: no seam, no watchdog, no journal
// stream, no socket activation, and no service manager but us.
ChildOptions daemon_start(const std::string& notify_socket, const std::string& log_path,
                          const DaemonOptions& options) {
  ChildOptions start{.env = {"CONFVISOR_TEST_CRASH_AT", "CONFVISOR_TEST_STOP_AT", "WATCHDOG_USEC",
                             "WATCHDOG_PID", "JOURNAL_STREAM", "LISTEN_FDS", "LISTEN_PID",
                             "LISTEN_FDNAMES", "NOTIFY_SOCKET=" + notify_socket},
                     .output_file = log_path,
                     .null_input = true,
                     .own_process_group = true,
                     .dies_with_parent = true};
  start.env.insert(start.env.end(), options.env.begin(), options.env.end());
  return start;
}

std::chrono::milliseconds left_until(std::chrono::steady_clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                               std::chrono::steady_clock::now());
}

}  // namespace

DaemonProcess::DaemonProcess(const TempDir& dir, const std::string& config_path,
                             const DaemonOptions& options)
    : log_path_(unique_log_path(dir)),
      notify_(log_path_ + ".notify"),
      process_(daemon_argv(config_path, options),
               daemon_start(notify_.path(), log_path_, options)) {}

DaemonProcess::DaemonProcess(const TempDir& dir, const std::string& config_path,
                             const std::vector<std::string>& extra_env, const std::string& program,
                             const std::string& cgroup)
    : DaemonProcess(dir, config_path,
                    DaemonOptions{.env = extra_env, .program = program, .cgroup = cgroup}) {}

std::int64_t DaemonProcess::spawned_ns() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             process_.forked_at().time_since_epoch())
      .count();
}

bool DaemonProcess::signal(int sig) const {
  return !process_.reaped() && ::kill(process_.pid(), sig) == 0;  // never kill(-1)
}

std::optional<Datagram> DaemonProcess::take_notification() {
  std::optional<Datagram> d = notify_.try_receive();
  if (d) received_.push_back(d->text);
  return d;
}

std::size_t DaemonProcess::drain_notifications() {
  std::size_t n = 0;
  while (take_notification()) ++n;
  return n;
}

std::optional<Datagram> DaemonProcess::next_notification(std::string_view needle,
                                                         std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Looked at before the queue: whatever a daemon that has exited sent is queued by now.
    const bool exited = process_.try_reap().has_value();
    while (std::optional<Datagram> d = take_notification()) {
      if (d->text.find(needle) != std::string::npos) return d;
    }
    const auto left = left_until(deadline);
    if (exited || left.count() <= 0) return std::nullopt;
    (void)wait_readable({notify_.fd(), process_.exit_fd()}, left);
  }
}

std::string DaemonProcess::wait_notify(std::string_view needle, std::chrono::milliseconds timeout) {
  std::optional<Datagram> d = next_notification(needle, timeout);
  return d ? d->text : std::string{};
}

Datagram DaemonProcess::require_notification(std::string_view needle,
                                             std::chrono::milliseconds timeout) {
  if (std::optional<Datagram> d = next_notification(needle, timeout)) return *d;
  check_running();
  fail("no " + std::string(needle) + " notification from confvisord within " +
       std::to_string(timeout.count()) + " ms");
}

std::size_t DaemonProcess::watch(std::chrono::milliseconds duration) {
  const auto deadline = std::chrono::steady_clock::now() + duration;
  std::size_t notifications = 0;
  for (;;) {
    const bool exited = process_.try_reap().has_value();
    notifications += drain_notifications();
    if (exited) fail("confvisord ended unexpectedly");
    const auto left = left_until(deadline);
    if (left.count() <= 0) return notifications;
    (void)wait_readable({notify_.fd(), process_.exit_fd()}, left);
  }
}

void DaemonProcess::check_running() {
  if (process_.try_reap()) fail("confvisord ended unexpectedly");
}

int DaemonProcess::wait_exit(std::chrono::milliseconds timeout) {
  return process_.wait_for(timeout);
}

void DaemonProcess::stop(std::chrono::milliseconds timeout) {
  if (!signal(SIGTERM)) fail("confvisord was gone before SIGTERM");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!process_.try_reap()) {
    (void)drain_notifications();
    const auto left = left_until(deadline);
    if (left.count() <= 0) {
      (void)process_.wait_for(std::chrono::milliseconds(0));  // SIGKILLs and reaps
      fail("confvisord did not stop within " + std::to_string(timeout.count()) +
           " ms of SIGTERM; killed");
    }
    (void)wait_readable({notify_.fd(), process_.exit_fd()}, left);
  }
  if (!exited_cleanly(*process_.status())) fail("confvisord did not stop cleanly on SIGTERM");
}

std::string DaemonProcess::log() const {
  return read_file(log_path_);
}

std::string DaemonProcess::log_tail(std::size_t lines) const {
  std::istringstream in(log());
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(std::move(line));
  std::string out;
  for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    out += "\n    " + all[i];
  }
  return out.empty() ? " (empty)" : out;
}

void DaemonProcess::fail(const std::string& what) {
  std::string message = what;
  if (process_.try_reap()) message += "; confvisord " + describe_wait_status(*process_.status());
  message += "; the end of its log:" + log_tail(kLogLinesOnFailure);
  throw Error(message);
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace confvisor::test
