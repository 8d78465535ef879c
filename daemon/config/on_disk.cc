#include "daemon/config/on_disk.hpp"

#include <boost/json/serialize.hpp>
#include <chrono>

#include "common/os/regular_file.hpp"
#include "daemon/config/model.hpp"

namespace confvisor::config {

namespace {

ConfigOnDisk::Reading refusal(std::string why) {
  return {std::nullopt, std::move(why)};
}

std::chrono::system_clock::time_point time_of(const timespec& t) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec)));
}

// File timestamps come from a coarse clock (a tick of up to 10 ms): a second write within
// the tick of the one we read would leave them as they were. A reading is trusted only once
// the file's last change is older than this before it was taken (git's "racy" entries).
constexpr std::chrono::seconds kTimestampSlack{1};

}  // namespace

bool ConfigOnDisk::Identity::operator==(const Identity& o) const {
  return dev == o.dev && ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
         mtime.tv_nsec == o.mtime.tv_nsec && ctime.tv_sec == o.ctime.tv_sec &&
         ctime.tv_nsec == o.ctime.tv_nsec;
}

const ConfigOnDisk::Reading& ConfigOnDisk::read(const std::string& path, std::size_t max_size) {
  struct stat st {};
  if (identity_ && path == path_ && ::stat(path.c_str(), &st) == 0 &&
      *identity_ == Identity{st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim}) {
    return last_;
  }
  path_ = path;
  identity_.reset();
  last_ = read_now(path, max_size);
  return last_;
}

ConfigOnDisk::Reading ConfigOnDisk::read_now(const std::string& path, std::size_t max_size) {
  const auto taken = std::chrono::system_clock::now();
  const RegularFile file = read_regular_file(path, max_size);
  // The one refusal worded more briefly than a reload words it: no file type is named.
  if (file.refusal == FileRefusal::not_regular) return refusal(path + ": not a regular file");
  if (file.refusal != FileRefusal::none) return refusal(path + ": " + file_refusal(file, max_size));

  const struct stat& st = file.status;
  const Identity identity{st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim};
  const auto changed = std::max(time_of(st.st_mtim), time_of(st.st_ctim));
  if (changed + kTimestampSlack < taken) identity_ = identity;

  LoadResult loaded = load_config_text(file.text, path);
  if (!loaded.config)
    return refusal(loaded.errors.empty() ? path + ": refused" : loaded.errors.front());
  return {boost::json::serialize(loaded.config->document), {}};
}

}  // namespace confvisor::config
