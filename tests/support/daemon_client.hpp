// confvisorctl against the daemon a test runs.
#pragma once

#include <string>
#include <vector>

#include "tests/support/daemon_process.hpp"
#include "tests/support/test_support.hpp"

namespace confvisor::test {

// Runs build/bin/confvisorctl with `args`, after `prefix` (a wrapper such as timeout or
// setpriv), with CONFVISOR_SEGMENT unset so that only the arguments choose the daemon. The
// daemon's notifications are drained first: a reload sends two, and a service manager that
// never reads would block the daemon in sd_notify.
[[nodiscard]] RunResult confvisorctl(DaemonProcess& d, const std::vector<std::string>& args,
                                     const std::vector<std::string>& prefix = {});

}  // namespace confvisor::test
