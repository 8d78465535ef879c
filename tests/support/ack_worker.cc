// ack_worker: a worker that reports what it does with each generation, through the C++ API.
//
//   ack_worker                  reads CONFVISOR_SEGMENT; for the current generation and every
//                               new one, looks at /app/instances/<CONFVISOR_INSTANCE>, else
//                               /app/mode, and then: "apply" (or nothing there) reports it
//                               applied; "reject" reports it rejected with the reason
//                               "/app/mode is reject" (or /app/reason); "crash" exits with
//                               code 70 before it reports; "silent" reports nothing. Prints
//                               "generation N: MODE -> RESULT" for each.
//   ack_worker --once SEGMENT   reports the current generation of SEGMENT applied once and
//                               prints the result's name ("sent", "unsupervised", "dropped").
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "confvisor/worker.hpp"

namespace {

std::string mode_of(const confvisor::Snapshot& cfg) {
  const char* instance = std::getenv("CONFVISOR_INSTANCE");
  if (instance != nullptr) {
    if (const auto* v = cfg.find(std::string("/app/instances/") + instance); v && v->is_string())
      return std::string(v->get_string());
  }
  return cfg.get<std::string>("/app/mode", "apply");
}

void handle(const confvisor::Reader& reader, const confvisor::Snapshot& cfg) {
  const std::string mode = mode_of(cfg);
  std::string result = "nothing";
  if (mode == "crash") {
    std::cout << "generation " << cfg.generation() << ": crash" << std::endl;
    ::_exit(70);
  } else if (mode == "reject") {
    const std::string reason = cfg.get<std::string>("/app/reason", "/app/mode is reject");
    result = confvisor::report_result_name(reader.report_rejected(cfg, reason));
  } else if (mode != "silent") {
    result = confvisor::report_result_name(reader.report_applied(cfg));
  }
  std::cout << "generation " << cfg.generation() << ": " << mode << " -> " << result << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 3 && std::string(argv[1]) == "--once") {
      confvisor::Reader reader(argv[2]);
      std::cout << confvisor::report_result_name(reader.report_applied(reader.current()))
                << std::endl;
      return 0;
    }
    confvisor::Reader reader = confvisor::Reader::from_env();
    for (;;) {
      handle(reader, reader.current());
      reader.wait_for_change(std::chrono::nanoseconds(-1));
    }
  } catch (const std::exception& e) {
    std::cerr << "ack_worker: " << e.what() << std::endl;
    return 1;
  }
}
