// confvisorctl's command line: which command, on what, and how to answer.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "confvisor/error.hpp"

namespace confvisor::ctl {

// Exit codes a script can rely on (the README lists them).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;      // the command failed or was refused (message on stderr)
inline constexpr int kExitUsage = 2;       // the command line makes no sense
inline constexpr int kExitNotRunning = 3;  // no daemon answers on the socket (as systemctl status)
inline constexpr int kExitDenied = 4;      // not allowed to use the socket
// status only: the daemon answered, and a worker instance is FATAL or in BACKOFF (it failed
// and is not up again). An instance stopped by an operator or by its restart policy is not.
inline constexpr int kExitWorkerDown = 5;

extern const char* const kUsage;

// A command line that does not make sense: exit code 2, the message and a pointer to --help.
class UsageError : public Error {
 public:
  using Error::Error;
};

struct Command {
  // --help or --version: printed, and nothing else done (exit 0).
  enum class Info { none, help, version };
  Info info = Info::none;
  std::string options_help;  // with --help, the options' descriptions

  std::string name;
  std::vector<std::string> args;
  std::optional<std::string> segment;  // --segment, or $CONFVISOR_SEGMENT
  std::optional<std::string> socket;   // --socket
  std::optional<std::string> config;   // --config
  bool json = false;
  std::optional<std::chrono::milliseconds> timeout;
  std::optional<unsigned> history;
  std::optional<mode_t> mode;
  bool force = false;                  // publish beside a live daemon
  std::optional<std::uint64_t> lines;  // logs: -n, how many recent lines
  bool follow = false;                 // logs: -f
  bool wait = false;                   // reload: --wait, until every reporting instance applied
  // push: the etcd endpoints (URLs, comma-separated), the key, the mod_revision to compare.
  std::optional<std::string> etcd;
  std::optional<std::string> key;
  std::optional<std::int64_t> if_revision;
  // push over TLS (https endpoints) and with etcd's authentication: PEM files, a user and the
  // file whose first line is the password.
  std::optional<std::string> cacert, cert, key_file;
  std::optional<std::string> user, password_file;

  // Commands answered without a daemon: from the segment itself, or by etcd (push).
  [[nodiscard]] bool reads_segment() const;
};

// Parses argv into a Command (one with `info` set for --help and --version), or throws
// UsageError.
[[nodiscard]] Command parse_command_line(int argc, char** argv);

// NAME or NAME:INSTANCE of start/stop/restart and logs.
struct Target {
  std::string worker;
  std::optional<unsigned> instance;
};
[[nodiscard]] Target parse_target(const std::string& text);  // throws UsageError

}  // namespace confvisor::ctl
