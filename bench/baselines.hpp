// The ways of sharing a config that confvisor replaces, each reduced to its read path, so
// the benchmarks compare Reader::current() with what a worker would otherwise do per read.
// All of them hold the same minified text the segment holds.
#pragma once

#include <boost/interprocess/sync/interprocess_sharable_mutex.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bench/cleanup.hpp"
#include "bench/shared_mapping.hpp"

namespace confvisor::bench {

// The seed approach (Python jsonmmap): a length-prefixed JSON string in a shared mapping,
// no lock. Every read copies the text out, then parses it.
class SeedMapping {
 public:
  explicit SeedMapping(std::string_view text);
  [[nodiscard]] std::string copy() const;

 private:
  // The text follows the header.
  struct Layout {
    std::uint64_t size;
  };
  SharedMapping mapping_;
  const Layout* layout_;
};

// The same text guarded by an interprocess_sharable_mutex in a shared mapping: a reader
// copies it under the sharable (read) lock, so it never sees a torn write.
class LockedMapping {
 public:
  explicit LockedMapping(std::string_view text);
  ~LockedMapping();
  LockedMapping(const LockedMapping&) = delete;
  LockedMapping& operator=(const LockedMapping&) = delete;
  [[nodiscard]] std::string copy();

 private:
  // The text follows the header.
  struct Layout {
    boost::interprocess::interprocess_sharable_mutex mutex;
    std::uint64_t size;
  };
  SharedMapping mapping_;
  Layout* layout_;
};

// The text in a temporary file that every read opens and reads whole (from the page cache,
// in practice: this is the cheapest a re-read can be).
class TempFile {
 public:
  explicit TempFile(std::string_view text);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  [[nodiscard]] std::string read() const;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
  UnlinkOnSignal cleanup_;
};

// How every baseline parses: what a worker without confvisor would call.
[[nodiscard]] boost::json::value parse_config(std::string_view text);

}  // namespace confvisor::bench
