// How the summary and the JSON output write numbers, shared by the report of the
// in-process and latency figures (report.cc) and that of the daemon figures
// (daemon_report.cc).
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "bench/distribution.hpp"
#include "bench/report.hpp"

namespace confvisor::bench {

[[nodiscard]] std::string format(const char* fmt, double v);
[[nodiscard]] std::string format_ns(double ns);  // "3.02 ns", "1.38 us", "26.40 ms"
[[nodiscard]] std::string format_us(double us);
[[nodiscard]] std::string format_ms(double ms);
[[nodiscard]] std::string format_ratio(double x);  // "138494x", "1.5x"
[[nodiscard]] std::string format_kib(long kib);    // "3.1 MiB", "812 KiB"

// {"value": v, "unit": u}: how every figure appears in the JSON output.
[[nodiscard]] boost::json::object quantity(double value, const char* unit);
// {"samples": n, "p50": quantity, "p99": quantity, "max": quantity}
[[nodiscard]] boost::json::object distribution_json(const Distribution& d, const char* unit);

// The summary's table: one row per figure, one column per config size.
class SizeTable {
 public:
  using Cell = std::function<std::string(const SizeResults&)>;
  SizeTable(std::ostream& out, const std::vector<SizeResults>& sizes) : out_(out), sizes_(sizes) {}
  void row(const std::string& name, const Cell& cell) const;
  [[nodiscard]] std::ostream& out() const { return out_; }

 private:
  std::ostream& out_;
  const std::vector<SizeResults>& sizes_;
};

}  // namespace confvisor::bench
