#include "daemon/config/json_reader.hpp"

#include "common/json/pointer.hpp"
#include "daemon/config/origins.hpp"
#include "daemon/config/suggest.hpp"

namespace confvisor::config {

namespace json = boost::json;

Place Place::child(std::string_view key) const {
  return {errors, file, child_pointer(pointer, key), origins};
}

Place Place::child(std::size_t index) const {
  return {errors, file, child_pointer(pointer, index), origins};
}

std::string Place::where() const {
  if (origins != nullptr) return origins->where(pointer);
  return std::string(file) + ": " + printable_pointer(pointer);
}

void Place::error(std::string_view message) const {
  errors.add(where() + ": " + std::string(message));
}

void expected(std::string_view what, const json::value& got) {
  throw Error("expected " + std::string(what) + ", got " + describe_value(got));
}

const json::object& object_of(const json::value& v) {
  if (!v.is_object()) expected("an object", v);
  return v.get_object();
}

const json::array& array_of(const json::value& v) {
  if (!v.is_array()) expected("an array", v);
  return v.get_array();
}

std::string string_of(const json::value& v) {
  if (!v.is_string()) expected("a string", v);
  return std::string(v.get_string());
}

std::string os_string(const json::value& v) {
  std::string s = string_of(v);
  if (s.find('\0') != std::string::npos) {
    throw Error("must not contain a NUL character (\\u0000), got " + describe_value(v));
  }
  return s;
}

// Boost.JSON stores every integer that fits in int64 as one; only larger ones are uint64, and
// those are beyond any range asked for here.
std::int64_t integer_in(const json::value& v, std::int64_t low, std::int64_t high) {
  if (!v.is_int64() || v.get_int64() < low || v.get_int64() > high) {
    expected("an integer from " + std::to_string(low) + " to " + std::to_string(high), v);
  }
  return v.get_int64();
}

std::string unknown_key_message(std::string_view key, std::span<const std::string_view> known) {
  std::string message = "unknown key " + quote_text(key);
  if (auto hint = supervisord_key_hint(key, known)) return message + " " + *hint;
  if (const auto near = nearest_word(key, known)) {
    return message + " (did you mean \"" + std::string(*near) + "\"?)";
  }
  message += "; known keys:";
  for (std::string_view name : known) message += " " + std::string(name);
  return message;
}

}  // namespace confvisor::config
