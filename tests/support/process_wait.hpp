// Waiting for the processes a test runs: how a child ended, and the real daemon's readiness
// and log lines.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <string>

#include "tests/support/daemon_process.hpp"

namespace confvisor::test {

// The exit code in a raw wait status, or 128 + the signal that ended the process, as a shell
// reports it.
[[nodiscard]] int exit_code(int status);

// Waits for the daemon's READY=1. Throws, with the end of the daemon's log, if it does not
// come within `timeout`: the test case fails there.
void require_ready(DaemonProcess& d, std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Re-reads the daemon's log every 10 ms until `count` lines contain `needle`; false after
// `timeout`. Drains the daemon's notifications meanwhile, as a service manager would.
[[nodiscard]] bool wait_for_log(DaemonProcess& d, const std::string& needle,
                                std::chrono::milliseconds timeout, std::size_t count = 1);
// Waits until the file `path` exists and ends with a newline (a whole line was written); false
// after `timeout`.
[[nodiscard]] bool wait_for_file(const std::string& path, std::chrono::milliseconds timeout);
// The pid a worker wrote to `path` as a whole line, once it is there (a test may call it only
// to wait); throws if none comes within 10 s.
pid_t pid_from_file(const std::string& path);

// As wait_for_log, but throws, with the end of the log, after `timeout`.
void require_log(DaemonProcess& d, const std::string& needle,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10),
                 std::size_t count = 1);

}  // namespace confvisor::test
