#include "bench/baselines.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/interprocess/sync/sharable_lock.hpp>
#include <boost/json/parse.hpp>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

#include "common/os/unique_fd.hpp"

namespace confvisor::bench {

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("unable to " + what + ": " + std::strerror(errno));
}

template <class Layout>
char* text_of(Layout* layout) {
  return reinterpret_cast<char*>(layout + 1);
}
template <class Layout>
const char* text_of(const Layout* layout) {
  return reinterpret_cast<const char*>(layout + 1);
}

}  // namespace

SeedMapping::SeedMapping(std::string_view text) : mapping_(sizeof(Layout) + text.size()) {
  auto* layout = new (mapping_.address()) Layout{text.size()};
  std::memcpy(text_of(layout), text.data(), text.size());
  layout_ = layout;
}

std::string SeedMapping::copy() const {
  return std::string(text_of(layout_), layout_->size);
}

LockedMapping::LockedMapping(std::string_view text) : mapping_(sizeof(Layout) + text.size()) {
  layout_ = new (mapping_.address()) Layout{};
  layout_->size = text.size();
  std::memcpy(text_of(layout_), text.data(), text.size());
}

LockedMapping::~LockedMapping() {
  layout_->~Layout();
}

std::string LockedMapping::copy() {
  boost::interprocess::sharable_lock<boost::interprocess::interprocess_sharable_mutex> lock(
      layout_->mutex);
  return std::string(text_of(layout_), layout_->size);
}

namespace {

std::string make_temp_file(std::string_view text) {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") +
                     "/confvisor-bench-" + std::to_string(::getpid()) + "-XXXXXX";
  const UniqueFd fd(::mkostemp(path.data(), O_CLOEXEC));
  if (!fd) fail("create a temporary file " + path);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::unlink(path.c_str());
      errno = err;
      fail("write " + path);
    }
    done += static_cast<std::size_t>(n);
  }
  return path;
}

}  // namespace

TempFile::TempFile(std::string_view text) : path_(make_temp_file(text)), cleanup_(path_) {}

TempFile::~TempFile() {
  ::unlink(path_.c_str());
}

std::string TempFile::read() const {
  const UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) fail("open " + path_);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail("stat " + path_);
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("read " + path_);
    if (n == 0) break;  // shrank under us: return what is there
    done += static_cast<std::size_t>(n);
  }
  text.resize(done);
  return text;
}

boost::json::value parse_config(std::string_view text) {
  return boost::json::parse(text);
}

}  // namespace confvisor::bench
