// Processes a worker left behind, in the subreaper mode of process tracking (the fallback
// where no cgroup2 is writable; daemon/supervise/process_tracking.hpp). confvisord is a child
// subreaper, so a descendant that left its worker's process group (setsid, double fork) becomes our
// child when its parent dies; the CONFVISOR_WORKER and CONFVISOR_INSTANCE it inherited say whose it
// was.
#pragma once

#include <sys/types.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace confvisor::supervise {

struct Owner {
  std::string worker;
  unsigned instance = 0;
};

// Our children that are not in `known` (the workers' main processes), with the owner their
// environment names (nullopt when it names none).
struct Adopted {
  pid_t pid;
  std::optional<Owner> owner;
};
// Where the children are found: the kernel's list of each of our threads' children, or the
// stat of every process on the machine (for kernels without those lists). `automatic` takes
// the lists when the kernel has them; the others are for tests of each way.
enum class ChildScan { automatic, children_lists, every_process };
[[nodiscard]] std::vector<Adopted> adopted_children(const std::set<pid_t>& known,
                                                    ChildScan scan = ChildScan::automatic);

}  // namespace confvisor::supervise
