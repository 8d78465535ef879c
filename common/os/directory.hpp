// The names in a directory, read at once, so no DIR* outlives the call whatever its caller
// throws afterwards.
#pragma once

#include <string>
#include <vector>

namespace confvisor {

// Every entry but "." and ".."; empty when the directory cannot be opened (the callers scan
// /proc and /dev/shm, where that means there is nothing of ours to find).
[[nodiscard]] std::vector<std::string> directory_entries(const std::string& path);

}  // namespace confvisor
