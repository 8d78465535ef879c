#include "bench/temp_dir.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "common/os/unique_fd.hpp"

namespace confvisor::bench {

namespace {

std::string make_directory(std::string_view tag) {
  std::string templ =
      "/tmp/confvisor-bench-" + std::to_string(::getpid()) + "-" + std::string(tag) + "-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    throw std::runtime_error("unable to create a directory like " + templ + ": " +
                             std::strerror(errno));
  }
  return templ;
}

std::string temporary_name(const std::string& path) {
  return path + ".tmp";
}

}  // namespace

TempDir::TempDir(std::string_view tag)
    : path_(make_directory(tag)), dir_(path_, PathKind::kDirectory) {}

TempDir::~TempDir() {
  std::error_code ignored;  // a destructor must not throw; what is left is named and small
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::file(std::string_view name) {
  std::string path = path_ + "/" + std::string(name);
  files_.emplace_back(path);
  files_.emplace_back(temporary_name(path));
  return path;
}

void TempDir::write(const std::string& path, std::string_view content) {
  const std::string tmp = temporary_name(path);
  {
    const UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) throw std::runtime_error("unable to create " + tmp + ": " + std::strerror(errno));
    std::size_t done = 0;
    while (done < content.size()) {
      const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw std::runtime_error("unable to write " + tmp + ": " + std::strerror(errno));
      done += static_cast<std::size_t>(n);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    throw std::runtime_error("unable to rename " + tmp + " to " + path + ": " +
                             std::strerror(errno));
  }
}

}  // namespace confvisor::bench
