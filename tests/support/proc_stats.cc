#include "tests/support/proc_stats.hpp"

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "tests/support/proc_scan.hpp"

namespace confvisor::test {

namespace {

// "Name:\t  123 kB" -> 123; 0 if the line is missing.
long long status_number(const std::string& status, const std::string& name) {
  const auto value = status_field(status, name);
  return value ? std::atoll(value->c_str()) : 0;  // skips the blanks, stops at " kB"
}

}  // namespace

std::optional<ProcSample> sample_process(pid_t pid) {
  const std::string status = proc_file(pid, "status");
  const std::vector<std::string> stat = proc_stat_fields(pid);
  // utime and stime are fields 14 and 15.
  constexpr std::size_t kUtime = 14 - 3, kStime = 15 - 3;
  if (status.empty() || stat.size() <= kStime) return std::nullopt;
  ProcSample s;
  s.rss_kib = static_cast<long>(status_number(status, "VmRSS"));
  s.hwm_kib = static_cast<long>(status_number(status, "VmHWM"));
  s.rss_anon_kib = static_cast<long>(status_number(status, "RssAnon"));
  s.rss_shmem_kib = static_cast<long>(status_number(status, "RssShmem"));
  s.cpu_ticks = std::strtoull(stat[kUtime].c_str(), nullptr, 10) +
                std::strtoull(stat[kStime].c_str(), nullptr, 10);
  for (const pid_t tid : threads_of(pid)) {
    const std::string task = proc_file(pid, ("task/" + std::to_string(tid) + "/status").c_str());
    s.voluntary_switches +=
        static_cast<std::uint64_t>(status_number(task, "voluntary_ctxt_switches"));
    s.involuntary_switches +=
        static_cast<std::uint64_t>(status_number(task, "nonvoluntary_ctxt_switches"));
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

long clock_ticks_per_second() {
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  return ticks;
}

}  // namespace confvisor::test
