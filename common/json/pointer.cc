#include "common/json/pointer.hpp"

#include <cstdio>

namespace confvisor {

std::string child_pointer(std::string_view parent, std::string_view key) {
  std::string pointer(parent);
  pointer += '/';
  for (char c : key) {
    if (c == '~') {
      pointer += "~0";
    } else if (c == '/') {
      pointer += "~1";
    } else {
      pointer += c;
    }
  }
  return pointer;
}

std::string child_pointer(std::string_view parent, std::size_t index) {
  return std::string(parent) + '/' + std::to_string(index);
}

std::string printable_pointer(std::string_view pointer) {
  std::string printable;
  printable.reserve(pointer.size());
  for (char c : pointer) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      printable += "\\n";
    } else if (c == '\t') {
      printable += "\\t";
    } else if (byte < 0x20 || byte == 0x7F) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", byte);
      printable += escape;
    } else {
      printable += c;
    }
  }
  return printable;
}

namespace {

// find_pointer's error code tells a malformed pointer from a missing value.
boost::json::error_code lookup_error(const boost::json::value& document, std::string_view pointer) {
  boost::json::error_code ec;
  (void)document.find_pointer(pointer, ec);
  return ec;
}

bool malformed(boost::json::error_code ec) {
  return ec == boost::json::error::syntax || ec == boost::json::error::missing_slash ||
         ec == boost::json::error::invalid_escape;
}

}  // namespace

bool pointer_is_malformed(const boost::json::value& document, std::string_view pointer) {
  return malformed(lookup_error(document, pointer));
}

std::string pointer_miss(const boost::json::value& document, std::string_view pointer) {
  const boost::json::error_code ec = lookup_error(document, pointer);
  if (malformed(ec))
    return "invalid JSON pointer \"" + printable_pointer(pointer) + "\": " + ec.message();
  return printable_pointer(pointer) + ": not found";
}

}  // namespace confvisor
