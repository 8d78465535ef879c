#include "tests/support/daemon_client.hpp"

#include <boost/json/parse.hpp>
#include <stdexcept>

namespace confvisor::test {

RunResult confvisorctl(DaemonProcess& d, const std::vector<std::string>& args,
                       const std::vector<std::string>& prefix) {
  d.drain_notifications();
  std::vector<std::string> argv = prefix;
  argv.push_back(bin("confvisorctl"));
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, {"CONFVISOR_SEGMENT"});
}

RunResult confvisorctl_at(DaemonProcess& d, const std::string& socket,
                          std::vector<std::string> args) {
  args.insert(args.begin(), {"--socket", socket});
  return confvisorctl(d, args);
}

boost::json::value status_at(DaemonProcess& d, const std::string& socket) {
  const RunResult r = confvisorctl_at(d, socket, {"status", "--json"});
  if (r.exit_code() != 0 && r.exit_code() != 5) {
    throw std::runtime_error("confvisorctl status --json exited " + std::to_string(r.exit_code()) +
                             ": " + r.output);
  }
  return boost::json::parse(r.output);
}

}  // namespace confvisor::test
