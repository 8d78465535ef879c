// Deterministic, realistic configs of an exact size for the benchmarks: the same shape a
// confvisord deployment publishes (the daemon's own section, a database block, then an array
// of service objects with strings, numbers, booleans, arrays and nested objects).
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

namespace confvisor::bench {

struct GeneratedConfig {
  std::string text;               // minified JSON, exactly the requested size
  std::string deep_pointer;       // JSON pointer to an integer deep inside the last service
  std::int64_t deep_value = 0;    // what deep_pointer resolves to
  std::size_t serial_offset = 0;  // where the fixed-width "serial" digits start in text
  std::size_t services = 0;
};

// Same target, same bytes, on every run and machine. Throws std::runtime_error if the
// target is too small for the daemon section plus one service (about 1 KiB).
[[nodiscard]] GeneratedConfig generate_config(std::size_t target_bytes);
// The same with `section` as the "confvisor" section: a config a real confvisord can
// run with (the default section names a segment "bench" and a worker that does not exist).
[[nodiscard]] GeneratedConfig generate_config(std::size_t target_bytes,
                                              boost::json::object section);

// Rewrites the fixed-width "serial" value in place: each publish of the latency harness is
// then a real change of the document, without changing its size.
void set_serial(GeneratedConfig& config, std::uint64_t serial);

// "1KiB", "64KiB", "1MiB": the labels used as keys in the report and the JSON output.
[[nodiscard]] std::string size_label(std::size_t bytes);

}  // namespace confvisor::bench
