#include "tests/support/proc_scan.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "common/os/small_file.hpp"

namespace confvisor::test {

namespace {

// The whole file, or what could be read of it: a process that exits while its /proc files are
// read makes read() fail with ESRCH, which a stream would throw out of its iterator.
std::string slurp(const std::string& path) {
  return read_small_file(path).value_or("");
}

std::string proc_path(pid_t pid, const char* file) {
  return "/proc/" + std::to_string(pid) + "/" + file;
}

}  // namespace

std::string proc_file(pid_t pid, const char* file) {
  return slurp(proc_path(pid, file));
}

namespace {

// Polls `done` every 10 ms until it holds or `timeout` passes; returns its last answer.
template <typename F>
auto poll_until(std::chrono::milliseconds timeout, F&& f) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto result = f();
    if (result.empty() || std::chrono::steady_clock::now() >= deadline) return result;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

std::vector<std::string> proc_stat_fields(pid_t pid) {
  const std::string stat = slurp(proc_path(pid, "stat"));
  // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
  const auto close = stat.rfind(')');
  std::vector<std::string> fields;
  if (close == std::string::npos) return fields;
  std::istringstream rest(stat.substr(close + 1));
  for (std::string f; rest >> f;) fields.push_back(std::move(f));
  return fields;
}

std::optional<ProcStat> proc_stat(pid_t pid) {
  // Fields 3 to 6: state, parent, process group, session.
  const std::vector<std::string> f = proc_stat_fields(pid);
  if (f.size() < 4 || f[0].size() != 1) return std::nullopt;
  return ProcStat{f[0][0], static_cast<pid_t>(std::atol(f[1].c_str())),
                  static_cast<pid_t>(std::atol(f[2].c_str())),
                  static_cast<pid_t>(std::atol(f[3].c_str()))};
}

char process_state(pid_t pid) {
  const auto s = proc_stat(pid);
  return s ? s->state : '?';
}

namespace {
// The numbered entries of `dir`: the processes of /proc, the threads of /proc/PID/task.
std::vector<pid_t> numbered_entries(const std::string& dir) {
  std::vector<pid_t> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* entry = ::readdir(d)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (*end == '\0' && pid > 0) out.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(d);
  return out;
}
}  // namespace

std::vector<pid_t> all_pids() {
  return numbered_entries("/proc");
}

std::vector<pid_t> threads_of(pid_t pid) {
  return numbered_entries(proc_path(pid, "task"));
}

bool alive(pid_t pid) {
  const auto s = proc_stat(pid);
  return s && s->state != 'Z' && s->state != 'X';
}

bool wait_dead(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (alive(pid)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

bool wait_for_cmdline(pid_t pid, const std::string& cmdline, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (proc_cmdline(pid) != cmdline) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

std::map<std::string, std::string> proc_environ(pid_t pid) {
  std::map<std::string, std::string> env;
  std::istringstream in(slurp(proc_path(pid, "environ")));
  for (std::string var; std::getline(in, var, '\0');) {
    const auto eq = var.find('=');
    if (eq != std::string::npos) env.emplace(var.substr(0, eq), var.substr(eq + 1));
  }
  return env;
}

std::string proc_cmdline(pid_t pid) {
  std::string cmd = slurp(proc_path(pid, "cmdline"));
  while (!cmd.empty() && cmd.back() == '\0') cmd.pop_back();
  for (char& c : cmd) {
    if (c == '\0') c = ' ';
  }
  return cmd;
}

std::optional<std::string> status_field(const std::string& status, const std::string& name) {
  std::istringstream in(status);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + ":", 0) == 0) return line.substr(name.size() + 1);
  }
  return std::nullopt;
}

std::optional<std::string> proc_status_field(pid_t pid, const std::string& name) {
  return status_field(slurp(proc_path(pid, "status")), name);
}

std::optional<long> vm_rss_kib(pid_t pid) {
  const auto rss = proc_status_field(pid, "VmRSS");
  if (!rss) return std::nullopt;
  return std::atol(rss->c_str());
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (pid_t pid : all_pids()) {
    const auto s = proc_stat(pid);
    if (s && s->parent == parent && s->state != 'Z' && s->state != 'X') out.push_back(pid);
  }
  return out;
}

std::vector<pid_t> zombie_children(pid_t parent) {
  std::vector<pid_t> out;
  for (pid_t pid : all_pids()) {
    const auto s = proc_stat(pid);
    if (s && s->parent == parent && s->state == 'Z') out.push_back(pid);
  }
  return out;
}

std::vector<pid_t> wait_no_zombie_children(pid_t parent, std::chrono::milliseconds timeout) {
  return poll_until(timeout, [&] { return zombie_children(parent); });
}

std::vector<pid_t> pids_with_env(const std::string& name, const std::string& value) {
  const std::string entry = name + "=" + value;
  std::vector<pid_t> out;
  for (pid_t pid : all_pids()) {
    // A zombie's environ reads empty, so only live processes can match.
    std::istringstream in(slurp(proc_path(pid, "environ")));
    for (std::string var; std::getline(in, var, '\0');) {
      if (var == entry) {
        if (alive(pid)) out.push_back(pid);
        break;
      }
    }
  }
  return out;
}

std::vector<pid_t> wait_no_pids_with_env(const std::string& name, const std::string& value,
                                         std::chrono::milliseconds timeout) {
  return poll_until(timeout, [&] { return pids_with_env(name, value); });
}

void kill_pids_with_env(const std::string& name, const std::string& value) {
  for (pid_t pid : pids_with_env(name, value)) ::kill(pid, SIGKILL);  // each by its own pid
}

std::string describe_pids(const std::vector<pid_t>& pids) {
  std::string out;
  for (pid_t pid : pids) {
    if (!out.empty()) out += ", ";
    out += std::to_string(pid) + " (" + proc_cmdline(pid) + ")";
  }
  return out.empty() ? "none" : out;
}

std::optional<ProcessId> process_id(pid_t pid) {
  // Field 22 (starttime), the 20th after the command name.
  const std::vector<std::string> f = proc_stat_fields(pid);
  if (f.size() < 20) return std::nullopt;
  return ProcessId{pid, std::strtoull(f[19].c_str(), nullptr, 10)};
}

bool alive(const ProcessId& id) {
  const auto now = process_id(id.pid);
  return now && now->start == id.start && alive(id.pid);
}

std::vector<ProcessId> descendants(pid_t root) {
  std::map<pid_t, std::vector<pid_t>> children;
  for (pid_t pid : all_pids()) {
    if (auto st = proc_stat(pid); st && st->state != 'Z') children[st->parent].push_back(pid);
  }
  std::vector<ProcessId> out;
  std::vector<pid_t> todo{root};
  while (!todo.empty()) {
    const pid_t parent = todo.back();
    todo.pop_back();
    for (pid_t child : children[parent]) {
      if (auto id = process_id(child)) out.push_back(*id);
      todo.push_back(child);
    }
  }
  return out;
}

void kill_all(const std::vector<ProcessId>& ids) {
  for (const ProcessId& id : ids) {
    if (alive(id)) ::kill(id.pid, SIGKILL);
  }
}

std::string cgroup_of(pid_t pid) {
  std::istringstream lines(slurp(proc_path(pid, "cgroup")));
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("0::")) return line.substr(3);
  }
  return {};
}

std::string cgroup_tree(const std::string& segment) {
  std::istringstream mounts(slurp("/proc/self/mountinfo"));
  std::string mount;
  for (std::string line; std::getline(mounts, line);) {
    if (line.find(" - cgroup2 ") == std::string::npos) continue;
    std::istringstream fields(line);
    std::string id, parent, device, root;
    fields >> id >> parent >> device >> root >> mount;
    break;
  }
  const std::string own = cgroup_of(::getpid());
  if (mount.empty() || own.empty()) return {};
  return mount + (own == "/" ? "" : own) + "/confvisor." + segment;
}

namespace {
void remove_cgroup(const std::string& path) {
  if (DIR* dir = ::opendir(path.c_str())) {
    std::vector<std::string> subdirs;
    while (dirent* entry = ::readdir(dir)) {
      const std::string name = entry->d_name;
      if (entry->d_type == DT_DIR && name != "." && name != "..") subdirs.push_back(name);
    }
    ::closedir(dir);
    for (const auto& name : subdirs) remove_cgroup(path + "/" + name);
  }
  ::rmdir(path.c_str());
}
}  // namespace

void remove_cgroup_tree(const std::string& segment) {
  const std::string tree = cgroup_tree(segment);
  if (!tree.empty()) kill_and_remove_cgroup(tree);
}

void kill_and_remove_cgroup(const std::string& path) {
  if (slurp(path + "/cgroup.events").empty()) return;
  { std::ofstream(path + "/cgroup.kill") << "1"; }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (slurp(path + "/cgroup.events").find("populated 1") != std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  remove_cgroup(path);
}

std::map<std::string, pid_t> worker_pids(pid_t daemon) {
  std::map<std::string, pid_t> out;
  for (pid_t pid : children_of(daemon)) {
    const auto stat = proc_stat(pid);
    if (!stat || stat->group != pid) continue;
    auto env = proc_environ(pid);
    if (!env.count("CONFVISOR_WORKER") || !env.count("CONFVISOR_INSTANCE")) continue;
    out[env["CONFVISOR_WORKER"] + "[" + env["CONFVISOR_INSTANCE"] + "]"] = pid;
  }
  return out;
}

}  // namespace confvisor::test
