// The files that sign a client in to etcd (a CA, a client certificate and its key, a password
// file), read the same way by the daemon's validation of /confvisor/source/etcd and by
// `confvisorctl push`.
#pragma once

#include <string>

namespace confvisor::config {

// Throws Error naming `path` unless it is a regular file of at most 1 MiB that can be read
// now: a config (or a command line) that names a missing one is refused before any request.
void check_credential_file(const std::string& path);

// The password in `path`: its first line, without the line end. Throws Error naming the file
// when it cannot be read, or the line is empty or holds a NUL byte. A file every user may
// read gives the password away: that is logged as a warning, as ssh says of a key.
[[nodiscard]] std::string read_password_file(const std::string& path);

}  // namespace confvisor::config
