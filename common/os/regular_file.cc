#include "common/os/regular_file.hpp"

#include <fcntl.h>

#include <cerrno>
#include <cstdint>

#include "common/os/read_to_end.hpp"
#include "common/os/unique_fd.hpp"

namespace confvisor {
namespace {

RegularFile refused(FileRefusal why, const struct stat& status) {
  RegularFile file;
  file.refusal = why;
  file.status = status;
  return file;
}

RegularFile unreadable(int error) {
  RegularFile file;
  file.refusal = FileRefusal::unreadable;
  file.error = error;
  return file;
}

}  // namespace

RegularFile read_regular_file(const std::string& path, std::size_t max_size) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  struct stat status {};
  if (!fd) {
    // A socket cannot be opened at all (ENXIO): name what it is rather than the errno.
    const int open_error = errno;
    if (::stat(path.c_str(), &status) == 0 && !S_ISREG(status.st_mode)) {
      return refused(FileRefusal::not_regular, status);
    }
    return unreadable(open_error);
  }
  if (::fstat(fd.get(), &status) != 0) return unreadable(errno);
  if (!S_ISREG(status.st_mode)) return refused(FileRefusal::not_regular, status);
  if (static_cast<std::uintmax_t>(status.st_size) > max_size) {
    return refused(FileRefusal::too_large, status);
  }
  RegularFile file;
  file.status = status;
  switch (read_to_end(fd.get(), file.text, max_size)) {
    case ReadEnd::end_of_file:
      return file;
    case ReadEnd::over_limit:
      return refused(FileRefusal::too_large, status);
    case ReadEnd::failed:
      return unreadable(errno);
  }
  return unreadable(EIO);
}

std::string_view file_type_name(mode_t mode) noexcept {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "of an unknown type";
}

}  // namespace confvisor
