#include "tests/support/text_search.hpp"

#include <sstream>

namespace confvisor::test {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<std::string> log_lines(const std::string& log, const std::string& needle) {
  std::vector<std::string> out;
  for (std::string& line : lines_of(log)) {
    if (contains(line, needle)) out.push_back(std::move(line));
  }
  return out;
}

std::size_t count_lines(const std::string& log, const std::string& needle) {
  return log_lines(log, needle).size();
}

std::string tail(const std::string& text, std::size_t n) {
  return text.size() <= n ? text : "...\n" + text.substr(text.size() - n);
}

}  // namespace confvisor::test
