#include "common/os/read_to_end.hpp"

#include <unistd.h>

#include <cerrno>

namespace confvisor {

ReadEnd read_to_end(int fd, std::string& text, std::size_t limit) {
  char buffer[64 * 1024];
  while (text.size() <= limit) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ReadEnd::failed;
    if (n == 0) return ReadEnd::end_of_file;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return ReadEnd::over_limit;
}

}  // namespace confvisor
