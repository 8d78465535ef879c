// What confvisorctl needs from a config file to find its daemon: /confvisor/socket and
// /confvisor/segment, read leniently. A file with a syntax error still yields the values
// that come before the error, so an operator whose edit broke the file can still reach the
// daemon (which keeps the last good config) for status, reload and rollback.
#pragma once

#include <optional>
#include <string>

namespace confvisor::ctl {

struct ConfigHints {
  std::string file;                    // as given
  bool read = false;                   // its text was read (a problem is then in the text)
  std::optional<std::string> problem;  // why it could not be read whole ("FILE:3:7: syntax error")
  std::optional<std::string> socket;   // /confvisor/socket, if read before any error
  std::optional<std::string> segment;  // /confvisor/segment, likewise
};

// Never throws for a bad file: what is wrong with it is in `problem`. The file must be a
// regular file (a FIFO is refused, not waited on) of at most 64 MiB.
[[nodiscard]] ConfigHints read_config_hints(const std::string& file);

}  // namespace confvisor::ctl
