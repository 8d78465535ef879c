// What a worker tells confvisord about a generation: that it applied it, or rejected it and
// why. It travels as one packet on the daemon's ack socket (CONFVISOR_ACK_SOCKET), in the
// small, versioned text format of docs/acks.md:
//
//   CONFVISOR_ACK=1
//   GENERATION=7
//   OUTCOME=rejected
//   REASON=/db/port: expected integer, found string "x"
//
// Who sent it is not part of the text: the daemon learns that from the kernel (the sender's
// credentials), so a report cannot claim to come from another instance.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace confvisor {

// The format's version, the first line of every report.
inline constexpr int kReportVersion = 1;
// The longest report a daemon accepts; a longer packet is malformed. A reason is cut to
// kMaxReason bytes (at a UTF-8 boundary) by the sender, so a report always fits.
inline constexpr std::size_t kMaxReportMessage = 1024;
inline constexpr std::size_t kMaxReason = 512;

// The variable confvisord names its ack socket in, in every worker's environment.
inline constexpr const char* kAckSocketVariable = "CONFVISOR_ACK_SOCKET";

struct ReportMessage {
  std::uint64_t generation = 0;
  bool applied = false;  // false: rejected
  std::string reason;    // rejected only; may be empty
};

// The packet for `report`. Control characters of the reason (newlines included) become
// spaces and it is cut to kMaxReason bytes.
[[nodiscard]] std::string encode_report(const ReportMessage& report);

// Parses a packet. Throws Error saying what is wrong with it: a version other than
// kReportVersion, a missing, repeated or unknown key, a generation that is not a positive
// number, an outcome other than applied or rejected, a reason on an applied report.
[[nodiscard]] ReportMessage parse_report(std::string_view packet);

// The abstract socket address a daemon of `segment` with pid `pid` listens on for reports:
// "@confvisor/SEGMENT/ack/PID".
[[nodiscard]] std::string ack_socket_address(std::string_view segment, long pid);

}  // namespace confvisor
