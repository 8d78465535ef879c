#include "daemon/config/variables.hpp"

#include <cstdlib>

#include "common/base/error.hpp"
#include "common/json/describe.hpp"

namespace confvisor::config {
namespace {

constexpr std::string_view kDefaultMark = ":-";

bool is_name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

[[noreturn]] void malformed(std::string_view reference, std::string_view why) {
  throw Error(quote_text(reference, 80) + " is not a variable reference: " + std::string(why) +
              " (write ${NAME} or ${NAME:-DEFAULT}, and $$ for a literal $)");
}

// The value `reference` ("${...}", whole) stands for; `body` is what is between the braces.
std::string value_of(std::string_view reference, std::string_view body) {
  std::size_t end = 0;
  while (end < body.size() && is_name_char(body[end])) ++end;
  const std::string_view name = body.substr(0, end);
  if (name.empty() || !is_name_start(name.front())) {
    malformed(reference,
              "a variable name is letters, digits and _, and does not start with a digit");
  }
  const std::string_view rest = body.substr(end);
  if (!rest.empty() && !rest.starts_with(kDefaultMark)) {
    malformed(reference, "after the name comes '}' or \":-\" and a default");
  }
  const char* value = std::getenv(std::string(name).c_str());
  if (rest.empty()) {
    if (value == nullptr) {
      throw Error("${" + std::string(name) + "} is not set (give it a default: ${" +
                  std::string(name) + ":-VALUE})");
    }
    return value;
  }
  const std::string_view fallback = rest.substr(kDefaultMark.size());
  if (fallback.find("${") != std::string_view::npos) {
    malformed(reference, "a default cannot hold another reference");
  }
  if (value == nullptr || *value == '\0') return std::string(fallback);
  return value;
}

}  // namespace

std::string expand_variables(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t dollar = text.find('$', i);
    out.append(text.substr(i, dollar == std::string_view::npos ? dollar : dollar - i));
    if (dollar == std::string_view::npos) break;
    const std::string_view next = text.substr(dollar + 1, 1);
    if (next == "$") {
      out += '$';
      i = dollar + 2;
    } else if (next == "{") {
      const std::size_t close = text.find('}', dollar);
      if (close == std::string_view::npos) {
        malformed(text.substr(dollar), "unterminated, no '}' follows");
      }
      out += value_of(text.substr(dollar, close + 1 - dollar),
                      text.substr(dollar + 2, close - dollar - 2));
      i = close + 1;
    } else {
      out += '$';
      i = dollar + 1;
    }
  }
  return out;
}

}  // namespace confvisor::config
