#include "daemon/core/state_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "common/base/error.hpp"
#include "common/os/regular_file.hpp"
#include "common/os/unique_fd.hpp"
#include "daemon/config/model.hpp"

namespace confvisor::daemon {

StateFile::StateFile(const std::string& state_dir, const std::string& name)
    : dir_(state_dir), path_(state_dir + "/" + name) {}

void StateFile::prepare() const {
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    throw_sys("state_dir " + dir_ + ": unable to create it");
  }
  struct stat st {};
  if (::stat(dir_.c_str(), &st) != 0) throw_sys("state_dir " + dir_);
  if (!S_ISDIR(st.st_mode)) {
    throw Error("state_dir " + dir_ + ": not a directory (" +
                std::string(file_type_name(st.st_mode)) + ")");
  }
  if (::access(dir_.c_str(), W_OK | X_OK) != 0) {
    throw_sys("state_dir " + dir_ + ": unable to write in it");
  }
}

void StateFile::write(std::string_view text) const {
  const std::string temp = path_ + ".tmp";
  // A temporary file left by a crash is ours to replace; O_NOFOLLOW keeps a symlink planted
  // in its place from redirecting the write.
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) throw_sys(temp + ": unable to create it");
  if (::fchmod(fd.get(), 0600) != 0) throw_sys(temp + ": chmod");
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::unlink(temp.c_str());
      throw_sys(temp + ": write", err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    throw_sys(temp + ": fsync", err);
  }
  fd.reset();
  if (::rename(temp.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    throw_sys(path_ + ": rename", err);
  }
  const UniqueFd dir(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir || ::fsync(dir.get()) != 0) throw_sys(dir_ + ": fsync of the directory");
}

std::optional<std::string> StateFile::read(std::size_t max_size) const {
  RegularFile file = read_regular_file(path_, max_size);
  if (file.refusal == FileRefusal::unreadable && file.error == ENOENT) return std::nullopt;
  if (file.refusal != FileRefusal::none) {
    throw Error(path_ + ": " + config::file_refusal(file, max_size));
  }
  return std::move(file.text);
}

}  // namespace confvisor::daemon
