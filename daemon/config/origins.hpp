// Where the values of a merged config document came from: the main file, or one of the
// fragments its "include" patterns named (daemon/config/include.hpp). An error found in the
// merged document names the file an operator has to edit and the pointer inside that file.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace confvisor::config {

class Origins {
 public:
  // A document read from `main_file` alone: every value is where its pointer says.
  explicit Origins(std::string main_file);

  // Adds a fragment; returns its number, for record().
  std::size_t add_file(std::string path);

  // The value at `merged` in the merged document, and everything below it, came from file
  // number `file`, where it is at `pointer`. Replaces what earlier records said of `merged`
  // and of the values below it.
  void record(const std::string& merged, std::size_t file, std::string pointer);

  struct Place {
    const std::string* file;
    std::string pointer;  // inside *file
  };
  // Where the value at `merged` was written.
  [[nodiscard]] Place locate(std::string_view merged) const;
  // The same as an error's prefix: "FILE: /pointer" (the pointer made printable).
  [[nodiscard]] std::string where(std::string_view merged) const;

  // The main file first, then the fragments in the order they were merged.
  [[nodiscard]] const std::vector<std::string>& files() const { return files_; }

  // The files' texts (as parsed, without a byte order mark), one per file, while the load
  // that read them runs; nullptr detaches them. A copy kept beyond the load must detach.
  void attach_texts(const std::vector<std::string>* texts) { texts_ = texts; }
  // "FILE:LINE:COL" of the string value at `merged`, when the texts are attached.
  [[nodiscard]] std::optional<std::string> position(std::string_view merged) const;

 private:
  std::vector<std::string> files_;
  std::map<std::string, std::pair<std::size_t, std::string>, std::less<>> records_;
  const std::vector<std::string>* texts_ = nullptr;
};

}  // namespace confvisor::config
