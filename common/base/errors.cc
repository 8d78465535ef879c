#include "common/base/errors.hpp"

namespace confvisor {

std::string Errors::joined(std::string_view separator) const {
  std::string out;
  for (const std::string& line : lines_) {
    if (!out.empty()) out += separator;
    out += line;
  }
  return out;
}

}  // namespace confvisor
