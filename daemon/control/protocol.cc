#include "daemon/control/protocol.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/json/scan.hpp"

namespace confvisor::control {

namespace json = boost::json;

namespace {

[[noreturn]] void bad_request(const std::string& message) {
  throw Failure(kBadRequest, message);
}

std::string quoted(std::string_view key) {
  return "\"" + std::string(key) + "\"";
}

std::string command_list() {
  std::string out;
  for (const auto& c : kCommands) out += (out.empty() ? "" : ", ") + std::string(c.name);
  return out;
}

// Requests are flat objects; the depth limit only bounds what a hostile line costs.
json::parse_options request_parse_options() {
  json::parse_options options;
  options.max_depth = 16;
  return options;
}

// Boost.JSON keeps one value of a repeated key; a request such as {"command": "status",
// "command": "stop"} must not run whichever one it keeps. The config loader's scan finds
// syntax errors with their offset and every duplicate key.
void check_syntax(std::string_view line) {
  const JsonScan scan = scan_json(line, request_parse_options());
  if (scan.error) {
    bad_request("request is not JSON: " + scan.error.message() + " at byte " +
                std::to_string(scan.error_offset));
  }
  if (!scan.duplicates.empty()) {
    const DuplicateKey& d = scan.duplicates.front();
    bad_request("duplicate key " + quoted(d.key) + " at byte " + std::to_string(d.offset) +
                (d.object_pointer.empty() ? "" : " in " + d.object_pointer));
  }
}

const CommandSpec& spec_named(std::string_view name) {
  const auto spec = std::find_if(kCommands.begin(), kCommands.end(),
                                 [&](const CommandSpec& c) { return c.name == name; });
  if (spec == kCommands.end()) {
    bad_request("unknown command " + quoted(name) + " (commands: " + command_list() + ")");
  }
  return *spec;
}

void check_fields(const Request& request, const CommandSpec& spec) {
  const auto takes = [&](std::string_view key) {
    return !key.empty() &&
           std::find(spec.fields.begin(), spec.fields.end(), key) != spec.fields.end();
  };
  for (const auto& field : request.fields) {
    const std::string_view key = field.key();
    if (key == "version" || key == "command" || takes(key)) continue;
    std::string allowed;
    for (const std::string_view f : spec.fields) {
      if (!f.empty()) allowed += (allowed.empty() ? "" : ", ") + quoted(f);
    }
    bad_request(request.command + ": unknown field " + quoted(key) + " (" +
                (allowed.empty() ? "it takes none" : "it takes " + allowed) + ")");
  }
}

}  // namespace

const CommandSpec& command_spec(Command command) {
  const auto spec = std::find_if(kCommands.begin(), kCommands.end(),
                                 [&](const CommandSpec& c) { return c.command == command; });
  if (spec == kCommands.end()) throw Error("internal error: a command without a row");
  return *spec;
}

std::string Request::string_field(std::string_view key) const {
  const json::value* v = fields.if_contains(key);
  if (v == nullptr) bad_request(command + ": " + quoted(key) + " is missing");
  if (!v->is_string()) bad_request(command + ": " + quoted(key) + " must be a string");
  return std::string(v->get_string());
}

std::optional<std::uint64_t> Request::optional_count(std::string_view key) const {
  const json::value* v = fields.if_contains(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
  bad_request(command + ": " + quoted(key) + " must be a non-negative integer");
}

std::uint64_t Request::count(std::string_view key) const {
  if (auto n = optional_count(key)) return *n;
  bad_request(command + ": " + quoted(key) + " is missing");
}

std::optional<bool> Request::optional_bool(std::string_view key) const {
  const json::value* v = fields.if_contains(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (v->is_bool()) return v->get_bool();
  bad_request(command + ": " + quoted(key) + " must be true or false");
}

Request parse_request(std::string_view line) {
  check_syntax(line);
  json::error_code ec;
  json::value v = json::parse(line, ec, {}, request_parse_options());
  if (ec) bad_request("request is not JSON: " + ec.message());
  if (!v.is_object()) bad_request("request must be a JSON object");
  Request request{"", nullptr, std::move(v.get_object())};
  const json::value* version = request.fields.if_contains("version");
  if (version == nullptr || !version->is_number()) {
    bad_request("request has no \"version\" (this daemon speaks version " +
                std::to_string(kProtocolVersion) + ")");
  }
  if (!version->is_int64() || version->get_int64() != kProtocolVersion) {
    bad_request("protocol version " + json::serialize(*version) +
                " is not spoken here (this daemon speaks version " +
                std::to_string(kProtocolVersion) + ")");
  }
  const json::value* command = request.fields.if_contains("command");
  if (command == nullptr || !command->is_string()) bad_request("request has no \"command\" string");
  request.command = std::string(command->get_string());
  request.spec = &spec_named(request.command);
  check_fields(request, *request.spec);
  return request;
}

json::object make_request(std::string_view command) {
  return json::object{{"version", kProtocolVersion}, {"command", command}};
}

std::string ok_reply(json::value result) {
  json::object reply{{"version", kProtocolVersion}, {"ok", true}, {"result", std::move(result)}};
  return json::serialize(reply) + "\n";
}

std::string error_reply(std::string_view code, std::string_view message) {
  json::object reply{
      {"version", kProtocolVersion}, {"ok", false}, {"code", code}, {"error", message}};
  return json::serialize(reply) + "\n";
}

}  // namespace confvisor::control

namespace confvisor::control {

std::string stream_reply(json::value result) {
  json::object reply{
      {"version", kProtocolVersion}, {"ok", true}, {"more", true}, {"result", std::move(result)}};
  return json::serialize(reply) + "\n";
}

std::string dropped_notice(std::uint64_t dropped) {
  json::object reply{
      {"version", kProtocolVersion}, {"ok", true}, {"more", true}, {"dropped", dropped}};
  return json::serialize(reply) + "\n";
}

}  // namespace confvisor::control
