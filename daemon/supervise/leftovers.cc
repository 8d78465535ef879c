#include "daemon/supervise/leftovers.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "common/os/directory.hpp"
#include "common/os/small_file.hpp"
#include "common/os/unique_fd.hpp"

namespace confvisor::supervise {

namespace {

// Fields 3 (state) and 4 (parent) of /proc/PID/stat. The command name (field 2) may hold
// spaces and parentheses, so parse after its last ')': ") S PPID ...".
struct Stat {
  char state = '?';
  pid_t parent = 0;
};

std::optional<Stat> stat_of(pid_t pid) {
  const std::optional<std::string> text = read_small_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  const std::string& stat = *text;
  const auto close = stat.rfind(')');
  if (close == std::string::npos || close + 4 >= stat.size()) return std::nullopt;
  return Stat{stat[close + 2], static_cast<pid_t>(std::atol(stat.c_str() + close + 4))};
}

std::optional<Owner> owner_of(pid_t pid) {
  const std::optional<std::string> environ =
      read_small_file("/proc/" + std::to_string(pid) + "/environ");
  if (!environ) return std::nullopt;
  std::optional<std::string> worker, instance;
  for (std::size_t begin = 0, end; begin < environ->size(); begin = end + 1) {
    end = environ->find('\0', begin);
    if (end == std::string::npos) end = environ->size();
    const std::string_view var = std::string_view(*environ).substr(begin, end - begin);
    if (var.starts_with("CONFVISOR_WORKER=")) worker = std::string(var.substr(17));
    if (var.starts_with("CONFVISOR_INSTANCE=")) instance = std::string(var.substr(19));
  }
  if (!worker || !instance) return std::nullopt;
  return Owner{*worker, static_cast<unsigned>(std::atol(instance->c_str()))};
}

// Appends the pids in `text` ("12 345 ..." or one directory name) to `out`. A std::string,
// not a view: strtol needs the terminating NUL.
void append_pids(const std::string& text, std::vector<pid_t>& out) {
  for (const char* p = text.c_str(); p < text.c_str() + text.size();) {
    char* end = nullptr;
    const long pid = std::strtol(p, &end, 10);
    if (end == p) return;
    if (pid > 0) out.push_back(static_cast<pid_t>(pid));
    p = end;
  }
}

// Our children, from each of our threads' /proc/self/task/TID/children: one read instead of
// a read of every process's stat. The kernel does not promise that list is a snapshot; it
// needs not be, since the caller checks each pid again and the sweeps repeat.
std::vector<pid_t> children_of_our_threads() {
  std::vector<pid_t> pids;
  for (const std::string& tid : directory_entries("/proc/self/task")) {
    if (auto text = read_small_file("/proc/self/task/" + tid + "/children"))
      append_pids(*text, pids);
  }
  return pids;
}

// Whether this kernel has the children lists (CONFIG_PROC_CHILDREN, on in Debian's kernels).
bool have_children_lists() {
  static const bool have =
      ::access(("/proc/self/task/" + std::to_string(::getpid()) + "/children").c_str(), F_OK) == 0;
  return have;
}

// Every process on the machine: the fallback, each one checked for its parent.
std::vector<pid_t> every_process() {
  std::vector<pid_t> pids;
  for (const std::string& name : directory_entries("/proc")) {
    if (name.find_first_not_of("0123456789") == std::string::npos) append_pids(name, pids);
  }
  return pids;
}

}  // namespace

std::vector<Adopted> adopted_children(const std::set<pid_t>& known, ChildScan scan) {
  std::vector<Adopted> out;
  const pid_t self = ::getpid();
  const bool lists =
      scan == ChildScan::children_lists || (scan == ChildScan::automatic && have_children_lists());
  const std::vector<pid_t> candidates = lists ? children_of_our_threads() : every_process();
  for (const pid_t pid : candidates) {
    if (known.count(pid)) continue;
    const auto stat = stat_of(pid);
    // A zombie is already dead; SIGCHLD will have it reaped.
    if (!stat || stat->parent != self || stat->state == 'Z') continue;
    out.push_back({pid, owner_of(pid)});
  }
  return out;
}

}  // namespace confvisor::supervise
