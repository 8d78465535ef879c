// The daemon-level figures (daemon_bench.hpp, supervision_bench.hpp) in the summary and in
// the JSON output, and their targets: an idle daemon makes no wakeups (0 context switches
// and 0 CPU ticks over the window), with and without idle workers.
#pragma once

#include <boost/json/object.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "bench/report.hpp"
#include "bench/report_format.hpp"

namespace confvisor::bench {

[[nodiscard]] bool measured_daemon(const std::vector<SizeResults>& sizes);

// Rows of the per-size table, and the notes they refer to.
void print_daemon_rows(const SizeTable& table);
void print_daemon_notes(std::ostream& out, const std::vector<SizeResults>& sizes);
// Its own section: the supervision figures do not depend on the config size.
void print_supervision(std::ostream& out, const SupervisionFigures& figures);

[[nodiscard]] std::vector<TargetCheck> daemon_targets(const Results& results);
// Units of targets that count whole things ("switches", "ticks").
[[nodiscard]] bool is_count_unit(const std::string& unit);

[[nodiscard]] boost::json::object daemon_json(const DaemonSizeFigures& figures);
[[nodiscard]] boost::json::object supervision_json(const SupervisionFigures& figures);

}  // namespace confvisor::bench
