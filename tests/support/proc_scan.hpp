// What a test learns about processes from /proc: who is whose child, who is a zombie, what
// environment a process started with. Supervision tests use it to check, with the real
// kernel's view, that a daemon leaves no zombie behind and that nothing it started outlives it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace confvisor::test {

// Fields of /proc/PID/stat (state, parent, process group, session).
struct ProcStat {
  char state = '?';  // 'R', 'S', 'D', 'Z', ...
  pid_t parent = 0;
  pid_t group = 0;
  pid_t session = 0;
};
[[nodiscard]] std::optional<ProcStat> proc_stat(pid_t pid);
// The scheduler state letter ('R' running, 'S' sleeping, ...), or '?' if it cannot be read.
[[nodiscard]] char process_state(pid_t pid);
// The fields of /proc/PID/stat from field 3 (state) on, as text; empty for a process that is
// gone. Field N is at index N - 3.
[[nodiscard]] std::vector<std::string> proc_stat_fields(pid_t pid);

// /proc/PID/FILE as it could be read ("" for a process that is gone).
[[nodiscard]] std::string proc_file(pid_t pid, const char* file);

// Every pid in /proc right now.
[[nodiscard]] std::vector<pid_t> all_pids();
// The thread ids of `pid` (/proc/PID/task); empty for a process that is gone.
[[nodiscard]] std::vector<pid_t> threads_of(pid_t pid);

// The process exists and is not a zombie.
[[nodiscard]] bool alive(pid_t pid);

// Waits until `pid` is no longer alive (gone or a zombie); false after `timeout`.
bool wait_dead(pid_t pid, std::chrono::milliseconds timeout);
// Waits until `pid` runs `cmdline` (as proc_cmdline spells it): a pid a shell reports with $!
// may still be the shell's fork, or a wrapper like setsid or env, before it execs the command.
// False after `timeout`.
bool wait_for_cmdline(pid_t pid, const std::string& cmdline, std::chrono::milliseconds timeout);

// The environment `pid` was started with (/proc/PID/environ); empty for a zombie or a
// process we may not read.
[[nodiscard]] std::map<std::string, std::string> proc_environ(pid_t pid);

// /proc/PID/cmdline with spaces between the arguments ("" if gone).
[[nodiscard]] std::string proc_cmdline(pid_t pid);

// A "Name:" line's value from /proc/PID/status ("VmRSS" -> "  1234 kB"), nullopt if missing.
[[nodiscard]] std::optional<std::string> proc_status_field(pid_t pid, const std::string& name);
// The same from the text of a status file already read.
[[nodiscard]] std::optional<std::string> status_field(const std::string& status,
                                                      const std::string& name);

// VmRSS of `pid` in KiB (nullopt if gone).
[[nodiscard]] std::optional<long> vm_rss_kib(pid_t pid);

// Live (non-zombie) children of `parent`.
[[nodiscard]] std::vector<pid_t> children_of(pid_t parent);

// Zombie children of `parent`: exited, and not reaped by it.
[[nodiscard]] std::vector<pid_t> zombie_children(pid_t parent);

// Waits until `parent` has no zombie child; returns the zombies left after `timeout`. A child
// is a zombie for a moment between its exit and its parent's wait, so a test asks "none
// for long", not "none right now".
[[nodiscard]] std::vector<pid_t> wait_no_zombie_children(pid_t parent,
                                                         std::chrono::milliseconds timeout);

// Live processes whose environment holds exactly the entry `name`=`value`.
[[nodiscard]] std::vector<pid_t> pids_with_env(const std::string& name, const std::string& value);

// Waits until no live process holds `name`=`value`; returns those left after `timeout`.
[[nodiscard]] std::vector<pid_t> wait_no_pids_with_env(const std::string& name,
                                                       const std::string& value,
                                                       std::chrono::milliseconds timeout);

// SIGKILLs every live process holding `name`=`value` (a test's last-resort cleanup).
void kill_pids_with_env(const std::string& name, const std::string& value);

// A process by its pid and its start time (field 22 of /proc/PID/stat), which tells it from
// a later process given the same pid.
struct ProcessId {
  pid_t pid = 0;
  unsigned long long start = 0;
  bool operator<(const ProcessId& o) const {
    return pid < o.pid || (pid == o.pid && start < o.start);
  }
};
[[nodiscard]] std::optional<ProcessId> process_id(pid_t pid);
// The process is alive (not a zombie) and still the same one.
[[nodiscard]] bool alive(const ProcessId& id);
// Every live descendant of `root`: its children, theirs, and so on.
[[nodiscard]] std::vector<ProcessId> descendants(pid_t root);
// SIGKILLs each of `ids` that is still the same process (a test's last-resort cleanup).
void kill_all(const std::vector<ProcessId>& ids);

// The cgroup v2 tree a confvisord of `segment` started by this process uses:
// OUR_CGROUP/confvisor.SEGMENT ("" without a cgroup2 mount).
[[nodiscard]] std::string cgroup_tree(const std::string& segment);
// The cgroup2 path of `pid` ("0::PATH" of /proc/PID/cgroup), "" if gone.
[[nodiscard]] std::string cgroup_of(pid_t pid);
// Kills everything in cgroup_tree(segment) and removes it, pass or fail of a test.
void remove_cgroup_tree(const std::string& segment);
// The same for the cgroup directory `path` (absolute, below the cgroup2 mount).
void kill_and_remove_cgroup(const std::string& path);

// "123 (sleep 1000), 456 (sh -c ...)": for failure messages.
[[nodiscard]] std::string describe_pids(const std::vector<pid_t>& pids);

// The main processes of the workers of the daemon `daemon`, by label ("api[0]"): its children
// that lead their own process group and carry CONFVISOR_WORKER and CONFVISOR_INSTANCE.
[[nodiscard]] std::map<std::string, pid_t> worker_pids(pid_t daemon);

}  // namespace confvisor::test
