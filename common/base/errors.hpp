// Errors: every problem found in one input, for the checks that go on past the first one so
// that its author can fix them all at once (a config file, a reload's limits). A failure that
// stops at once throws Error instead (common/base/error.hpp).
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace confvisor {

// The lines in the order found, each a single line that names its place ("FILE:LINE:COL:
// message", "FILE: /json/pointer: message"). It reads as a list of strings (begin, end, size,
// front, operator[]) wherever one is wanted.
class Errors {
 public:
  using value_type = std::string;
  using const_iterator = std::vector<std::string>::const_iterator;

  Errors() = default;
  Errors(std::initializer_list<std::string> lines) : lines_(lines) {}

  void add(std::string line) { lines_.push_back(std::move(line)); }
  void add(const Errors& more) { lines_.insert(lines_.end(), more.begin(), more.end()); }

  [[nodiscard]] bool empty() const { return lines_.empty(); }
  [[nodiscard]] std::size_t size() const { return lines_.size(); }
  [[nodiscard]] const std::string& front() const { return lines_.front(); }
  [[nodiscard]] const std::string& operator[](std::size_t i) const { return lines_[i]; }
  [[nodiscard]] const_iterator begin() const { return lines_.begin(); }
  [[nodiscard]] const_iterator end() const { return lines_.end(); }

  // The lines joined by `separator` ("\n" for a reply, "; " for a log line).
  [[nodiscard]] std::string joined(std::string_view separator) const;

  [[nodiscard]] const std::vector<std::string>& lines() const { return lines_; }
  // NOLINTNEXTLINE(google-explicit-constructor): a list of lines is what callers compare with.
  operator const std::vector<std::string>&() const { return lines_; }

 private:
  std::vector<std::string> lines_;
};

}  // namespace confvisor
