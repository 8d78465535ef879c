// confvisord: loads a JSON config, publishes it to shared memory, republishes on SIGHUP.
//
// Exit codes: 0 clean stop or valid --check; 1 the config or the environment is wrong
// (every error is printed); 2 the command line is wrong.
#include <boost/program_options.hpp>
#include <iostream>

#include "common/base/log.hpp"
#include "daemon/config/document_schema.hpp"
#include "daemon/config/model.hpp"
#include "daemon/core/daemon.hpp"

namespace po = boost::program_options;
using namespace confvisor;

namespace {

constexpr int kExitBadConfig = 1;
constexpr int kExitUsage = 2;

struct Options {
  std::string config;
  bool check = false;
  std::string log_level = "info";
};

po::options_description describe(Options& o) {
  po::options_description d(
      "Usage: confvisord --config FILE [--check] [--log-level LEVEL]\nOptions");
  d.add_options()("config,c", po::value(&o.config)->value_name("FILE"),
                  "the JSON config file (required)")("check", po::bool_switch(&o.check),
                                                     "validate FILE, print every error, and exit")(
      "log-level", po::value(&o.log_level)->value_name("LEVEL"),
      "debug, info (default), warning or error")("version", "print the version and exit")(
      "help,h", "print this help and exit");
  return d;
}

int usage_error(const std::string& message) {
  std::cerr << "confvisord: " << message << " (see confvisord --help)\n";
  return kExitUsage;
}

int check(const std::string& path) {
  config::LoadResult result = config::refuse_schema_violations(supervise::refuse_unavailable_limits(
      config::load_config(path, config::Settings{}.max_config_size), path));
  if (!result.config) {
    for (const auto& e : result.errors) std::cerr << e << '\n';
    std::cerr << "confvisord: " << path << ": " << result.errors.size() << " error(s)\n";
    return kExitBadConfig;
  }
  const auto& s = result.config->settings;
  std::cout << path << ": ok (segment " << s.segment << ", " << s.workers.size() << " worker(s))\n";
  return 0;
}

int serve(const std::string& path) {
  try {
    daemon::Daemon d(path);
    return d.run();
  } catch (const daemon::ConfigRejected& e) {
    for (const auto& line : e.errors) log_error("config rejected: " + line);
    return kExitBadConfig;
  } catch (const std::exception& e) {
    log_error(std::string("unable to start: ") + e.what());
    return kExitBadConfig;
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  po::options_description desc = describe(o);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error(e.what());
  }
  if (vm.count("help")) {
    std::cout << desc << '\n';
    return 0;
  }
  if (vm.count("version")) {
    std::cout << "confvisord " << CONFVISOR_VERSION << '\n';
    return 0;
  }
  if (o.config.empty()) return usage_error("--config FILE is required");
  try {
    set_log_level(parse_log_level(o.log_level));
  } catch (const Error& e) {
    return usage_error(e.what());
  }
  return o.check ? check(o.config) : serve(o.config);
}
