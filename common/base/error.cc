#include "common/base/error.hpp"

#include <cstring>

namespace confvisor {

std::string sys_message(const std::string& what, int err) {
  return "unable to " + what + ": " + std::strerror(err);
}

void throw_sys(const std::string& what, int err) {
  throw Error(sys_message(what, err));
}

}  // namespace confvisor
