// A cgroup v2 directory and the few of its files confvisord uses: cgroup.procs to join it,
// cgroup.events to learn that it is empty, cgroup.kill to end everything in it (the kernel
// SIGKILLs every process of the cgroup and of its descendants, whatever their session,
// process group or environment), and the limit files of delegated controllers.
#pragma once

#include <sys/types.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/os/small_file.hpp"
#include "common/os/unique_fd.hpp"

namespace confvisor::supervise {

// Where this process sits in the cgroup2 hierarchy: the hierarchy's mount point (the first
// cgroup2 line of /proc/self/mountinfo) and the directory of our own cgroup (the "0::PATH"
// line of /proc/self/cgroup) below it. Nullopt without a cgroup2 mount, or when our cgroup is
// outside what the mount shows (a cgroup namespace that hides it).
struct CgroupPlace {
  std::string mount;  // "/sys/fs/cgroup" or, on hybrid hosts, "/sys/fs/cgroup/unified"
  std::string own;    // mount + our cgroup's path: "/sys/fs/cgroup/system.slice/x.service"
  std::string name;   // our cgroup as /proc/self/cgroup names it: "/system.slice/x.service"
};
[[nodiscard]] std::optional<CgroupPlace> find_own_cgroup();

class Cgroup {
 public:
  explicit Cgroup(std::string path) : path_(std::move(path)) {}

  // Creates the directory (an existing one is fine) and returns it. Throws Error.
  static Cgroup create(const std::string& path);

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] bool exists() const;
  // Whether a live process is in it or below it ("populated 1" in cgroup.events). A zombie
  // is not: it has left its cgroup when it exited.
  [[nodiscard]] bool populated() const;
  // The processes in it and in every cgroup below it.
  [[nodiscard]] std::vector<pid_t> pids() const;
  // The cgroups directly below it.
  [[nodiscard]] std::vector<Cgroup> children() const;
  // cgroup.controllers (what it may use) or cgroup.subtree_control (what its children get).
  [[nodiscard]] std::set<std::string> controllers() const;
  [[nodiscard]] std::set<std::string> subtree_control() const;

  // SIGKILLs everything in it and below it (cgroup.kill). Throws Error.
  void kill() const;
  // Removes it and every (empty) cgroup below it, deepest first. False when one is still
  // populated or cannot be removed; `why` then says which and why.
  bool remove(std::string* why = nullptr) const;
  // Writes `value` to its file `name`. Throws Error naming the file.
  void write(const std::string& name, const std::string& value) const;
  // The whole of its file `name`, or nullopt when it cannot be read (no such controller).
  [[nodiscard]] std::optional<std::string> read(const std::string& name) const;
  // cgroup.procs opened for writing, O_CLOEXEC: a child writes "0" to it to join. Throws.
  [[nodiscard]] UniqueFd open_procs() const;

 private:
  std::string path_;
};

// The words of a cgroup list file ("cpu memory pids").
[[nodiscard]] std::set<std::string> words_of(const std::string& text);

}  // namespace confvisor::supervise
