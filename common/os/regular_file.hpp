// Reading a file that a process which must never wait was told to read (the daemon reads its
// config file on its event loop): the path may name a FIFO, a device, a directory or a
// socket, and a regular file may grow while it is read.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace confvisor {

// Why a file was not read. Each caller words it for its readers.
enum class FileRefusal {
  none,         // it was read
  unreadable,   // it cannot be opened or read: `error` says why
  not_regular,  // it is no regular file: `status.st_mode` says what it is
  too_large,    // it has more than the limit: `status.st_size`, unless that is within the
                // limit, in which case the file grew while it was read
};

struct RegularFile {
  FileRefusal refusal = FileRefusal::none;
  std::string text;       // none: the whole file
  int error = 0;          // unreadable: the errno of the call that failed
  struct stat status {};  // none, not_regular, too_large: what stat said of the file
};

// Reads `path` whole if it is a regular file of at most `max_size` bytes; never throws. The
// open does not block (a FIFO without a writer would hold it forever, a device could), and
// only a regular file is read, whose reads never wait for another process. Its size is
// checked before reading it, so a huge file costs nothing, and one that grows meanwhile is
// refused once more than `max_size` bytes of it were read.
[[nodiscard]] RegularFile read_regular_file(const std::string& path, std::size_t max_size);

// What a file of type `mode` that is not a regular file is, in an operator's words: "a
// FIFO", "a directory", "a socket", "a character device", "a block device" or "of an unknown
// type".
[[nodiscard]] std::string_view file_type_name(mode_t mode) noexcept;

}  // namespace confvisor
