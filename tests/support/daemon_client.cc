#include "tests/support/daemon_client.hpp"

namespace confvisor::test {

RunResult confvisorctl(DaemonProcess& d, const std::vector<std::string>& args,
                       const std::vector<std::string>& prefix) {
  d.drain_notifications();
  std::vector<std::string> argv = prefix;
  argv.push_back(bin("confvisorctl"));
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, {"CONFVISOR_SEGMENT"});
}

}  // namespace confvisor::test
