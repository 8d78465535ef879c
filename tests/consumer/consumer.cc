// A worker built outside the confvisor tree against the installed package: the whole of
// what a C++ service needs (tests/consumer/CMakeLists.txt links confvisor::worker).
//
//   CONFVISOR_SEGMENT=NAME consumer [N]   prints the database address of the current
//                                         generation, then of the next N generations
#include <chrono>
#include <confvisor/worker.hpp>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

int main(int argc, char** argv) try {
  const int more = argc > 1 ? std::atoi(argv[1]) : 0;
  confvisor::Reader reader = confvisor::Reader::from_env();  // CONFVISOR_SEGMENT
  for (int i = 0;; ++i) {
    const confvisor::Snapshot& cfg = reader.current();  // cheap when nothing changed
    std::cout << "generation " << cfg.generation() << ": " << cfg.get<std::string>("/database/host")
              << ':' << cfg.get<std::int64_t>("/database/port") << std::endl;
    if (i == more) return 0;
    if (!reader.wait_for_change(std::chrono::seconds(10))) {  // futex wait, no polling
      std::cerr << "consumer: no new generation within 10 s\n";
      return 1;
    }
  }
} catch (const confvisor::Error& e) {
  std::cerr << "consumer: " << e.what() << '\n';
  return 1;
}
