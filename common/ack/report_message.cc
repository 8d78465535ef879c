#include "common/ack/report_message.hpp"

#include <charconv>

#include "common/base/error.hpp"

namespace confvisor {

namespace {

// The reason as one line of printable text, at most kMaxReason bytes, never ending inside a
// UTF-8 sequence.
std::string one_line(std::string_view reason) {
  std::string out(reason.substr(0, kMaxReason));
  if (reason.size() > kMaxReason) {
    std::size_t end = out.size();
    while (end > 0 && (static_cast<unsigned char>(out[end - 1]) & 0xC0) == 0x80) --end;
    if (end > 0 && static_cast<unsigned char>(out[end - 1]) >= 0xC0) --end;  // a lead byte
    out.resize(end);
  }
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

struct Fields {
  bool version = false, generation = false, outcome = false, reason = false;
};

void take_once(bool& seen, std::string_view key) {
  if (seen) throw Error("key " + std::string(key) + " given twice");
  seen = true;
}

std::uint64_t parse_generation(std::string_view text) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || n == 0) {
    throw Error("GENERATION must be a positive number, got \"" + std::string(text) + "\"");
  }
  return n;
}

}  // namespace

std::string encode_report(const ReportMessage& report) {
  std::string out = "CONFVISOR_ACK=" + std::to_string(kReportVersion) +
                    "\nGENERATION=" + std::to_string(report.generation) +
                    "\nOUTCOME=" + (report.applied ? "applied" : "rejected") + "\n";
  if (!report.applied) out += "REASON=" + one_line(report.reason) + "\n";
  return out;
}

ReportMessage parse_report(std::string_view packet) {
  if (packet.size() > kMaxReportMessage) {
    throw Error("longer than " + std::to_string(kMaxReportMessage) + " bytes");
  }
  ReportMessage report;
  Fields seen;
  std::string_view outcome;
  std::size_t line_number = 0;
  while (!packet.empty()) {
    const std::size_t end = packet.find('\n');
    const std::string_view line = packet.substr(0, end);
    packet = end == std::string_view::npos ? std::string_view() : packet.substr(end + 1);
    ++line_number;
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      throw Error("line " + std::to_string(line_number) + " is not KEY=VALUE");
    }
    const std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    if (line_number == 1 && key != "CONFVISOR_ACK") {
      throw Error("the first line is not CONFVISOR_ACK=VERSION");
    }
    if (key == "CONFVISOR_ACK") {
      take_once(seen.version, key);
      if (value != std::to_string(kReportVersion)) {
        throw Error("format version " + std::string(value).substr(0, 16) +
                    " is not spoken here (version " + std::to_string(kReportVersion) + " is)");
      }
    } else if (key == "GENERATION") {
      take_once(seen.generation, key);
      report.generation = parse_generation(value);
    } else if (key == "OUTCOME") {
      take_once(seen.outcome, key);
      outcome = value;
    } else if (key == "REASON") {
      take_once(seen.reason, key);
      report.reason = one_line(value);  // the daemon logs it: one line, whoever sent it
    } else {
      throw Error("unknown key \"" + std::string(key).substr(0, 32) + "\"");
    }
  }
  if (!seen.version) throw Error("empty");
  if (!seen.generation) throw Error("GENERATION is missing");
  if (outcome == "applied") {
    report.applied = true;
    if (seen.reason) throw Error("REASON is given on an applied report");
  } else if (outcome != "rejected") {
    throw Error(seen.outcome ? "OUTCOME must be applied or rejected" : "OUTCOME is missing");
  }
  return report;
}

std::string ack_socket_address(std::string_view segment, long pid) {
  return "@confvisor/" + std::string(segment) + "/ack/" + std::to_string(pid);
}

}  // namespace confvisor
