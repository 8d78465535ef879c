#include "daemon/supervise/spawn.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/base/error.hpp"
#include "common/os/accounts.hpp"
#include "daemon/config/command_path.hpp"

namespace confvisor::supervise {

namespace {

// Who the child becomes, resolved before fork: getpwnam and friends are not
// async-signal-safe, so the child only makes system calls.
struct Identity {
  bool change = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string name, home, shell;
};

Identity identity_for(const config::WorkerSpec& spec) {
  Identity id;
  const std::optional<uid_t> uid = spec.user ? find_user(*spec.user) : ::geteuid();
  if (!uid) throw Error("unknown user \"" + *spec.user + "\"");
  const passwd* pw = ::getpwuid(*uid);
  if (pw != nullptr) {
    id.name = pw->pw_name;
    id.home = pw->pw_dir;
    id.shell = pw->pw_shell;
  }
  if (!spec.user && !spec.group) return id;
  id.change = true;
  id.uid = *uid;
  id.gid = spec.user && pw != nullptr ? pw->pw_gid : ::getegid();
  if (spec.group) {
    const std::optional<gid_t> gid = find_group(*spec.group);
    if (!gid) throw Error("unknown group \"" + *spec.group + "\"");
    id.gid = *gid;
  }
  id.groups = {id.gid};
  if (spec.user && pw != nullptr) {
    // The user's supplementary groups, as a login would have them.
    int n = 64;
    std::vector<gid_t> list(static_cast<std::size_t>(n));
    if (::getgrouplist(pw->pw_name, id.gid, list.data(), &n) < 0) {
      list.resize(static_cast<std::size_t>(n));
      ::getgrouplist(pw->pw_name, id.gid, list.data(), &n);
    }
    list.resize(static_cast<std::size_t>(n));
    id.groups = list;
  }
  return id;
}

std::string label(const SpawnRequest& r) {
  if (r.check) return "the check of " + r.spec->name;
  return r.spec->name + "[" + std::to_string(r.instance) + "]";
}

// In the child after fork: system calls only. Reports the failing step and its errno
// through `report` and exits 127.
[[noreturn]] void fail_in_child(int report, int step, int err) {
  int msg[2] = {step, err};
  ssize_t ignored = ::write(report, msg, sizeof msg);
  (void)ignored;
  ::_exit(127);
}

enum Step : int { kCgroup = 1, kPgid, kDeathSignal, kDup, kCwd, kGroups, kGid, kUid, kExec };

const char* step_name(int step) {
  switch (step) {
    case kCgroup:
      return "join cgroup";
    case kPgid:
      return "setpgid";
    case kDeathSignal:
      return "prctl(PR_SET_PDEATHSIG)";
    case kDup:
      return "dup2";
    case kCwd:
      return "chdir";
    case kGroups:
      return "setgroups";
    case kGid:
      return "setgid";
    case kUid:
      return "setuid";
    case kExec:
      return "execve";
  }
  return "start";
}

// For kernels before 5.11, which lack CLOSE_RANGE_CLOEXEC.
void mark_cloexec_one_by_one() {
  rlimit limit{};
  const rlim_t top = ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY
                         ? std::min<rlim_t>(limit.rlim_cur, 1 << 20)
                         : 1024;
  for (int fd = 3; fd < static_cast<int>(top); ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

[[noreturn]] void run_child(const SpawnRequest& r, const Identity& id, pid_t parent, int report,
                            int out, int err, const char* program, char* const* argv,
                            char* const* envp) {
  // First: whatever the child does from here on, and all it starts, is in the cgroup.
  if (r.cgroup_procs >= 0 && ::write(r.cgroup_procs, "0", 1) != 1) {
    fail_in_child(report, kCgroup, errno);
  }
  if (::setpgid(0, 0) != 0) fail_in_child(report, kPgid, errno);
  // A worker never outlives the daemon, even one killed with SIGKILL.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail_in_child(report, kDeathSignal, errno);
  if (::getppid() != parent) ::_exit(127);  // the daemon died before the prctl
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);  // the daemon blocks its signals for signalfd
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  }
  int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull < 0 || ::dup2(devnull, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) {
    fail_in_child(report, kDup, errno);
  }
  // Nothing of the daemon's reaches the worker: its sockets (the control socket's listener;
  // Asio opens without SOCK_CLOEXEC), timers and pipes all close at exec.
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) mark_cloexec_one_by_one();
  if (r.spec->umask) ::umask(*r.spec->umask);
  if (r.spec->cwd && ::chdir(r.spec->cwd->c_str()) != 0) fail_in_child(report, kCwd, errno);
  if (id.change) {
    if (::setgroups(id.groups.size(), id.groups.data()) != 0) fail_in_child(report, kGroups, errno);
    if (::setgid(id.gid) != 0) fail_in_child(report, kGid, errno);
    if (::setuid(id.uid) != 0) fail_in_child(report, kUid, errno);
  }
  ::execve(program, argv, envp);
  fail_in_child(report, kExec, errno);
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

struct Pipe {
  UniqueFd read, write;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_sys("create a pipe");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace

std::map<std::string, std::string> worker_environment(const SpawnRequest& r) {
  const Identity id = identity_for(*r.spec);
  std::map<std::string, std::string> env{{"PATH", std::string(config::kBasePath)}};
  const char* lang = std::getenv("LANG");
  env["LANG"] = lang != nullptr ? lang : "C.UTF-8";
  if (!id.name.empty()) {
    env["USER"] = env["LOGNAME"] = id.name;
    env["HOME"] = id.home;
    env["SHELL"] = id.shell;
  }
  env["CONFVISOR_WORKER"] = r.spec->name;
  if (!r.check) {
    env["CONFVISOR_SEGMENT"] = r.segment;
    env["CONFVISOR_INSTANCE"] = std::to_string(r.instance);
  }
  if (!r.notify_socket.empty()) env["NOTIFY_SOCKET"] = r.notify_socket;
  if (r.watchdog_usec != 0) env["WATCHDOG_USEC"] = std::to_string(r.watchdog_usec);
  for (const auto& [k, v] : r.spec->env) env[k] = v;
  return env;
}

Spawned spawn_worker(const SpawnRequest& r) {
  const std::string who = label(r);
  Identity id;
  std::map<std::string, std::string> env_map;
  std::string program;  // command[0] found in the worker's PATH, as execvp would
  try {
    id = identity_for(*r.spec);
    env_map = worker_environment(r);
    program = config::resolve_program(*r.spec, env_map.at("PATH"), config::credentials_of(*r.spec));
  } catch (const Error& e) {
    throw Error("unable to start " + who + ": " + e.what());
  }
  std::vector<std::string> args = r.spec->command;
  std::vector<std::string> env;
  for (const auto& [k, v] : env_map) env.push_back(k + "=" + v);
  std::vector<char*> argv = c_strings(args), envp = c_strings(env);

  Pipe out = make_pipe(), err = make_pipe(), report = make_pipe();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw_sys("fork for " + who);
  if (pid == 0) {
    run_child(r, id, parent, report.write.get(), out.write.get(),
              r.check ? out.write.get() : err.write.get(), program.c_str(), argv.data(),
              envp.data());
  }
  // Both sides call setpgid, so the group exists before the daemon ever signals it.
  ::setpgid(pid, pid);
  report.write.reset();
  int msg[2] = {0, 0};
  ssize_t n;
  while ((n = ::read(report.read.get(), msg, sizeof msg)) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof msg)) {
    // The child has exited 127 (or is about to); the caller reaps it through SIGCHLD.
    std::string what = step_name(msg[0]);
    if (msg[0] == kExec) what += " " + program;
    if (msg[0] == kCwd) what += " " + r.spec->cwd.value_or("");
    if (msg[0] == kCgroup) what += " " + r.cgroup;
    throw Error("unable to start " + who + ": " + what + ": " + std::strerror(msg[1]));
  }
  if (r.check) err.read.reset();
  return Spawned{pid, std::move(out.read), std::move(err.read), std::move(program)};
}

}  // namespace confvisor::supervise
