// confvisor-example-worker: the smallest useful worker, meant to be copied.
//
//   confvisor-example-worker [--segment NAME] [--once] [--exit-after N] [POINTER...]
//
// Prints, for the current generation and then for every new one, one line per JSON pointer:
//   generation 3: /database/port = 5432
//   generation 3: /log/level missing
// The segment defaults to CONFVISOR_SEGMENT (set by confvisord for its workers); the pointers
// default to "" (the whole document). Exits 0 on SIGTERM or SIGINT.
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "confvisor/worker.hpp"

namespace {

void print(const confvisor::Snapshot& snap, const std::vector<std::string>& pointers) {
  for (const std::string& pointer : pointers) {
    std::cout << "generation " << snap.generation() << ": " << pointer;
    if (const boost::json::value* v = snap.find(pointer)) {
      std::cout << " = " << boost::json::serialize(*v);
    } else {
      std::cout << " missing";
    }
    std::cout << std::endl;  // flushes: our stdout is often a pipe to a supervisor
  }
}

int usage() {
  std::cerr << "usage: confvisor-example-worker [--segment NAME] [--once] [--exit-after N] "
               "[POINTER...]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<std::string> segment;
  bool once = false;
  long exit_after = -1;  // changes to see before exiting; -1: run until signalled
  std::vector<std::string> pointers;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--segment" && i + 1 < argc) {
      segment = argv[++i];
    } else if (arg == "--exit-after" && i + 1 < argc) {
      char* end = nullptr;
      exit_after = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || exit_after < 1) return usage();
    } else if (arg == "--once") {
      once = true;
    } else if (arg.starts_with("--")) {
      return usage();
    } else {
      pointers.push_back(arg);
    }
  }
  if (pointers.empty()) pointers.push_back("");  // "" is the whole document

  // Block the signals we exit on before any thread starts: every thread inherits the mask,
  // so they stay pending until the main thread takes them with sigwait() below. No handler
  // runs, nothing is interrupted half-way through a line.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  try {
    confvisor::Reader reader =
        segment ? confvisor::Reader(*segment) : confvisor::Reader::from_env();
    if (once) {
      print(reader.current(), pointers);  // throws if nothing was ever published
      return 0;
    }

    // The callback runs on the subscription's thread: once with the current generation (if
    // there is one yet), then with every new one. It sleeps on a futex in between; no polling.
    std::uint64_t start = 0;  // the generation current at start (0: none yet) is no change
    try {
      start = reader.current().generation();
    } catch (const confvisor::Error&) {
      // Nothing published yet: the first generation will be the first change.
    }
    long changes = 0;
    confvisor::Reader::Subscription subscription =
        reader.on_change([&](const confvisor::Snapshot& snap) {
          print(snap, pointers);
          if (snap.generation() != start && ++changes == exit_after) {
            // Ask the main thread to finish, exactly as a SIGTERM from outside would. kill()
            // and not raise(): raise() targets this thread, which never takes the signal.
            ::kill(::getpid(), SIGTERM);
          }
        });

    int sig = 0;
    sigwait(&stop_signals, &sig);
    // Leaving the scope stops the subscription (joins its thread) before the Reader goes.
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "confvisor-example-worker: " << e.what() << std::endl;
    return 1;
  }
}
