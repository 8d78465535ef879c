// confvisord: loads a JSON config, publishes it to shared memory, republishes on SIGHUP.
//
// Exit codes: 0 clean stop or valid --check; 1 the config or the environment is wrong, or a
// worker's check refused it (every error is printed); 2 the command line is wrong; 3
// (daemon::kExitWorkerFatal) a worker whose on_fatal is "exit" became FATAL, and every worker
// was stopped.
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <boost/program_options.hpp>
#include <iostream>

#include "common/base/log.hpp"
#include "daemon/config/document_schema.hpp"
#include "daemon/config/model.hpp"
#include "daemon/core/daemon.hpp"
#include "daemon/supervise/check_host.hpp"
#include "daemon/supervise/check_run.hpp"

namespace po = boost::program_options;
using namespace confvisor;

namespace {

constexpr int kExitBadConfig = 1;
constexpr int kExitUsage = 2;

struct Options {
  std::string config;
  bool check = false;
  bool run_checks = false;
  std::string log_level = "info";
};

po::options_description describe(Options& o) {
  po::options_description d(
      "Usage: confvisord --config FILE [--check [--run-checks]] [--log-level LEVEL]\nOptions");
  d.add_options()("config,c", po::value(&o.config)->value_name("FILE"),
                  "the JSON config file (required)");
  d.add_options()("check", po::bool_switch(&o.check),
                  "validate FILE (and its schema), print every error, and exit");
  d.add_options()("run-checks", po::bool_switch(&o.run_checks),
                  "with --check: also run the workers' check commands, as a reload does");
  d.add_options()("log-level", po::value(&o.log_level)->value_name("LEVEL"),
                  "debug, info (default), warning or error");
  d.add_options()("version", "print the version and exit");
  d.add_options()("help,h", "print this help and exit");
  return d;
}

int usage_error(const std::string& message) {
  std::cerr << "confvisord: " << message << " (see confvisord --help)\n";
  return kExitUsage;
}

// The workers' checks of a valid config, run as a reload runs them, on a loop of our own.
Errors run_checks(const config::Config& config) {
  if (!supervise::CheckRun::needed(config)) return {};
  boost::asio::io_context io;
  supervise::LoneCheckHost host(io);
  Errors errors;
  supervise::CheckRun run(host, config, boost::json::serialize(config.document),
                          [&](supervise::CheckReport report) {
                            errors = std::move(report.errors);
                            io.stop();
                          });
  io.run();
  return errors;
}

int check(const std::string& path, bool with_checks) {
  config::LoadResult result = config::refuse_schema_violations(supervise::refuse_unavailable_limits(
      config::load_config(path, config::Settings{}.max_config_size), path));
  if (result.config && with_checks) {
    try {
      Errors errors = run_checks(*result.config);
      if (!errors.empty()) result = {std::nullopt, std::move(errors), {}};
    } catch (const Error& e) {
      result = {std::nullopt, {path + ": unable to run the workers' checks: " + e.what()}, {}};
    }
  }
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
  if (o.run_checks && !o.check) return usage_error("--run-checks goes with --check");
  return o.check ? check(o.config, o.run_checks) : serve(o.config);
}
