// Reading the small files of /proc and cgroupfs whole.
#pragma once

#include <optional>
#include <string>

namespace confvisor {

// The whole of a small file (a /proc or cgroup file), or nullopt if it cannot be opened or
// read. A process that exits while its /proc files are read makes read() fail with ESRCH:
// that is an answer (the process is gone), not an error, so nothing here throws. A stream
// would throw it out of its istreambuf_iterator instead.
[[nodiscard]] std::optional<std::string> read_small_file(const std::string& path);

}  // namespace confvisor
