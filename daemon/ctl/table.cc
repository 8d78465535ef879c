#include "daemon/ctl/table.hpp"

#include <algorithm>

namespace confvisor::ctl {

Table::Table(std::vector<std::string> headings) {
  rows_.push_back(std::move(headings));
}

void Table::add(std::vector<std::string> row) {
  row.resize(rows_.front().size());
  rows_.push_back(std::move(row));
}

void Table::print(std::ostream& out) const {
  std::vector<std::size_t> widths(rows_.front().size(), 0);
  for (const auto& row : rows_) {
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  for (const auto& row : rows_) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(widths[c] - row[c].size() + 2, ' ');
    }
    out << line << '\n';
  }
}

std::string format_uptime(std::chrono::milliseconds uptime) {
  struct Unit {
    const char* suffix;
    long long seconds;
  };
  static constexpr Unit kUnits[] = {{"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}};
  long long left = uptime.count() / 1000;
  std::string out;
  int shown = 0;
  for (const Unit& u : kUnits) {
    const long long n = left / u.seconds;
    if (n == 0 && shown == 0 && u.seconds != 1) continue;
    if (shown == 2) break;
    out += (shown ? " " : "") + std::to_string(n) + u.suffix;
    left -= n * u.seconds;
    ++shown;
  }
  return out;
}

}  // namespace confvisor::ctl
