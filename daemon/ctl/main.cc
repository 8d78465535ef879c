// confvisorctl: drive a running confvisord over its control socket (status, reload,
// start/stop/restart, history, rollback, get), and read, publish or remove a segment
// directly, without a daemon (get, show, publish, remove), and write a key of etcd (push).
// `confvisorctl --help` lists it all; exit codes are in daemon/ctl/command_line.hpp.

#include <exception>
#include <iostream>

#include "daemon/control/client.hpp"
#include "daemon/ctl/command_line.hpp"
#include "daemon/ctl/daemon_requests.hpp"
#include "daemon/ctl/etcd_push.hpp"
#include "daemon/ctl/segment_commands.hpp"
#include "daemon/ctl/segment_remove.hpp"

namespace ctl = confvisor::ctl;
using confvisor::control::ClientError;

namespace {

int run(const ctl::Command& cmd) {
  if (!cmd.reads_segment()) return ctl::daemon_command(cmd);
  if (cmd.name == "get") return ctl::segment_get(cmd);
  if (cmd.name == "show") return ctl::segment_show(cmd);
  if (cmd.name == "remove") return ctl::segment_remove(cmd);
  if (cmd.name == "push") return ctl::etcd_push(cmd);
  return ctl::segment_publish(cmd);
}

int exit_code_of(const ClientError& e) {
  switch (e.kind) {
    case ClientError::Kind::not_running:
      return ctl::kExitNotRunning;
    case ClientError::Kind::denied:
      return ctl::kExitDenied;
    case ClientError::Kind::timeout:
    case ClientError::Kind::broken:
      break;
  }
  return ctl::kExitFailed;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const ctl::Command cmd = ctl::parse_command_line(argc, argv);
    switch (cmd.info) {
      case ctl::Command::Info::help:
        std::cout << ctl::kUsage << '\n' << cmd.options_help;
        return ctl::kExitOk;
      case ctl::Command::Info::version:
        std::cout << "confvisorctl " << CONFVISOR_VERSION << '\n';
        return ctl::kExitOk;
      case ctl::Command::Info::none:
        break;
    }
    return run(cmd);
  } catch (const ctl::UsageError& e) {
    // One line a script's log keeps whole; the help is one flag away.
    std::cerr << "confvisorctl: " << e.what() << " (see confvisorctl --help)\n";
    return ctl::kExitUsage;
  } catch (const ClientError& e) {
    std::cerr << "confvisorctl: " << e.what() << '\n';
    return exit_code_of(e);
  } catch (const std::exception& e) {
    std::cerr << "confvisorctl: " << e.what() << '\n';
    return ctl::kExitFailed;
  }
}
