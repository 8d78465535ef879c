// Status replies write an absent text as JSON null, so that a script tells "none" from "".
#pragma once

#include <boost/json/value.hpp>
#include <string>

namespace confvisor {

// null for an empty string, else the string.
[[nodiscard]] inline boost::json::value text_or_null(const std::string& s) {
  return s.empty() ? boost::json::value(nullptr) : boost::json::value(s);
}

}  // namespace confvisor
