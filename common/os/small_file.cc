#include "common/os/small_file.hpp"

#include <fcntl.h>

#include "common/os/read_to_end.hpp"
#include "common/os/unique_fd.hpp"

namespace confvisor {

std::optional<std::string> read_small_file(const std::string& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  std::string text;
  if (read_to_end(fd.get(), text) != ReadEnd::end_of_file) return std::nullopt;
  return text;
}

}  // namespace confvisor
