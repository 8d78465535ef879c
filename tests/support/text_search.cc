#include "tests/support/text_search.hpp"

#include <cstdio>
#include <ctime>
#include <sstream>

#include "common/base/error.hpp"

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

long long stamp_ms(const std::string& line) {
  tm t{};
  int ms = 0;
  if (std::sscanf(line.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &t.tm_year, &t.tm_mon, &t.tm_mday,
                  &t.tm_hour, &t.tm_min, &t.tm_sec, &ms) != 7) {
    throw Error("no timestamp in log line: " + line);
  }
  t.tm_year -= 1900;
  t.tm_mon -= 1;
  return static_cast<long long>(::timegm(&t)) * 1000 + ms;
}

}  // namespace confvisor::test
