#include "bench/report.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iomanip>
#include <stdexcept>

#include "bench/daemon_report.hpp"
#include "bench/report_format.hpp"

namespace confvisor::bench {

namespace json = boost::json;

namespace {

// Every in-process metric, in report order, with the words the summary and the JSON use.
struct MetricInfo {
  std::string id;  // key of InProcessFigures
  const char* row;
  const char* description;
};
const std::vector<MetricInfo>& metrics() {
  static const std::vector<MetricInfo> all = {
      {std::string(kCurrentUnchanged) + "_1thread", "current() unchanged, 1 thread",
       "Reader::current() when nothing changed, 1 thread"},
      {std::string(kCurrentUnchanged) + "_2threads", "current() unchanged, 2 threads (a)",
       "Reader::current() when nothing changed, 2 threads sharing one Reader; wall time of one "
       "call as one thread sees it"},
      {kTypedGet, "typed get by JSON pointer",
       "reader.current().get<std::int64_t>(deep pointer into the last service)"},
      {kSeedCopyParse, "seed: copy out of mmap + parse",
       "the jsonmmap approach: copy the length-prefixed text out of a shared mapping and "
       "boost::json::parse it, per read"},
      {kFileRereadParse, "re-read temp file + parse",
       "open, read whole and close a temporary file (page cache), then parse, per read"},
      {kSharableCopyParse, "sharable lock + copy + parse",
       "copy the text under an interprocess_sharable_mutex (sharable lock), then parse, per read"},
      {kSharableCopy, "sharable lock + copy (no parse)",
       "copy the text under an interprocess_sharable_mutex (sharable lock), per read"},
  };
  return all;
}

const LatencyResult* latency_for(const SizeResults& size, std::size_t readers) {
  for (const LatencyResult& l : size.latency) {
    if (l.readers == readers) return &l;
  }
  return nullptr;
}

const InProcessFigure* figure(const SizeResults& size, const std::string& id) {
  auto it = size.inprocess.find(id);
  return it == size.inprocess.end() ? nullptr : &it->second;
}

std::optional<double> ratio_over_current(const SizeResults& size, const std::string& baseline) {
  const InProcessFigure* current = figure(size, std::string(kCurrentUnchanged) + "_1thread");
  const InProcessFigure* other = figure(size, baseline);
  if (current == nullptr || other == nullptr || current->real_ns <= 0) return std::nullopt;
  return other->per_call_ns() / current->per_call_ns();
}

// --- JSON ---------------------------------------------------------------------------------

json::object figure_json(const MetricInfo& m, const InProcessFigure& f) {
  return {{"value", f.per_call_ns()},
          {"unit", "ns"},
          {"description", m.description},
          {"threads", f.threads},
          {"iterations", f.iterations},
          {"repetitions", f.repetitions},
          // Google Benchmark's own figures: real time over all threads' iterations (a
          // throughput figure when threads > 1), and CPU time per iteration.
          {"gbench_real_time", quantity(f.real_ns, "ns")},
          {"gbench_cpu_time", quantity(f.cpu_ns, "ns")}};
}

json::object latency_json(const LatencyResult& l) {
  json::array events;
  for (const auto& e : l.publisher_events) events.emplace_back(e);
  return {{"description",
           "CLOCK_MONOTONIC from just before Publisher::publish() to the reader process' "
           "current() returning the new generation, readers blocked in wait_for_change()"},
          {"readers", l.readers},
          {"publishes", l.publishes},
          {"samples", l.samples},
          {"p50", quantity(l.p50_us, "us")},
          {"p99", quantity(l.p99_us, "us")},
          {"max", quantity(l.max_us, "us")},
          {"publish_call_p50", quantity(l.publish_call_p50_us, "us")},
          {"publish_call_p99", quantity(l.publish_call_p99_us, "us")},
          {"publish_call_cpu_p50", quantity(l.publish_call_cpu_p50_us, "us")},
          {"reader_cpu_per_change", quantity(l.reader_cpu_per_change_us, "us")},
          {"publishes_with_all_readers_asleep", l.publishes_all_asleep},
          {"publisher_events", std::move(events)}};
}

json::object size_json(const SizeResults& s) {
  json::object o{{"bytes", s.bytes}, {"services", s.services}, {"deep_pointer", s.deep_pointer}};
  for (const MetricInfo& m : metrics()) {
    if (const InProcessFigure* f = figure(s, m.id)) o[m.id] = figure_json(m, *f);
  }
  for (const LatencyResult& l : s.latency) {
    o["publish_to_visible_" + std::to_string(l.readers) + (l.readers == 1 ? "reader" : "readers")] =
        latency_json(l);
  }
  if (auto r = parse_per_read_ratio(s)) {
    o["parse_per_read_over_current_unchanged"] = {
        {"value", *r},
        {"unit", "x"},
        {"description", "seed_copy_parse / current_unchanged_1thread"}};
  }
  json::object ratios;
  for (const char* baseline :
       {kSeedCopyParse, kFileRereadParse, kSharableCopyParse, kSharableCopy}) {
    if (auto r = ratio_over_current(s, baseline)) ratios[baseline] = quantity(*r, "x");
  }
  o["ratios_over_current_unchanged"] = std::move(ratios);
  if (s.daemon) o["daemon"] = daemon_json(*s.daemon);
  return o;
}

// Boost.JSON 1.81 only serialises minified; the file is meant to be read by people too.
void pretty(std::ostream& out, const json::value& v, int indent) {
  const std::string pad(static_cast<std::size_t>(indent + 2), ' ');
  const std::string close_pad(static_cast<std::size_t>(indent), ' ');
  if (v.is_object() && !v.get_object().empty()) {
    out << "{\n";
    bool first = true;
    for (const auto& [key, value] : v.get_object()) {
      out << (first ? "" : ",\n") << pad << json::serialize(json::value(key)) << ": ";
      pretty(out, value, indent + 2);
      first = false;
    }
    out << "\n" << close_pad << "}";
  } else if (v.is_array() && !v.get_array().empty()) {
    out << "[\n";
    bool first = true;
    for (const auto& item : v.get_array()) {
      out << (first ? "" : ",\n") << pad;
      pretty(out, item, indent + 2);
      first = false;
    }
    out << "\n" << close_pad << "]";
  } else if (v.is_double()) {
    // Boost.JSON writes 1.1549916461034774E1; six significant digits are all a benchmark
    // has, and whole numbers stay whole. Non-finite values are not JSON.
    const double d = v.get_double();
    if (!std::isfinite(d)) {
      out << "null";
    } else if (std::fabs(d) >= 1e5) {
      out << format("%.0f", d);
    } else {
      out << format("%.6g", d);
    }
  } else {
    out << json::serialize(v);
  }
}

bool measured_inprocess(const std::vector<SizeResults>& sizes) {
  return std::any_of(sizes.begin(), sizes.end(),
                     [](const SizeResults& s) { return !s.inprocess.empty(); });
}

bool measured_latency(const std::vector<SizeResults>& sizes) {
  return std::any_of(sizes.begin(), sizes.end(),
                     [](const SizeResults& s) { return !s.latency.empty(); });
}

// --- summary ------------------------------------------------------------------------------

void print_inprocess_rows(const SizeTable& table) {
  for (const MetricInfo& m : metrics()) {
    table.row(m.row, [&](const SizeResults& s) {
      const InProcessFigure* f = figure(s, m.id);
      return f != nullptr ? format_ns(f->per_call_ns()) : std::string("n/a");
    });
    // current() is where a busy machine shows most: a preempted thread adds wall time, not
    // CPU time, so print both.
    if (m.id.rfind(kCurrentUnchanged, 0) == 0) {
      table.row("  CPU time per call", [&](const SizeResults& s) {
        const InProcessFigure* f = figure(s, m.id);
        return f != nullptr ? format_ns(f->cpu_ns) : std::string("n/a");
      });
    }
  }
  table.row("parse_per_read / current() (b)", [](const SizeResults& s) {
    auto r = parse_per_read_ratio(s);
    return r ? format_ratio(*r) : std::string("n/a");
  });
}

void print_latency_rows(const SizeTable& table) {
  for (std::size_t readers : {std::size_t{1}, std::size_t{16}}) {
    // Every row of one reader count: "n/a" where that count was not measured.
    auto cell = [readers](const std::function<std::string(const LatencyResult&)>& show) {
      return [readers, show](const SizeResults& s) {
        const LatencyResult* l = latency_for(s, readers);
        return l != nullptr ? show(*l) : std::string("n/a");
      };
    };
    const std::string who = std::to_string(readers) + (readers == 1 ? " reader" : " readers");
    const std::pair<const char*, double LatencyResult::*> stats[] = {
        {"p50", &LatencyResult::p50_us},
        {"p99", &LatencyResult::p99_us},
        {"max", &LatencyResult::max_us}};
    for (const auto& [name, field] : stats) {
      table.row("publish->visible " + who + ", " + name + " (c)",
                cell([field = field](const LatencyResult& l) { return format_us(l.*field); }));
    }
    table.row("  publish() call itself, p50",
              cell([](const LatencyResult& l) { return format_us(l.publish_call_p50_us); }));
    table.row("  publish() call CPU time, p50",
              cell([](const LatencyResult& l) { return format_us(l.publish_call_cpu_p50_us); }));
    table.row("  reader CPU time per change (d)",
              cell([](const LatencyResult& l) { return format_us(l.reader_cpu_per_change_us); }));
    table.row("  publishes / all readers asleep", cell([](const LatencyResult& l) {
                return std::to_string(l.publishes) + " / " + std::to_string(l.publishes_all_asleep);
              }));
  }
}

// Counts are whole numbers; everything else keeps two decimals.
std::string format_target_value(const TargetCheck& c) {
  if (c.unit == "x") return format_ratio(*c.value);
  if (is_count_unit(c.unit)) return format("%.0f ", *c.value) + c.unit;
  return format("%.2f ", *c.value) + c.unit;
}

}  // namespace

MachineInfo probe_machine() {
  MachineInfo m;
  m.nproc = ::sysconf(_SC_NPROCESSORS_ONLN);
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos)
        m.cpu_model = line.substr(line.find_first_not_of(" \t", colon + 1));
      break;
    }
  }
  utsname u{};
  if (::uname(&u) == 0) {
    m.kernel = std::string(u.sysname) + " " + u.release + " " + u.version + " " + u.machine;
  }
  return m;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return in ? one + " " + five + " " + fifteen : std::string("unknown");
}

std::optional<double> parse_per_read_ratio(const SizeResults& size) {
  return ratio_over_current(size, kSeedCopyParse);
}

std::vector<TargetCheck> evaluate_targets(const Results& results) {
  std::vector<TargetCheck> checks;
  if (measured_inprocess(results.sizes)) {
    for (const SizeResults& s : results.sizes) {
      TargetCheck c{"current() unchanged, 1 thread", s.label, "<=", 5, "ns", std::nullopt};
      if (const InProcessFigure* f = figure(s, std::string(kCurrentUnchanged) + "_1thread")) {
        c.value = f->per_call_ns();
      }
      checks.push_back(c);
    }
    for (const SizeResults& s : results.sizes) {
      if (s.label != "64KiB") continue;
      checks.push_back({"parse_per_read / current_unchanged", s.label, ">=", 1000, "x",
                        parse_per_read_ratio(s)});
    }
  }
  if (measured_latency(results.sizes)) {
    for (const SizeResults& s : results.sizes) {
      if (s.label != "1KiB") continue;
      TargetCheck c{
          "publish->visible p99, 16 reader processes", s.label, "<=", 100, "us", std::nullopt};
      if (const LatencyResult* l = latency_for(s, 16)) c.value = l->p99_us;
      checks.push_back(c);
    }
  }
  for (TargetCheck& c : daemon_targets(results)) checks.push_back(std::move(c));
  return checks;
}

void print_summary(std::ostream& out, const RunInfo& run, const Results& results) {
  const SizeTable table(out, results.sizes);
  out << "\nconfvisor-bench summary (" << (run.quick ? "quick" : "full") << " run, "
      << run.machine.nproc << " CPUs, " << run.machine.cpu_model << ", load average "
      << run.load_at_start << " at start, " << run.load_at_end << " at end)\n\n";
  table.row("", [](const SizeResults& s) { return s.label; });
  if (measured_inprocess(results.sizes)) print_inprocess_rows(table);
  if (measured_latency(results.sizes)) print_latency_rows(table);
  if (measured_daemon(results.sizes)) print_daemon_rows(table);
  if (measured_inprocess(results.sizes)) {
    out << "\n(a) per call as one thread sees it (Google Benchmark's real time x threads)\n"
           "(b) seed: copy out of mmap + parse, over current() unchanged, 1 thread\n";
  }
  if (measured_latency(results.sizes)) {
    out << "(c) CLOCK_MONOTONIC, just before publish() -> reader process' current() has it\n"
           "(d) mean over readers: wake-up, copy, checksum, parse and report of one change\n";
  }
  if (measured_daemon(results.sizes)) print_daemon_notes(out, results.sizes);
  if (results.supervision) print_supervision(out, *results.supervision);

  out << "\ntargets (reported, not asserted)\n";
  for (const TargetCheck& c : evaluate_targets(results)) {
    out << "  [" << (c.value ? (c.met() ? " met " : "MISSED") : " n/a  ") << "] " << c.name
        << " at " << c.size << " " << c.comparison << " " << format("%g", c.limit) << " " << c.unit
        << ": " << (c.value ? format_target_value(c) : std::string("not measured")) << "\n";
  }
  for (const SizeResults& s : results.sizes) {
    for (const LatencyResult& l : s.latency) {
      for (const std::string& e : l.publisher_events) {
        out << "  note: publisher event during " << s.label << "/" << l.readers << " readers: " << e
            << "\n";
      }
    }
  }
  out << std::flush;
}

void write_json(const std::string& path, const RunInfo& run, const Results& results) {
  json::object sizes_json;
  for (const SizeResults& s : results.sizes) sizes_json[s.label] = size_json(s);
  json::array targets;
  for (const TargetCheck& c : evaluate_targets(results)) {
    json::object t{{"name", c.name},
                   {"size", c.size},
                   {"target", c.comparison + " " + format("%g", c.limit) + " " + c.unit}};
    if (c.value) {
      t["value"] = quantity(*c.value, c.unit.c_str());
      t["met"] = c.met();
    } else {
      t["value"] = nullptr;
      t["met"] = nullptr;
    }
    targets.push_back(std::move(t));
  }
  json::array parts;
  for (const std::string& part : run.parts) parts.emplace_back(part);
  json::object root{
      {"tool", "confvisor-bench"},
      {"mode", run.quick ? "quick" : "full"},
      {"command", run.command},
      {"parts", std::move(parts)},
      {"started_at", run.started_at},
      {"duration", quantity(run.duration_s, "s")},
      {"load_average", json::object{{"at_start", run.load_at_start}, {"at_end", run.load_at_end}}},
      {"machine", json::object{{"nproc", run.machine.nproc},
                               {"cpu_model", run.machine.cpu_model},
                               {"kernel", run.machine.kernel}}},
      {"sizes", std::move(sizes_json)}};
  if (results.supervision) root["supervision"] = supervision_json(*results.supervision);
  root["targets"] = std::move(targets);

  std::ofstream out(path, std::ios::trunc);
  if (!out) throw std::runtime_error("unable to open " + path + " for writing");
  pretty(out, root, 0);
  out << "\n";
  out.flush();
  if (!out) throw std::runtime_error("unable to write " + path);
}

}  // namespace confvisor::bench
