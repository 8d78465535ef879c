// How confvisord knows which processes are a worker's, chosen once at start:
//
// - cgroup: each instance runs in a cgroup v2 of its own, TREE/NAME.INDEX, where TREE is
//   BASE/confvisor.SEGMENT and BASE the daemon's own cgroup when it started (under systemd
//   the unit's cgroup, with Delegate=yes; as root elsewhere whatever cgroup it was started
//   in, on hybrid hosts a directory of /sys/fs/cgroup/unified). The names depend on nothing
//   but the segment, so a daemon started again finds what a dead one of the same segment
//   left. A daemon alone in a cgroup other than the hierarchy's root moves itself to the
//   leaf TREE/confvisord, so that BASE may hand controllers down (cgroup v2 lets only a
//   cgroup without processes of its own do that).
// - subreaper (fallback), where no cgroup2 hierarchy is writable: the daemon is a child
//   subreaper and tells a worker's leftovers by the CONFVISOR_* variables they inherited.
//   It cannot see a process that cleared or changed its environment, nor one that escaped
//   to another subreaper or was reparented to init while the daemon was not running.
//
// CONFVISOR_TRACKING=auto (the default) | cgroup | subreaper in the daemon's environment
// chooses: auto takes cgroup where it works, cgroup refuses to start without it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "daemon/config/model.hpp"
#include "daemon/supervise/cgroup.hpp"
#include "daemon/supervise/cgroup_watch.hpp"

namespace confvisor::supervise {

enum class TrackingMode { cgroup, subreaper };
[[nodiscard]] const char* tracking_mode_name(TrackingMode mode);

class ProcessTracking {
 public:
  // Chooses the mode and, before any worker starts, ends what a dead daemon of `segment`
  // left. Every populated cgroup of the tree is cgroup.kill-ed; in subreaper mode every
  // process whose environment names this segment, worker and instance is SIGKILLed. Each
  // process is logged, and the call returns once all of them are gone, within a bound. Throws Error
  // when CONFVISOR_TRACKING=cgroup cannot be had, or when something of the old tree is still
  // alive at the bound (a process stuck in the kernel): starting the workers beside it
  // would run two copies.
  ProcessTracking(boost::asio::io_context& io, const std::string& segment);
  ~ProcessTracking();  // removes the tree when it is empty

  [[nodiscard]] TrackingMode mode() const {
    return tree_ ? TrackingMode::cgroup : TrackingMode::subreaper;
  }
  // "cgroup /sys/fs/cgroup/unified/confvisor.demo" or "subreaper (fallback): <why>".
  [[nodiscard]] std::string description() const;
  // cgroup mode: the cgroup of instance `index` of worker `worker` (not created here).
  [[nodiscard]] Cgroup instance_cgroup(const std::string& worker, unsigned index) const;
  // cgroup mode: the cgroup the check commands of worker `worker` run in, TREE/NAME.check
  // (no instance's: an index is a number).
  [[nodiscard]] Cgroup check_cgroup(const std::string& worker) const;
  [[nodiscard]] CgroupWatch& watch() { return *watch_; }

 private:
  void use_cgroups(const CgroupPlace& place);
  void end_leftovers_of_tree();
  void end_leftovers_by_environment();
  void enter_leaf_if_alone(const Cgroup& base);
  void delegate_controllers(const Cgroup& base);

  std::string segment_;
  std::optional<Cgroup> tree_;
  bool inside_tree_ = false;  // the daemon moved itself to TREE/confvisord
  std::string fallback_reason_;
  std::unique_ptr<CgroupWatch> watch_;
};

// Why a worker's limit through `controller` ("memory", "pids", "cpu") cannot be applied here;
// nullopt when it can. A running daemon answers from its tree; any other process (confvisord
// --check) from the cgroup it would use.
[[nodiscard]] std::optional<std::string> missing_controller(std::string_view controller);

// Returns `loaded` refused as a whole when a worker's limit cannot be applied on this host,
// with an error per such limit worded as validation words its errors
// ("FILE: /confvisor/workers/0/limits/tasks_max: needs the pids controller, ..."). A limit
// that silently does nothing is worse than none. Every config the daemon loads, and `confvisord
// --check`, passes here.
[[nodiscard]] config::LoadResult refuse_unavailable_limits(config::LoadResult loaded,
                                                           const std::string& file);

// What the tracking setting in the environment asks for: "auto" (or unset), "cgroup" or
// "subreaper". Throws Error naming the variable for any other value.
enum class TrackingSetting { automatic, cgroup, subreaper };
[[nodiscard]] TrackingSetting tracking_setting();

}  // namespace confvisor::supervise
