#include "daemon/etcd/gateway_json.hpp"

#include <openssl/evp.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>

#include "common/base/error.hpp"

namespace confvisor::etcd {
namespace json = boost::json;

namespace {

// Gateway messages nest a few levels; a deeper one is not etcd's.
constexpr std::size_t kMaxGatewayDepth = 16;

[[noreturn]] void malformed(std::string_view what, std::string_view field) {
  throw Error("etcd gateway: malformed " + std::string(what) + ": " + std::string(field));
}

json::value parse(std::string_view text, std::string_view what) {
  json::parse_options options;
  options.max_depth = kMaxGatewayDepth;
  json::error_code ec;
  json::value v = json::parse(text, ec, {}, options);
  if (ec) throw Error("etcd gateway: " + std::string(what) + " is not JSON: " + ec.message());
  if (!v.is_object()) malformed(what, "not an object");
  return v;
}

const json::object* object_field(const json::object& o, std::string_view key,
                                 std::string_view what) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return nullptr;
  if (!v->is_object()) malformed(what, std::string(key) + " is not an object");
  return &v->get_object();
}

// int64 fields arrive as decimal strings; accept numbers too.
std::int64_t int_field(const json::object& o, std::string_view key, std::string_view what) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(v->get_uint64());
  }
  if (v->is_string()) {
    const json::string& s = v->get_string();
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec == std::errc{} && end == s.data() + s.size() && !s.empty()) return value;
  }
  malformed(what, std::string(key) + " is not an int64");
}

bool bool_field(const json::object& o, std::string_view key, std::string_view what) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return false;
  if (!v->is_bool()) malformed(what, std::string(key) + " is not a boolean");
  return v->get_bool();
}

std::string string_field(const json::object& o, std::string_view key, std::string_view what) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return {};
  if (!v->is_string()) malformed(what, std::string(key) + " is not a string");
  return std::string(v->get_string());
}

std::string bytes_field(const json::object& o, std::string_view key, std::string_view what) {
  try {
    return base64_decode(string_field(o, key, what));
  } catch (const Error& e) {
    malformed(what, std::string(key) + ": " + e.what());
  }
}

const json::array* array_field(const json::object& o, std::string_view key, std::string_view what) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return nullptr;
  if (!v->is_array()) malformed(what, std::string(key) + " is not an array");
  return &v->get_array();
}

std::int64_t header_revision(const json::object& o, std::string_view what) {
  const json::object* header = object_field(o, "header", what);
  return header == nullptr ? 0 : int_field(*header, "revision", what);
}

KeyValue decode_kv(const json::value& v, std::string_view what) {
  if (!v.is_object()) malformed(what, "kv is not an object");
  const json::object& o = v.get_object();
  KeyValue kv;
  kv.key = bytes_field(o, "key", what);
  kv.value = bytes_field(o, "value", what);
  kv.mod_revision = int_field(o, "mod_revision", what);
  return kv;
}

std::string b64(std::string_view bytes) {
  return base64_encode(bytes);
}

std::string revision_text(std::int64_t r) {
  return std::to_string(r);
}

}  // namespace

std::string prefix_range_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) throw Error("base64 text of a length that is not a multiple of 4");
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    const bool padding =
        c == '=' && i + 2 >= text.size() && (i + 1 == text.size() || text.back() == '=');
    if (!alnum && c != '+' && c != '/' && !padding) throw Error("invalid base64 character");
  }
  std::string out(3 * (text.size() / 4), '\0');
  if (text.empty()) return out;
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) throw Error("invalid base64");
  // EVP_DecodeBlock counts the padding as zero bytes.
  std::size_t size = static_cast<std::size_t>(n);
  if (text.back() == '=') --size;
  if (text.size() >= 2 && text[text.size() - 2] == '=') --size;
  out.resize(size);
  return out;
}

std::string range_request(std::string_view key, std::string_view range_end, std::int64_t revision,
                          std::int64_t limit) {
  json::object o;
  o["key"] = b64(key);
  o["range_end"] = b64(range_end);
  if (revision > 0) o["revision"] = revision_text(revision);
  if (limit > 0) o["limit"] = revision_text(limit);
  return json::serialize(o);
}

std::string watch_create_request(std::string_view key, std::string_view range_end,
                                 std::int64_t start_revision) {
  json::object create;
  create["key"] = b64(key);
  create["range_end"] = b64(range_end);
  create["start_revision"] = revision_text(start_revision);
  create["progress_notify"] = true;
  json::object o;
  o["create_request"] = std::move(create);
  return json::serialize(o);
}

std::string put_if_mod_revision_request(std::string_view key, std::string_view value,
                                        std::int64_t expected_mod_revision) {
  json::object compare;
  compare["key"] = b64(key);
  compare["target"] = "MOD";
  compare["result"] = "EQUAL";
  compare["mod_revision"] = revision_text(expected_mod_revision);
  json::object put;
  put["key"] = b64(key);
  put["value"] = b64(value);
  json::object range;
  range["key"] = b64(key);
  json::object o;
  o["compare"] = json::array{compare};
  o["success"] = json::array{json::object{{"request_put", put}}};
  o["failure"] = json::array{json::object{{"request_range", range}}};
  return json::serialize(o);
}

std::string authenticate_request(std::string_view user, std::string_view password) {
  json::object o;
  o["name"] = user;
  o["password"] = password;
  return json::serialize(o);
}

RangePage decode_range_response(std::string_view body) {
  constexpr std::string_view what = "range response";
  const json::value v = parse(body, what);
  const json::object& o = v.get_object();
  RangePage page;
  page.revision = header_revision(o, what);
  if (page.revision <= 0) malformed(what, "no header.revision");
  page.more = bool_field(o, "more", what);
  if (const json::array* kvs = array_field(o, "kvs", what)) {
    page.kvs.reserve(kvs->size());
    for (const json::value& kv : *kvs) page.kvs.push_back(decode_kv(kv, what));
  }
  return page;
}

TxnResult decode_txn_response(std::string_view body) {
  constexpr std::string_view what = "txn response";
  const json::value v = parse(body, what);
  const json::object& o = v.get_object();
  TxnResult result;
  result.revision = header_revision(o, what);
  if (result.revision <= 0) malformed(what, "no header.revision");
  result.succeeded = bool_field(o, "succeeded", what);
  if (const json::array* responses = array_field(o, "responses", what)) {
    for (const json::value& r : *responses) {
      if (!r.is_object()) malformed(what, "responses[] is not an object");
      const json::object* range = object_field(r.get_object(), "response_range", what);
      if (range == nullptr) continue;
      if (const json::array* kvs = array_field(*range, "kvs", what); kvs && !kvs->empty()) {
        result.range_kv = decode_kv(kvs->front(), what);
      }
    }
  }
  return result;
}

std::string decode_authenticate_response(std::string_view body) {
  constexpr std::string_view what = "authenticate response";
  const json::value v = parse(body, what);
  std::string token = string_field(v.get_object(), "token", what);
  if (token.empty()) malformed(what, "no token");
  return token;
}

std::optional<GatewayError> decode_error_body(std::string_view body) {
  try {
    const json::value v = parse(body, "error");
    const json::object& o = v.get_object();
    const json::value* error = o.if_contains("error");
    if (error == nullptr) return std::nullopt;
    GatewayError e;
    if (error->is_object()) {  // inside a stream
      e.grpc_code = static_cast<int>(int_field(error->get_object(), "grpc_code", "error"));
      e.message = string_field(error->get_object(), "message", "error");
    } else {
      e.grpc_code = static_cast<int>(int_field(o, "code", "error"));
      e.message = string_field(o, "message", "error");
      if (e.message.empty() && error->is_string()) e.message = std::string(error->get_string());
    }
    return e;
  } catch (const Error&) {
    return std::nullopt;
  }
}

bool is_auth_token_error(const GatewayError& e) {
  return e.grpc_code == 16 || e.message.find("invalid auth token") != std::string::npos;
}

bool is_compacted_error(const GatewayError& e) {
  return e.message.find("required revision has been compacted") != std::string::npos;
}

std::string_view watch_message_kind_name(WatchMessage::Kind k) {
  switch (k) {
    case WatchMessage::Kind::created:
      return "created";
    case WatchMessage::Kind::events:
      return "events";
    case WatchMessage::Kind::progress:
      return "progress";
    case WatchMessage::Kind::canceled:
      return "canceled";
    case WatchMessage::Kind::error:
      return "error";
  }
  return "unknown";
}

WatchMessage decode_watch_message(std::string_view line) {
  constexpr std::string_view what = "watch message";
  const json::value v = parse(line, what);
  const json::object& top = v.get_object();
  WatchMessage m;
  if (top.contains("error")) {
    m.kind = WatchMessage::Kind::error;
    if (auto e = decode_error_body(line)) m.error = std::move(*e);
    return m;
  }
  const json::object* result = object_field(top, "result", what);
  if (result == nullptr) malformed(what, "neither result nor error");
  m.revision = header_revision(*result, what);
  m.compact_revision = int_field(*result, "compact_revision", what);
  m.cancel_reason = string_field(*result, "cancel_reason", what);
  if (bool_field(*result, "canceled", what) || m.compact_revision > 0) {
    m.kind = WatchMessage::Kind::canceled;
    return m;
  }
  if (bool_field(*result, "created", what)) {
    m.kind = WatchMessage::Kind::created;
    return m;
  }
  if (const json::array* events = array_field(*result, "events", what);
      events && !events->empty()) {
    m.kind = WatchMessage::Kind::events;
    m.events.reserve(events->size());
    std::int64_t last = 0;
    for (const json::value& e : *events) {
      if (!e.is_object()) malformed(what, "events[] is not an object");
      const json::object& eo = e.get_object();
      Event event;
      const std::string type = string_field(eo, "type", what);
      if (type == "DELETE") {
        event.type = EventType::remove;
      } else if (!type.empty() && type != "PUT") {
        malformed(what, "events[].type \"" + type + "\"");
      }
      const json::value* kv = eo.if_contains("kv");
      if (kv == nullptr) malformed(what, "events[] without kv");
      event.kv = decode_kv(*kv, what);
      if (event.kv.mod_revision <= 0 || event.kv.mod_revision < last) {
        malformed(what, "events[].kv.mod_revision out of order");
      }
      last = event.kv.mod_revision;
      m.events.push_back(std::move(event));
    }
    return m;
  }
  m.kind = WatchMessage::Kind::progress;
  if (m.revision <= 0) malformed(what, "progress without header.revision");
  return m;
}

}  // namespace confvisor::etcd
