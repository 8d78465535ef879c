#include "leftovers.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

namespace confvisor::daemon {

namespace {

// Fields 3 (state) and 4 (parent) of /proc/PID/stat. The command name (field 2) may hold
// spaces and parentheses, so parse after its last ')': ") S PPID ...".
struct Stat {
  char state = '?';
  pid_t parent = 0;
};

std::optional<Stat> stat_of(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');
  if (close == std::string::npos || close + 4 >= stat.size()) return std::nullopt;
  return Stat{stat[close + 2], static_cast<pid_t>(std::atol(stat.c_str() + close + 4))};
}

std::optional<Owner> owner_of(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/environ");
  std::optional<std::string> worker, instance;
  for (std::string var; std::getline(f, var, '\0');) {
    if (var.rfind("CONFVISOR_WORKER=", 0) == 0) worker = var.substr(17);
    if (var.rfind("CONFVISOR_INSTANCE=", 0) == 0) instance = var.substr(19);
  }
  if (!worker || !instance) return std::nullopt;
  return Owner{*worker, static_cast<unsigned>(std::atol(instance->c_str()))};
}

}  // namespace

std::vector<Adopted> adopted_children(const std::set<pid_t>& known) {
  std::vector<Adopted> out;
  const pid_t self = ::getpid();
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || known.count(static_cast<pid_t>(pid))) continue;
    const auto stat = stat_of(static_cast<pid_t>(pid));
    // A zombie is already dead; SIGCHLD will have it reaped.
    if (!stat || stat->parent != self || stat->state == 'Z') continue;
    out.push_back({static_cast<pid_t>(pid), owner_of(static_cast<pid_t>(pid))});
  }
  ::closedir(proc);
  return out;
}

}  // namespace confvisor::daemon
