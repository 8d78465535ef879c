#include "crash_point.hpp"

#include <signal.h>

#include <cstdlib>
#include <string>

namespace confvisor {

void crash_point(std::string_view point) {
  static const char* const armed = std::getenv("CONFVISOR_TEST_CRASH_AT");
  if (armed != nullptr && point == armed) ::raise(SIGKILL);
}

}  // namespace confvisor
