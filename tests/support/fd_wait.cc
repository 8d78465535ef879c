#include "tests/support/fd_wait.hpp"

#include <poll.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace confvisor::test {

std::vector<bool> wait_readable(std::initializer_list<int> fds, std::chrono::milliseconds timeout) {
  std::vector<pollfd> polled;
  for (int fd : fds) polled.push_back(pollfd{fd, POLLIN, 0});
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Rounded up: a 0 ms poll on a sub-millisecond remainder would return early.
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    const int ms = left.count() <= 0 ? 0 : static_cast<int>(left.count());
    const int n = ::poll(polled.data(), polled.size(), ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(std::string("poll failed: ") + std::strerror(errno));
    std::vector<bool> ready(polled.size());
    for (std::size_t i = 0; i < polled.size(); ++i) ready[i] = polled[i].revents != 0;
    return ready;
  }
}

}  // namespace confvisor::test
