// Which side of how many fork()s this process is. A confvisor::Reader cannot be carried over
// a fork as it is: a thread of the parent may have held its mutex (the child would wait for
// it forever), and the threads of its subscriptions are gone. So each Python object that owns
// one remembers the epoch it was made in, and in a child (a new epoch) makes a fresh one
// before its next use. Comparing the epochs is one load: cheaper than getpid(), which glibc
// no longer caches.
#pragma once

namespace confvisor::python {

// Bumped by a pthread_atfork child handler that the module's init registers.
[[nodiscard]] unsigned current_fork_epoch() noexcept;
void install_fork_handler() noexcept;

}  // namespace confvisor::python
