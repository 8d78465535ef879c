// confvisorctl push FILE --etcd URL[,URL...] --key KEY [--if-revision R]: writes FILE's
// document to one etcd key, checked first as the daemon would check it as an overlay value,
// in a transaction that compares the key's mod_revision, so that two operators cannot
// overwrite each other's change.
#pragma once

#include "daemon/ctl/command_line.hpp"

namespace confvisor::ctl {

// kExitOk with "push ok: KEY at revision N" on stdout; kExitFailed with the reason on stderr
// when FILE is refused (FILE:LINE:COL for syntax), the key would land in /confvisor, or the
// key changed since it was read (naming the revision that changed it). Throws Error when no
// endpoint answers.
int etcd_push(const Command& cmd);

}  // namespace confvisor::ctl
