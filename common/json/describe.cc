#include "common/json/describe.hpp"

#include <boost/json/serialize.hpp>
#include <charconv>

namespace confvisor {
namespace {

bool is_utf8_continuation(char c) noexcept {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// Cuts `text` to at most `max_chars` bytes plus "...", backing off to a character boundary
// so the message stays valid UTF-8.
std::string cut(std::string text, std::size_t max_chars) {
  if (text.size() <= max_chars) return text;
  std::size_t end = max_chars;
  while (end > 0 && is_utf8_continuation(text[end])) --end;
  text.resize(end);
  return text + "...";
}

// Boost.JSON writes every double in exponent form ("1.5E0"); people wrote "1.5".
std::string shortest_text(const boost::json::value& value) {
  if (!value.is_double()) return boost::json::serialize(value);
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value.get_double());
  return std::string(buffer, result.ptr);
}

}  // namespace

std::string_view kind_name(const boost::json::value& value) noexcept {
  switch (value.kind()) {
    case boost::json::kind::object:
      return "object";
    case boost::json::kind::array:
      return "array";
    case boost::json::kind::string:
      return "string";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_:
      return "number";
    case boost::json::kind::bool_:
      return "boolean";
    case boost::json::kind::null:
      break;
  }
  return "null";
}

std::string describe_value(const boost::json::value& value, std::size_t max_chars) {
  std::string text = cut(shortest_text(value), max_chars);
  if (value.is_string() || value.is_bool() || value.is_null()) return text;
  return std::string(kind_name(value)) + " " + text;
}

std::string quote_text(std::string_view text, std::size_t max_chars) {
  return cut(boost::json::serialize(boost::json::string_view(text.data(), text.size())), max_chars);
}

}  // namespace confvisor
