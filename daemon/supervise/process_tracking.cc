#include "daemon/supervise/process_tracking.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <map>
#include <vector>

#include "common/base/error.hpp"
#include "common/base/log.hpp"
#include "common/os/directory.hpp"
#include "common/segment/name.hpp"

namespace confvisor::supervise {

namespace {

using Clock = std::chrono::steady_clock;

// How long the processes a dead daemon left may take to die after SIGKILL. They die at once
// unless stuck in the kernel (a hung NFS mount); past this the daemon refuses to start.
constexpr std::chrono::seconds kLeftoverBound{10};

// The controllers behind the limits a worker may have: memory_max, tasks_max, cpu_weight.
constexpr std::string_view kLimitControllers[] = {"cpu", "memory", "pids"};

constexpr const char* kTrackingVariable = "CONFVISOR_TRACKING";
constexpr const char* kDaemonLeaf = "confvisord";

// What the running daemon's tracking established, for missing_controller(). Set while a
// ProcessTracking lives.
struct Established {
  std::string fallback_reason;  // empty in cgroup mode
  std::string tree;
  std::set<std::string> controllers;  // what instance cgroups may use
};
std::optional<Established>& established() {
  static std::optional<Established> e;
  return e;
}

std::string join(const std::set<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out.empty() ? "none" : out;
}

std::string cmdline_of(pid_t pid) {
  std::string text = read_small_file("/proc/" + std::to_string(pid) + "/cmdline").value_or("");
  std::replace(text.begin(), text.end(), '\0', ' ');
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text.empty() ? "?" : text;
}

std::string describe_pids(const std::vector<pid_t>& pids) {
  std::string out;
  for (pid_t pid : pids) {
    out += (out.empty() ? "" : ", ") + std::to_string(pid) + " (" + cmdline_of(pid) + ")";
  }
  return out;
}

// The cgroup a check would use: the caller's own, or for a control process that systemd
// runs in the ".control" leaf of a delegated unit (ExecStartPre=confvisord --check), the
// unit's cgroup above it. Throws Error saying why there is none.
std::string base_for_check() {
  const auto place = find_own_cgroup();
  if (!place) throw Error("no cgroup2 hierarchy is mounted");
  std::string base = place->own;
  if (base.ends_with("/.control")) base.resize(base.size() - 9);
  if (::access((base + "/cgroup.procs").c_str(), W_OK) != 0) {
    throw Error("cgroup " + base +
                " is not writable (run as root, or under systemd with Delegate=yes)");
  }
  return base;
}

// Waits until every one of `cgroups` is empty, through inotify on their cgroup.events, for
// at most kLeftoverBound. Returns those still populated.
std::vector<Cgroup> wait_empty(const std::vector<Cgroup>& cgroups) {
  const UniqueFd inotify(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify) throw_sys("create an inotify descriptor for cgroup events");
  for (const Cgroup& c : cgroups) {
    ::inotify_add_watch(inotify.get(), (c.path() + "/cgroup.events").c_str(), IN_MODIFY);
  }
  const auto deadline = Clock::now() + kLeftoverBound;
  for (;;) {
    std::vector<Cgroup> left;
    for (const Cgroup& c : cgroups) {
      if (c.populated()) left.push_back(c);
    }
    const auto now = Clock::now();
    if (left.empty() || now >= deadline) return left;
    pollfd p{inotify.get(), POLLIN, 0};
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    ::poll(&p, 1, static_cast<int>(ms.count()) + 1);
    char drain[4096];
    while (::read(inotify.get(), drain, sizeof drain) > 0) {
    }
  }
}

// Waits until every process behind `pidfds` has exited, for at most kLeftoverBound.
// Returns how many are still alive.
std::size_t wait_exited(std::vector<std::pair<pid_t, UniqueFd>>& pidfds) {
  const auto deadline = Clock::now() + kLeftoverBound;
  for (;;) {
    std::vector<pollfd> fds;
    for (const auto& [pid, fd] : pidfds) fds.push_back({fd.get(), POLLIN, 0});
    const auto now = Clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    if (fds.empty()) return 0;
    if (now >= deadline) return fds.size();
    if (::poll(fds.data(), fds.size(), static_cast<int>(ms.count()) + 1) < 0 && errno != EINTR) {
      return fds.size();
    }
    for (std::size_t i = fds.size(); i-- > 0;) {
      if (fds[i].revents != 0) pidfds.erase(pidfds.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
}

// Our own pid and those of our ancestors: never leftovers, whatever their environment.
std::set<pid_t> self_and_ancestors() {
  std::set<pid_t> out;
  for (pid_t pid = ::getpid(); pid > 1 && out.insert(pid).second;) {
    const auto stat = read_small_file("/proc/" + std::to_string(pid) + "/stat").value_or("");
    const auto close = stat.rfind(')');
    if (close == std::string::npos || close + 4 >= stat.size()) break;
    pid = static_cast<pid_t>(std::atol(stat.c_str() + close + 4));
  }
  return out;
}

// Whether the environment `pid` started with names `segment` (or its canary segment) and a
// worker instance: the variables the daemon gives every worker and that its descendants
// inherit.
bool carries_segment(pid_t pid, const std::string& segment) {
  const auto environ = read_small_file("/proc/" + std::to_string(pid) + "/environ");
  if (!environ) return false;
  bool seg = false, worker = false, instance = false;
  for (std::size_t begin = 0, end; begin < environ->size(); begin = end + 1) {
    end = environ->find('\0', begin);
    if (end == std::string::npos) end = environ->size();
    const std::string_view var = std::string_view(*environ).substr(begin, end - begin);
    seg = seg || var == "CONFVISOR_SEGMENT=" + segment ||
          var == "CONFVISOR_SEGMENT=" + canary_segment(segment);
    worker = worker || var.starts_with("CONFVISOR_WORKER=");
    instance = instance || var.starts_with("CONFVISOR_INSTANCE=");
  }
  return seg && worker && instance;
}

}  // namespace

const char* tracking_mode_name(TrackingMode mode) {
  switch (mode) {
    case TrackingMode::cgroup:
      return "cgroup";
    case TrackingMode::subreaper:
      return "subreaper";
  }
  return "?";
}

TrackingSetting tracking_setting() {
  const char* value = std::getenv(kTrackingVariable);
  const std::string setting = value == nullptr || *value == '\0' ? "auto" : value;
  if (setting == "auto") return TrackingSetting::automatic;
  if (setting == "cgroup") return TrackingSetting::cgroup;
  if (setting == "subreaper") return TrackingSetting::subreaper;
  throw Error(std::string(kTrackingVariable) + "=" + setting +
              ": expected auto, cgroup or subreaper");
}

ProcessTracking::ProcessTracking(boost::asio::io_context& io, const std::string& segment)
    : segment_(segment), watch_(std::make_unique<CgroupWatch>(io)) {
  const TrackingSetting setting = tracking_setting();
  if (setting == TrackingSetting::subreaper) {
    fallback_reason_ = std::string(kTrackingVariable) + "=subreaper";
  } else if (const auto place = find_own_cgroup(); !place) {
    fallback_reason_ = "no cgroup2 hierarchy is mounted";
  } else {
    try {
      use_cgroups(*place);
    } catch (const Error& e) {
      if (tree_) tree_->remove();
      tree_.reset();
      fallback_reason_ = e.what();
    }
  }
  if (!tree_ && setting == TrackingSetting::cgroup) {
    throw Error(std::string(kTrackingVariable) +
                "=cgroup, but cgroups cannot be used: " + fallback_reason_);
  }
  log_info("process tracking: " + description());
  if (tree_) {
    end_leftovers_of_tree();
    const Cgroup base(tree_->path().substr(0, tree_->path().rfind('/')));
    enter_leaf_if_alone(base);
    delegate_controllers(base);
    established() = Established{"", tree_->path(), tree_->subtree_control()};
  } else {
    end_leftovers_by_environment();
    established() = Established{fallback_reason_, "", {}};
  }
}

ProcessTracking::~ProcessTracking() {
  established().reset();
  if (tree_ && !inside_tree_) {
    std::string why;
    if (!tree_->remove(&why)) log_warning(why);
  }
}

// The tree must be creatable and have cgroup.kill (Linux 5.14): without it a tree cannot be
// ended in one step, and the fallback is the honest choice.
void ProcessTracking::use_cgroups(const CgroupPlace& place) {
  if (::access((place.own + "/cgroup.procs").c_str(), W_OK) != 0) {
    throw Error("cgroup " + place.own +
                " is not writable (run as root, or under systemd with Delegate=yes)");
  }
  tree_ = Cgroup::create(place.own + "/confvisor." + segment_);
  tree_name_ = (place.name == "/" ? "" : place.name) + "/confvisor." + segment_;
  if (::access((tree_->path() + "/cgroup.kill").c_str(), W_OK) != 0) {
    throw Error(tree_->path() + "/cgroup.kill is missing (Linux 5.14 or later has it)");
  }
}

std::string ProcessTracking::description() const {
  if (tree_) return "cgroup " + tree_->path();
  return "subreaper (fallback): " + fallback_reason_;
}

Cgroup ProcessTracking::instance_cgroup(const std::string& worker, unsigned index) const {
  return Cgroup(tree_->path() + "/" + worker + "." + std::to_string(index));
}

Cgroup ProcessTracking::check_cgroup(const std::string& worker) const {
  return Cgroup(tree_->path() + "/" + worker + ".check");
}

// "0::/x.service/confvisor.demo/api.1/sub" is instance 1 of api. Only the daemon (and
// root) can move a process into the tree, so the name is as good as the process's pid.
std::optional<Owner> ProcessTracking::owner_by_cgroup(pid_t pid) const {
  if (!tree_ || pid <= 0) return std::nullopt;
  const auto text = read_small_file("/proc/" + std::to_string(pid) + "/cgroup");
  if (!text) return std::nullopt;
  const std::string prefix = "0::" + tree_name_ + "/";
  const auto at = text->find(prefix);
  if (at == std::string::npos || (at != 0 && (*text)[at - 1] != '\n')) return std::nullopt;
  const std::size_t begin = at + prefix.size();
  const std::size_t end = text->find_first_of("/\n", begin);
  const std::string leaf = text->substr(begin, end == std::string::npos ? end : end - begin);
  const auto dot = leaf.rfind('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == leaf.size()) return std::nullopt;
  const std::string index = leaf.substr(dot + 1);
  if (index.find_first_not_of("0123456789") != std::string::npos || index.size() > 9) {
    return std::nullopt;  // NAME.check, confvisord: no instance's
  }
  return Owner{leaf.substr(0, dot), static_cast<unsigned>(std::stoul(index))};
}

// Every populated cgroup of the tree is a dead daemon's (the segment's owner lock, taken
// before this, says no live daemon of this segment exists): its processes are logged,
// killed at once, waited for, and the cgroups removed.
void ProcessTracking::end_leftovers_of_tree() {
  const std::set<pid_t> ours = self_and_ancestors();
  std::vector<Cgroup> killed;
  for (const Cgroup& child : tree_->children()) {
    const std::vector<pid_t> pids = child.pids();
    if (std::any_of(pids.begin(), pids.end(), [&](pid_t p) { return ours.count(p) > 0; })) {
      continue;  // the cgroup we were started in: not a leftover
    }
    if (!pids.empty() || child.populated()) {
      log_warning("killing " + std::to_string(pids.size()) + " process(es) left in cgroup " +
                  child.path() + " by a previous confvisord of segment " + segment_ + ": " +
                  describe_pids(pids));
      child.kill();
      killed.push_back(child);
    } else {
      std::string why;
      if (!child.remove(&why)) log_warning(why);
    }
  }
  const std::vector<Cgroup> left = wait_empty(killed);
  if (!left.empty()) {
    throw Error("unable to end what a previous confvisord left: " + left.front().path() +
                " still holds " + describe_pids(left.front().pids()) + " " +
                std::to_string(kLeftoverBound.count()) + "s after cgroup.kill");
  }
  for (const Cgroup& c : killed) {
    std::string why;
    if (!c.remove(&why)) log_warning(why);
    log_info("cgroup " + c.path() + " of a previous confvisord: every process ended, removed");
  }
}

// Without cgroups a dead daemon's leftovers are told by their environment; those that
// cleared it are out of sight.
void ProcessTracking::end_leftovers_by_environment() {
  const std::set<pid_t> ours = self_and_ancestors();
  std::vector<std::pair<pid_t, UniqueFd>> pidfds;
  for (const std::string& name : directory_entries("/proc")) {
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const auto pid = static_cast<pid_t>(std::atol(name.c_str()));
    if (ours.count(pid) || !carries_segment(pid, segment_)) continue;
    // A pidfd pins the process: the signal cannot reach a new process given the same pid.
    UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!fd) continue;  // gone meanwhile
    log_warning("killing pid " + std::to_string(pid) + " (" + cmdline_of(pid) +
                "), left by a previous confvisord of segment " + segment_ +
                " (its environment names the segment)");
    ::syscall(SYS_pidfd_send_signal, fd.get(), SIGKILL, nullptr, 0);
    pidfds.emplace_back(pid, std::move(fd));
  }
  if (const std::size_t left = wait_exited(pidfds); left != 0) {
    throw Error("unable to end what a previous confvisord left: " + std::to_string(left) +
                " process(es) alive " + std::to_string(kLeftoverBound.count()) +
                "s after SIGKILL, pid " + std::to_string(pidfds.front().first));
  }
}

// cgroup v2 lets a cgroup hand controllers down only while no process is in it (the
// hierarchy's root excepted). A daemon alone in its cgroup, as under systemd, leaves it for a
// leaf of its own; one that shares it stays, and its workers get no controllers.
void ProcessTracking::enter_leaf_if_alone(const Cgroup& base) {
  const auto place = find_own_cgroup();
  if (!place || base.path() == place->mount) return;
  const std::set<std::string> procs = words_of(base.read("cgroup.procs").value_or(""));
  if (procs != std::set<std::string>{std::to_string(::getpid())}) return;
  const Cgroup leaf = Cgroup::create(tree_->path() + "/" + kDaemonLeaf);
  leaf.write("cgroup.procs", "0");
  inside_tree_ = true;
  log_info("moved into cgroup " + leaf.path() + ", so that " + base.path() +
           " can hand controllers down to the workers");
}

void ProcessTracking::delegate_controllers(const Cgroup& base) {
  auto enable = [](const Cgroup& c, std::string_view controller) {
    if (c.subtree_control().count(std::string(controller))) return;
    try {
      c.write("cgroup.subtree_control", "+" + std::string(controller));
    } catch (const Error& e) {
      log_debug(std::string("controller ") + std::string(controller) + " not enabled: " + e.what());
    }
  };
  for (std::string_view c : kLimitControllers) {
    if (base.controllers().count(std::string(c))) enable(base, c);
  }
  for (std::string_view c : kLimitControllers) {
    if (tree_->controllers().count(std::string(c))) enable(*tree_, c);
  }
  log_info("controllers for workers' limits in " + tree_->path() + ": " +
           join(tree_->subtree_control()));
}

std::optional<std::string> missing_controller(std::string_view controller) {
  const std::string name(controller);
  if (const auto& e = established()) {
    if (!e->fallback_reason.empty()) {
      return "needs the " + name +
             " controller of cgroup v2, and process tracking is subreaper (fallback): " +
             e->fallback_reason;
    }
    if (e->controllers.count(name)) return std::nullopt;
    return "needs the " + name + " controller, which is not delegated to " + e->tree +
           " (its workers get: " + join(e->controllers) + ")";
  }
  try {
    if (tracking_setting() == TrackingSetting::subreaper) {
      return "needs the " + name + " controller of cgroup v2, and " + kTrackingVariable +
             "=subreaper";
    }
  } catch (const Error& e) {
    return e.what();
  }
  std::string base;
  try {
    base = base_for_check();
  } catch (const Error& e) {
    return "needs the " + name + " controller of cgroup v2: " + e.what();
  }
  const std::set<std::string> available = Cgroup(base).controllers();
  if (available.count(name)) return std::nullopt;
  return "needs the " + name + " controller, which cgroup " + base +
         " does not have (cgroup.controllers: " + join(available) + ")";
}

// The config's origins name the file (or the fragment) of each limit, as validation does.
config::LoadResult refuse_unavailable_limits(config::LoadResult loaded,
                                             [[maybe_unused]] const std::string& file) {
  if (!loaded.config) return loaded;
  struct Need {
    std::string_view key;
    std::string_view controller;
    bool (*set)(const config::Limits&);
  };
  static constexpr Need kNeeds[] = {
      {"memory_max", "memory", [](const config::Limits& l) { return l.memory_max.has_value(); }},
      {"tasks_max", "pids", [](const config::Limits& l) { return l.tasks_max.has_value(); }},
      {"cpu_weight", "cpu", [](const config::Limits& l) { return l.cpu_weight.has_value(); }},
  };
  const auto& workers = loaded.config->settings.workers;
  for (std::size_t i = 0; i < workers.size(); ++i) {
    for (const Need& need : kNeeds) {
      if (!need.set(workers[i].limits)) continue;
      if (const auto why = missing_controller(need.controller)) {
        loaded.errors.add(loaded.config->origins.where("/confvisor/workers/" + std::to_string(i) +
                                                       "/limits/" + std::string(need.key)) +
                          ": " + *why);
      }
    }
  }
  if (!loaded.errors.empty()) loaded.config.reset();
  return loaded;
}

}  // namespace confvisor::supervise
