// The worker's end of the ack socket: sends one report to the daemon named by
// CONFVISOR_ACK_SOCKET, never waiting. The Reader's report_applied and report_rejected and
// the C API's confvisor_report_* are this with their own return values.
#pragma once

#include "common/ack/report_message.hpp"
#include "confvisor/worker.hpp"

namespace confvisor {

struct SendOutcome {
  ReportResult result = ReportResult::sent;
  int error = 0;  // dropped: the errno that says why (EAGAIN: the daemon's queue is full)
};

// One connection per process, made at the first report and again after a fork() or when
// the daemon closed it; every send is MSG_DONTWAIT, so a daemon that is stopped or slow
// costs the worker nothing but the report.
[[nodiscard]] SendOutcome send_report(const ReportMessage& report);

}  // namespace confvisor
