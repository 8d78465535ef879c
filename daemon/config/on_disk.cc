#include "daemon/config/on_disk.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <chrono>

#include "daemon/config/include.hpp"
#include "daemon/config/model.hpp"

namespace confvisor::config {

namespace {

std::chrono::system_clock::time_point time_of(const timespec& t) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec)));
}

// File timestamps come from a coarse clock (a tick of up to 10 ms): a second write within
// the tick of the one we read would leave them as they were. A reading is trusted only once
// the last change of every file it read is older than this before it was taken (git's
// "racy" entries).
constexpr std::chrono::seconds kTimestampSlack{1};

}  // namespace

bool ConfigOnDisk::Identity::operator==(const Identity& o) const {
  return dev == o.dev && ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
         mtime.tv_nsec == o.mtime.tv_nsec && ctime.tv_sec == o.ctime.tv_sec &&
         ctime.tv_nsec == o.ctime.tv_nsec;
}

ConfigOnDisk::Stamp ConfigOnDisk::stamp_of(const std::string& path) const {
  Stamp stamp;
  auto add = [&](const std::string& file) {
    struct stat st {};
    std::optional<Identity> identity;
    if (::stat(file.c_str(), &st) == 0) {
      identity = Identity{st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim};
    }
    stamp.files.emplace_back(file, identity);
  };
  add(path);
  if (include_.empty()) return stamp;
  const IncludedFiles included = expand_includes(path, include_);
  for (const std::string& file : included.paths) add(file);
  stamp.include_errors = included.errors.joined("\n");
  return stamp;
}

const ConfigOnDisk::Reading& ConfigOnDisk::read(const std::string& path, std::size_t max_size) {
  if (stamp_ && path == path_ && stamp_of(path) == *stamp_) return last_;
  path_ = path;
  stamp_.reset();
  // Stamped before and after the read: the reading is trusted only if no file came, went or
  // changed meanwhile (a change has a newer timestamp, which the slack does not trust).
  const auto taken = std::chrono::system_clock::now();
  const Stamp before = stamp_of(path);
  LoadResult loaded = load_config(path, max_size);
  include_ = std::move(loaded.include);
  Stamp after = stamp_of(path);
  const bool settled = std::all_of(after.files.begin(), after.files.end(), [&](const auto& file) {
    const std::optional<Identity>& id = file.second;
    return !id || std::max(time_of(id->mtime), time_of(id->ctime)) + kTimestampSlack < taken;
  });
  if (settled && after == before) stamp_ = std::move(after);
  if (loaded.config) {
    last_ = {boost::json::serialize(loaded.config->document), {}};
  } else {
    last_ = {std::nullopt, loaded.errors.empty() ? path + ": refused" : loaded.errors.front()};
  }
  return last_;
}

}  // namespace confvisor::config
