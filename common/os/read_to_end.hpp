// Reading an open file from its offset to its end: the one read loop of every reader of
// whole files (small_file.hpp, regular_file.hpp).
#pragma once

#include <cstddef>
#include <limits>
#include <string>

namespace confvisor {

enum class ReadEnd {
  end_of_file,  // all of it was read
  over_limit,   // more than the limit was there; the rest is unread
  failed,       // a read failed other than by EINTR; errno says why
};

// Appends what `fd` holds onto `text` and stops at the end of the file, or as soon as `text`
// holds more than `limit` bytes (a read's worth more at the most), so that a file larger than
// the limit costs no more than the limit to refuse. Retries reads that a signal interrupted.
[[nodiscard]] ReadEnd read_to_end(int fd, std::string& text,
                                  std::size_t limit = std::numeric_limits<std::size_t>::max());

}  // namespace confvisor
