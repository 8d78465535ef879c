#include "tests/support/temp_dir.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "common/base/error.hpp"
#include "common/os/unique_fd.hpp"

namespace confvisor::test {

namespace {

std::string make_directory(std::string_view tag) {
  std::string templ = "/tmp/confvisor-" + std::string(tag) + "-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) throw_sys("create a directory like " + templ);
  return templ;
}

void write_all(int fd, std::string_view content, const std::string& path) {
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys("write " + path);
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

TempDir::TempDir(std::string_view tag) : path_(make_directory(tag)) {}

TempDir::~TempDir() {
  std::error_code ignored;  // a destructor must not throw; what is left is named and small
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::file(std::string_view name) const {
  return path_ + "/" + std::string(name);
}

std::string TempDir::write(std::string_view name, std::string_view content) const {
  const std::string target = file(name);
  const std::string tmp = target + ".tmp";
  {
    // 0666 less the umask, as any file a user writes: a test may read it as another user.
    const UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
    if (!fd) throw_sys("create " + tmp);
    write_all(fd.get(), content, tmp);
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) throw_sys("rename " + tmp + " to " + target);
  return target;
}

}  // namespace confvisor::test
