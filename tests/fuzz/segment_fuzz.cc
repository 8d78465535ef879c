// libFuzzer target: a reader's validation of a corrupted segment. The image of a real
// segment (three generations published by the real Publisher) is patched with the input and
// put under a shm name of its own; SegmentView then maps it read-only, validates the header
// and reads the current generation. A corrupt segment must give an Error, never a crash, a
// hang or a read outside the mapping (ASan), and what it accepts must be a verified record.
//
// Input: byte 0 selects a size change of the object (bit 0: cut it to bytes 1-2 as a
// little-endian length; bit 1: grow it by that many bytes); then patches of
// [offset: 2 bytes, little-endian, modulo the image size][length: 1 byte][that many bytes].
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/os/unique_fd.hpp"
#include "common/publish/publisher.hpp"
#include "common/segment/name.hpp"
#include "common/segment/view.hpp"
#include "confvisor/error.hpp"

namespace {

// A broken promise is a crash, so libFuzzer keeps the input that shows it.
void require(bool promise) {
  if (!promise) std::abort();
}

std::string read_object(const std::string& path) {
  confvisor::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  require(static_cast<bool>(fd));
  std::string bytes;
  char buf[64 * 1024];
  for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) > 0;) bytes.append(buf, n);
  return bytes;
}

// The bytes of a freshly published 64 KiB segment, built once per process.
const std::string& pristine_image() {
  static const std::string image = [] {
    const std::string name = "fuzz-src-" + std::to_string(::getpid());
    std::string bytes;
    {
      confvisor::Publisher publisher({.segment = name, .initial_size = 64u << 10, .history = 2});
      publisher.publish(R"({"a": 1})", "fuzz:1");
      publisher.publish(R"({"a": [1, 2, {"b": "two"}], "c": null})", "fuzz:2");
      publisher.publish(R"({"database": {"host": "db1", "port": 5432}, "s": "é\u0000"})", "fuzz:3");
      bytes = read_object(confvisor::SegmentNames(name).path);
    }
    confvisor::Publisher::remove(name);
    return bytes;
  }();
  return image;
}

// The object the reader maps: /dev/shm/confvisor.fuzz-img-PID, rewritten for each input.
const confvisor::SegmentNames& target_names() {
  static const confvisor::SegmentNames names("fuzz-img-" + std::to_string(::getpid()));
  static const bool cleanup = std::atexit([] { ::shm_unlink(target_names().shm.c_str()); }) == 0;
  (void)cleanup;
  return names;
}

std::string mutated_image(const std::uint8_t* data, std::size_t size) {
  std::string image = pristine_image();
  if (size == 0) return image;
  const std::uint8_t flags = data[0];
  std::size_t at = 1;
  if ((flags & 3) != 0 && size >= 3) {
    const std::size_t length = data[1] | (std::size_t{data[2]} << 8);
    if (flags & 1) {
      image.resize(std::min(image.size(), length));
    } else {
      image.append(length, '\0');
    }
    at = 3;
  }
  while (at + 3 <= size && !image.empty()) {
    const std::size_t offset = (data[at] | (std::size_t{data[at + 1]} << 8)) % image.size();
    const std::size_t length = data[at + 2];
    at += 3;
    for (std::size_t i = 0; i < length && at < size && offset + i < image.size(); ++i, ++at) {
      image[offset + i] = static_cast<char>(data[at]);
    }
  }
  return image;
}

void install(const std::string& image) {
  const confvisor::SegmentNames& names = target_names();
  confvisor::UniqueFd fd(::shm_open(names.shm.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  require(static_cast<bool>(fd));
  require(::ftruncate(fd.get(), static_cast<off_t>(image.size())) == 0);
  require(::pwrite(fd.get(), image.data(), image.size(), 0) == static_cast<ssize_t>(image.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  install(mutated_image(data, size));
  try {
    const confvisor::SegmentView view(target_names());
    const auto record = view.read_current();
    if (record) {
      require(record->generation != 0);
      require(record->text().size() <= record->bytes.size());
    }
  } catch (const confvisor::Error&) {
    // A corrupt segment is refused: what the reader promises.
  }
  return 0;
}
