#include "control_protocol.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "socket_dir.hpp"

namespace confvisor::control {

namespace json = boost::json;

namespace {

[[noreturn]] void bad_request(const std::string& message) {
  throw Failure(kBadRequest, message);
}

std::string quoted(std::string_view key) {
  return "\"" + std::string(key) + "\"";
}

}  // namespace

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

Request parse_request(std::string_view line) {
  json::error_code ec;
  json::value v = json::parse(line, ec);
  if (ec) bad_request("request is not JSON: " + ec.message());
  if (!v.is_object()) bad_request("request must be a JSON object");
  Request request{"", std::move(v.get_object())};
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
  return request;
}

std::string default_socket_path(std::string_view segment) {
  return default_socket_dir() + "/" + std::string(segment) + ".sock";
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
