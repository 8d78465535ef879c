// A private directory for one test or one daemon run: its config files, sockets and logs.
// Removed with everything in it when it goes out of scope.
#pragma once

#include <string>
#include <string_view>

namespace confvisor::test {

class TempDir {
 public:
  // /tmp/confvisor-TAG-XXXXXX. Throws Error if it cannot be made.
  explicit TempDir(std::string_view tag = "test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }
  // path()/NAME.
  [[nodiscard]] std::string file(std::string_view name) const;
  // Replaces path()/NAME by `content` through a temporary (NAME.tmp) and a rename, so that a
  // daemon reading it on SIGHUP sees the old file or the new one, never half of one; returns
  // the full path. Throws Error on a write error.
  std::string write(std::string_view name, std::string_view content) const;

 private:
  std::string path_;
};

}  // namespace confvisor::test
