// The Prometheus text exposition format, version 0.0.4: what /metrics answers with.
//
// A metric family is announced once, by its HELP and TYPE lines, and its samples follow it
// at once; label values and help texts are escaped as the format says, so no value taken from
// the config or from a worker can end a line or a quoted string early.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace confvisor::http {

// The Content-Type of the format.
inline constexpr std::string_view kExpositionContentType =
    "text/plain; version=0.0.4; charset=utf-8";

using Labels = std::vector<std::pair<std::string_view, std::string>>;

class Exposition {
 public:
  // "# HELP NAME HELP" and "# TYPE NAME TYPE" (counter, gauge, ...); the family's samples
  // come next.
  void family(std::string_view name, std::string_view type, std::string_view help);
  // "NAME{LABEL="VALUE",...} VALUE". Counters and sizes are integers, written exactly.
  void sample(std::string_view name, const Labels& labels, std::uint64_t value);
  // Times and other fractions, in the shortest text that reads back as the same double.
  void sample(std::string_view name, const Labels& labels, double value);

  [[nodiscard]] const std::string& text() const { return text_; }

 private:
  void begin_sample(std::string_view name, const Labels& labels);

  std::string text_;
};

// A label value as the format quotes it: backslash, double quote and newline escaped.
[[nodiscard]] std::string escape_label_value(std::string_view value);

}  // namespace confvisor::http
