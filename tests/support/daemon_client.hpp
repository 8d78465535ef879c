// confvisorctl against the daemon a test runs.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <vector>

#include "tests/support/daemon_process.hpp"
#include "tests/support/test_support.hpp"

namespace confvisor::test {

// Runs build/bin/confvisorctl with `args`, after `prefix` (a wrapper such as timeout or
// setpriv), with CONFVISOR_SEGMENT unset so that only the arguments choose the daemon. The
// daemon's notifications are drained first: a reload sends two, and once the queue is full
// the daemon drops them, so a later wait for one would miss it.
[[nodiscard]] RunResult confvisorctl(DaemonProcess& d, const std::vector<std::string>& args,
                                     const std::vector<std::string>& prefix = {});

// confvisorctl --socket SOCKET ARGS, as confvisorctl() runs it.
[[nodiscard]] RunResult confvisorctl_at(DaemonProcess& d, const std::string& socket,
                                        std::vector<std::string> args);

// `confvisorctl --socket SOCKET status --json`, parsed. It exits 5 while an instance is down
// (BACKOFF after a crash, FATAL), with the same JSON; any other exit throws, with the output.
[[nodiscard]] boost::json::value status_at(DaemonProcess& d, const std::string& socket);

}  // namespace confvisor::test
