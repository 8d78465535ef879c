#include "bench/proc_stats.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>

namespace confvisor::bench {

namespace {

std::string read_small_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The fields of /proc/PID/stat after the command name, which may hold spaces and
// parentheses: split after its last ')'. Field 3 (state) comes first.
std::vector<std::string> stat_fields(pid_t pid) {
  const std::string stat = read_small_file("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  std::vector<std::string> fields;
  if (close == std::string::npos) return fields;
  std::istringstream rest(stat.substr(close + 1));
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

// "Name:\t  123 kB" -> 123; nullopt if the line is missing.
std::optional<long long> status_number(const std::string& status, std::string_view name) {
  for (std::size_t at = 0; at < status.size();) {
    const std::size_t end = std::min(status.find('\n', at), status.size());
    const std::string_view line(status.data() + at, end - at);
    if (line.size() > name.size() && line.starts_with(name) && line[name.size()] == ':') {
      return std::atoll(line.data() + name.size() + 1);  // skips the blanks, stops at " kB"
    }
    at = end + 1;
  }
  return std::nullopt;
}

std::vector<std::string> task_ids(pid_t pid) {
  std::vector<std::string> ids;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ids.emplace_back(e->d_name);
    }
    ::closedir(d);
  }
  return ids;
}

}  // namespace

std::optional<ProcSample> sample_process(pid_t pid) {
  const std::string base = "/proc/" + std::to_string(pid);
  const std::string status = read_small_file(base + "/status");
  const std::vector<std::string> stat = stat_fields(pid);
  // utime and stime are fields 14 and 15, the 12th and 13th after the name.
  constexpr std::size_t kUtime = 11, kStime = 12;
  if (status.empty() || stat.size() <= kStime) return std::nullopt;
  ProcSample s;
  s.rss_kib = static_cast<long>(status_number(status, "VmRSS").value_or(0));
  s.hwm_kib = static_cast<long>(status_number(status, "VmHWM").value_or(0));
  s.rss_anon_kib = static_cast<long>(status_number(status, "RssAnon").value_or(0));
  s.rss_shmem_kib = static_cast<long>(status_number(status, "RssShmem").value_or(0));
  s.cpu_ticks = std::strtoull(stat[kUtime].c_str(), nullptr, 10) +
                std::strtoull(stat[kStime].c_str(), nullptr, 10);
  for (const std::string& tid : task_ids(pid)) {
    const std::string task = read_small_file(base + "/task/" + tid + "/status");
    s.voluntary_switches +=
        static_cast<std::uint64_t>(status_number(task, "voluntary_ctxt_switches").value_or(0));
    s.involuntary_switches +=
        static_cast<std::uint64_t>(status_number(task, "nonvoluntary_ctxt_switches").value_or(0));
    ++s.threads;
  }
  if (s.threads == 0) return std::nullopt;
  return s;
}

std::optional<ProcSample> sample_processes(const std::vector<pid_t>& pids) {
  ProcSample sum;
  for (pid_t pid : pids) {
    const auto s = sample_process(pid);
    if (!s) return std::nullopt;
    sum.rss_kib += s->rss_kib;
    sum.hwm_kib += s->hwm_kib;
    sum.rss_anon_kib += s->rss_anon_kib;
    sum.rss_shmem_kib += s->rss_shmem_kib;
    sum.cpu_ticks += s->cpu_ticks;
    sum.voluntary_switches += s->voluntary_switches;
    sum.involuntary_switches += s->involuntary_switches;
    sum.threads += s->threads;
  }
  return sum;
}

char process_state(pid_t pid) {
  const std::vector<std::string> fields = stat_fields(pid);
  return fields.empty() || fields[0].empty() ? '?' : fields[0][0];
}

long clock_ticks_per_second() {
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  return ticks;
}

namespace {
// Counters only grow, except when a thread exits between the samples (its switches leave
// the per-task sum): never report that as a huge unsigned wrap.
std::uint64_t grown(std::uint64_t before, std::uint64_t after) {
  return after >= before ? after - before : 0;
}
}  // namespace

IdleFigures idle_between(const ProcSample& before, const ProcSample& after, double window_s) {
  IdleFigures f;
  f.window_s = window_s;
  f.cpu_ticks = grown(before.cpu_ticks, after.cpu_ticks);
  f.cpu_ms = static_cast<double>(f.cpu_ticks) * 1e3 / static_cast<double>(clock_ticks_per_second());
  f.voluntary_switches = grown(before.voluntary_switches, after.voluntary_switches);
  f.involuntary_switches = grown(before.involuntary_switches, after.involuntary_switches);
  f.rss_kib = after.rss_kib;
  f.hwm_kib = after.hwm_kib;
  f.rss_anon_kib = after.rss_anon_kib;
  f.rss_shmem_kib = after.rss_shmem_kib;
  f.threads = after.threads;
  return f;
}

}  // namespace confvisor::bench
