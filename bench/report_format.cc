#include "bench/report_format.hpp"

#include <cstdio>
#include <iomanip>

namespace confvisor::bench {

namespace json = boost::json;

std::string format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string format_ns(double ns) {
  if (ns < 1e3) return format("%.2f ns", ns);
  if (ns < 1e6) return format("%.2f us", ns / 1e3);
  return format("%.2f ms", ns / 1e6);
}

std::string format_us(double us) {
  return format_ns(us * 1e3);
}

std::string format_ms(double ms) {
  return format_ns(ms * 1e6);
}

std::string format_ratio(double x) {
  return format(x >= 100 ? "%.0fx" : "%.1fx", x);
}

std::string format_kib(long kib) {
  if (kib < 1024) return std::to_string(kib) + " KiB";
  return format("%.1f MiB", static_cast<double>(kib) / 1024);
}

json::object quantity(double value, const char* unit) {
  return {{"value", value}, {"unit", unit}};
}

json::object distribution_json(const Distribution& d, const char* unit) {
  return {{"samples", d.samples},
          {"p50", quantity(d.p50, unit)},
          {"p99", quantity(d.p99, unit)},
          {"max", quantity(d.max, unit)}};
}

void SizeTable::row(const std::string& name, const Cell& cell) const {
  constexpr int kRowWidth = 40;
  constexpr int kCellWidth = 14;
  out_ << std::left << std::setw(kRowWidth) << name << std::right;
  for (const SizeResults& s : sizes_) out_ << std::setw(kCellWidth) << cell(s);
  out_ << "\n";
}

}  // namespace confvisor::bench
