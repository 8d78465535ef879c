// Starts one worker process by fork and exec. The child has its own process group, a clean
// signal state, PR_SET_PDEATHSIG, the documented base environment, and its stdout and
// stderr on pipes the daemon reads. With cgroup tracking it joins its instance's cgroup
// before it does anything else. An exec that fails is reported through a CLOEXEC pipe with its
// errno, so "No such file or directory" reaches the log instead of a mysterious exit 127; so is a
// failure to join the cgroup, and then nothing of the worker runs.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "common/os/unique_fd.hpp"
#include "daemon/config/model.hpp"

namespace confvisor::supervise {

struct SpawnRequest {
  const config::WorkerSpec* spec = nullptr;
  unsigned instance = 0;
  std::string segment;
  std::string notify_socket;        // NOTIFY_SOCKET for ready: notify workers; "" = none
  std::uint64_t watchdog_usec = 0;  // WATCHDOG_USEC; 0 = none
  // cgroup.procs of the instance's cgroup, opened for writing: the child joins it before
  // anything else, so nothing it ever runs is outside it. -1: no cgroup (subreaper mode).
  int cgroup_procs = -1;
  std::string cgroup;  // its path, for the error when joining fails
  // A worker's check command (daemon/supervise/check_run.hpp) instead of the worker: `spec`
  // then holds the check's argv as its command; stdout and stderr share one pipe (`out`), and
  // the environment names the worker (CONFVISOR_WORKER) but no segment or instance.
  bool check = false;
};

struct Spawned {
  pid_t pid = -1;
  UniqueFd out;  // read ends of the child's stdout and stderr
  UniqueFd err;
  std::string program;  // the file it runs: command[0] resolved (daemon/config/command_path.hpp)
};

// The environment a worker starts with: PATH, LANG, HOME, USER, LOGNAME, SHELL (of the user
// it runs as), the CONFVISOR_* variables, NOTIFY_SOCKET/WATCHDOG_USEC where they apply,
// then the spec's own env on top.
[[nodiscard]] std::map<std::string, std::string> worker_environment(const SpawnRequest& request);

// Throws Error ("unable to start api[0]: execve /usr/bin/nope: No such file or directory",
// "unable to start api[0]: no \"nope\" in PATH \"...\": No such file or directory").
[[nodiscard]] Spawned spawn_worker(const SpawnRequest& request);

}  // namespace confvisor::supervise
