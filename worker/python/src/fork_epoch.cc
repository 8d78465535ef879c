#include "worker/python/src/fork_epoch.hpp"

#include <pthread.h>

namespace confvisor::python {

namespace {

// Written only by the child handler, which runs while the child has a single thread;
// read under the GIL.
unsigned fork_epoch = 0;

void after_fork_in_child() noexcept {
  ++fork_epoch;
}

}  // namespace

unsigned current_fork_epoch() noexcept {
  return fork_epoch;
}

void install_fork_handler() noexcept {
  pthread_atfork(nullptr, nullptr, after_fork_in_child);
}

}  // namespace confvisor::python
