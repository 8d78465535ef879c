// An sd_notify-aware service for the supervision tests: it speaks to $NOTIFY_SOCKET through
// libsystemd's own sd_notify, as a real service does, so the tests show that such services
// work under confvisord unchanged.
//
//   notify_worker [ready-after MS] [status TEXT] [pings N EVERY_MS]
//
// Waits MS ms (default 0), sends READY=1, then STATUS=TEXT if given, then WATCHDOG=1 N times
// every EVERY_MS ms, then sleeps until killed without pinging again. Exits 2 on a bad command
// line, 3 if sd_notify fails or finds no NOTIFY_SOCKET.
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

int usage() {
  std::fputs("usage: notify_worker [ready-after MS] [status TEXT] [pings N EVERY_MS]\n", stderr);
  return 2;
}

bool notify(const std::string& message) {
  const int rc = ::sd_notify(0, message.c_str());
  if (rc > 0) return true;
  std::fprintf(stderr, "notify_worker: sd_notify(%s): %s\n", message.c_str(),
               rc == 0 ? "no NOTIFY_SOCKET" : std::strerror(-rc));
  return false;
}

void sleep_ms(long ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

}  // namespace

int main(int argc, char** argv) {
  long ready_after = 0, pings = 0, every = 0;
  std::string status;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "ready-after" && i + 1 < argc) {
      ready_after = std::atol(argv[++i]);
    } else if (arg == "status" && i + 1 < argc) {
      status = argv[++i];
    } else if (arg == "pings" && i + 2 < argc) {
      pings = std::atol(argv[++i]);
      every = std::atol(argv[++i]);
    } else {
      return usage();
    }
  }
  sleep_ms(ready_after);
  if (!notify("READY=1")) return 3;
  std::printf("notify_worker: ready\n");
  std::fflush(stdout);
  if (!status.empty() && !notify("STATUS=" + status)) return 3;
  for (long i = 0; i < pings; ++i) {
    sleep_ms(every);
    if (!notify("WATCHDOG=1")) return 3;
  }
  for (;;) ::pause();
}
