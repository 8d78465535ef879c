#include "leftovers.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "directory.hpp"
#include "unique_fd.hpp"

namespace confvisor::daemon {

namespace {

// The whole of /proc/PID/FILE, or nullopt. A process may exit between the scan of /proc and
// this read, and then read() fails with ESRCH: that is an answer (nothing to adopt), not an
// error. (std::ifstream would throw it out of istreambuf_iterator instead.)
std::optional<std::string> read_proc_file(pid_t pid, const char* file) {
  const std::string path = "/proc/" + std::to_string(pid) + "/" + file;
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) return text;
    text.append(buffer, static_cast<std::size_t>(n));
  }
}

// Fields 3 (state) and 4 (parent) of /proc/PID/stat. The command name (field 2) may hold
// spaces and parentheses, so parse after its last ')': ") S PPID ...".
struct Stat {
  char state = '?';
  pid_t parent = 0;
};

std::optional<Stat> stat_of(pid_t pid) {
  const std::optional<std::string> text = read_proc_file(pid, "stat");
  if (!text) return std::nullopt;
  const std::string& stat = *text;
  const auto close = stat.rfind(')');
  if (close == std::string::npos || close + 4 >= stat.size()) return std::nullopt;
  return Stat{stat[close + 2], static_cast<pid_t>(std::atol(stat.c_str() + close + 4))};
}

std::optional<Owner> owner_of(pid_t pid) {
  const std::optional<std::string> environ = read_proc_file(pid, "environ");
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

}  // namespace

std::vector<Adopted> adopted_children(const std::set<pid_t>& known) {
  std::vector<Adopted> out;
  const pid_t self = ::getpid();
  for (const std::string& name : directory_entries("/proc")) {
    char* end = nullptr;
    const long pid = std::strtol(name.c_str(), &end, 10);
    if (*end != '\0' || pid <= 0 || known.count(static_cast<pid_t>(pid))) continue;
    const auto stat = stat_of(static_cast<pid_t>(pid));
    // A zombie is already dead; SIGCHLD will have it reaped.
    if (!stat || stat->parent != self || stat->state == 'Z') continue;
    out.push_back({static_cast<pid_t>(pid), owner_of(static_cast<pid_t>(pid))});
  }
  return out;
}

}  // namespace confvisor::daemon
