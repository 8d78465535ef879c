// rollout_worker: a worker that a value in the config breaks, for the verified rollout's
// tests. It reads CONFVISOR_SEGMENT, prints "rollout_worker: generation N" for the generation
// it starts with and every new one, and acts on what the generation says under /app:
//
//   "crash": true        exits 3 at once (at its start, or when such a generation comes)
//   "hang": true         at its start: never sends READY=1 (as a service stuck in its init)
//   "stop_pings": true   sends no more WATCHDOG=1 from then on
//
// Otherwise it sends READY=1 (with a NOTIFY_SOCKET) once it has read its first generation,
// and WATCHDOG=1 every third of WATCHDOG_USEC if that is set. SIGTERM ends it.
#include <systemd/sd-daemon.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "confvisor/worker.hpp"

namespace {

bool flag(const confvisor::Snapshot& snap, const char* pointer) {
  const boost::json::value* v = snap.find(pointer);
  return v != nullptr && v->is_bool() && v->get_bool();
}

// Prints and acts on one generation; exits on "crash".
void apply(const confvisor::Snapshot& snap) {
  std::printf("rollout_worker: generation %llu\n",
              static_cast<unsigned long long>(snap.generation()));
  if (flag(snap, "/app/crash")) {
    std::printf("rollout_worker: /app/crash is true: exiting 3\n");
    std::fflush(stdout);
    std::_Exit(3);
  }
  std::fflush(stdout);
}

int serve() {
  confvisor::Reader reader = confvisor::Reader::from_env();
  confvisor::Snapshot snap = reader.current();
  apply(snap);
  if (!flag(snap, "/app/hang")) ::sd_notify(0, "READY=1");
  std::uint64_t watchdog_usec = 0;
  const bool pinging = ::sd_watchdog_enabled(0, &watchdog_usec) > 0;
  const auto every = pinging ? std::chrono::microseconds(watchdog_usec / 3)
                             : std::chrono::microseconds(-1);  // forever
  bool pings = pinging && !flag(snap, "/app/stop_pings");
  for (;;) {
    if (reader.wait_for_change(every)) {
      snap = reader.current();
      apply(snap);
      if (flag(snap, "/app/stop_pings")) pings = false;
    }
    if (pings) ::sd_notify(0, "WATCHDOG=1");
  }
}

}  // namespace

int main() {
  try {
    return serve();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rollout_worker: %s\n", e.what());
    return 1;
  }
}
