// The control protocol between confvisorctl and confvisord, over the daemon's Unix stream
// socket: newline-delimited JSON, one request per line, one reply per request, in order.
//
//   request:  {"version": 1, "command": "restart", "worker": "api", "instance": 0}
//   reply:    {"version": 1, "ok": true, "result": {...}}
//             {"version": 1, "ok": false, "code": "unknown-worker", "error": "no worker
//             \"apj\"..."}
//
// A request without "version", or with a version this daemon does not speak, is answered
// with code "bad-request" (its error names the versions), and so is one with an unknown
// command, a field its command does not take, or a key given twice. The README documents
// each command.
//
// A streamed reply (`logs` with "follow": true) is several reply lines for one request. Each
// but the last has "more": true; a client that does not want more closes the connection,
// which is the usual end of a stream (the daemon reads nothing else on it). Its items are
// bounded per stream: when the client does not keep up, items are dropped, and a notice with
// how many comes before the next item that fits:
//
//   request:  {"version": 1, "command": "logs", "worker": "api", "lines": 10, "follow": true}
//   replies:  {"version": 1, "ok": true, "more": true, "result": {"lines": [...]}}
//             {"version": 1, "ok": true, "more": true, "result": {"lines": [{...}]}}
//             {"version": 1, "ok": true, "more": true, "dropped": 1200}
//             ...
#pragma once

#include <array>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "confvisor/error.hpp"

namespace confvisor::control {

inline constexpr std::int64_t kProtocolVersion = 1;
// Longest request line a daemon reads; a longer one closes the connection.
inline constexpr std::size_t kMaxRequest = 64 * 1024;

// The config the packaged systemd unit runs with: confvisorctl's default daemon.
inline constexpr std::string_view kDefaultConfig = "/etc/confvisor/confvisor.json";

// Reply codes a client acts on (confvisorctl turns "denied" into exit code 4).
inline constexpr std::string_view kBadRequest = "bad-request";
inline constexpr std::string_view kDenied = "denied";
inline constexpr std::string_view kFailed = "failed";
inline constexpr std::string_view kUnknownWorker = "unknown-worker";
inline constexpr std::string_view kUnknownGeneration = "unknown-generation";
inline constexpr std::string_view kStopping = "stopping";
// Another process holds the segment's writer lock: the error names its pid. A reload or
// rollback answered so waits for the lock and is published once it is free.
inline constexpr std::string_view kBusy = "busy";

// A request the daemon cannot act on, or a command that failed: the reply's code and error.
class Failure : public Error {
 public:
  Failure(std::string_view code, const std::string& message) : Error(message), code(code) {}
  std::string code;
};

// Every command a daemon answers; the README documents each.
enum class Command { status, reload, history, get, rollback, start, stop, restart, logs };

// What a command does to the daemon. One that changes the config it serves or the workers it
// runs is refused while the daemon stops; one that only reads is answered to the end.
enum class Effect { reads, changes };

// A row of the command table: the command, its name on the wire, the fields it takes besides
// "version" and "command", and its effect. A field not listed is refused rather than ignored:
// a client that misspells "instance" must not restart every instance of the worker.
struct CommandSpec {
  Command command;
  std::string_view name;
  std::array<std::string_view, 4> fields;
  Effect effect;
};

// The command table. parse_request accepts exactly these commands with these fields, and the
// daemon's dispatcher (daemon/core/command_handlers.cc) switches on the row a request names,
// so a command is added here, once; the compiler then asks for its handler. The order is the
// order of the "commands: ..." list an unknown command is answered with.
inline constexpr std::array<CommandSpec, 9> kCommands{{
    {Command::status, "status", {}, Effect::reads},
    {Command::reload, "reload", {}, Effect::changes},
    {Command::history, "history", {}, Effect::reads},
    {Command::get, "get", {"pointer"}, Effect::reads},
    {Command::rollback, "rollback", {"generation"}, Effect::changes},
    {Command::start, "start", {"worker", "instance"}, Effect::changes},
    {Command::stop, "stop", {"worker", "instance"}, Effect::changes},
    {Command::restart, "restart", {"worker", "instance"}, Effect::changes},
    {Command::logs, "logs", {"worker", "instance", "lines", "follow"}, Effect::reads},
}};

// The row of `command` in kCommands.
[[nodiscard]] const CommandSpec& command_spec(Command command);

struct Request {
  std::string command;                // its name, as the request gave it
  const CommandSpec* spec = nullptr;  // its row of kCommands, once parse_request accepted it
  boost::json::object fields;         // the whole request object

  // Typed access to a field; a missing or mistyped one throws Failure(kBadRequest).
  [[nodiscard]] std::string string_field(std::string_view key) const;
  [[nodiscard]] std::optional<std::uint64_t> optional_count(std::string_view key) const;
  [[nodiscard]] std::uint64_t count(std::string_view key) const;
  [[nodiscard]] std::optional<bool> optional_bool(std::string_view key) const;
};

// One request line (without its newline), checked against the command table. Throws
// Failure(kBadRequest) naming what is wrong.
[[nodiscard]] Request parse_request(std::string_view line);

// A request object for `command`, with the version set.
[[nodiscard]] boost::json::object make_request(std::string_view command);

// Reply lines, newline included.
[[nodiscard]] std::string ok_reply(boost::json::value result);
[[nodiscard]] std::string error_reply(std::string_view code, std::string_view message);
// A reply line of a stream that goes on ("more": true).
[[nodiscard]] std::string stream_reply(boost::json::value result);
// The notice that `dropped` items of a stream were dropped just before it.
[[nodiscard]] std::string dropped_notice(std::uint64_t dropped);

}  // namespace confvisor::control
