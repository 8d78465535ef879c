// confvisorctl's human-readable output: left-aligned columns sized to their widest cell.
#pragma once

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

namespace confvisor::ctl {

class Table {
 public:
  explicit Table(std::vector<std::string> headings);
  void add(std::vector<std::string> row);
  void print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;  // headings first
};

// "3d 4h", "2h 5m", "4m 10s", "12s": the two largest units, as ps and systemctl show ages.
[[nodiscard]] std::string format_uptime(std::chrono::milliseconds uptime);

}  // namespace confvisor::ctl
