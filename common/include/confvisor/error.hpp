// confvisor::Error: every failure of the library, with a message that names the operation,
// the object and where the bad input is (segment path, JSON pointer).
#pragma once

#include <stdexcept>

namespace confvisor {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace confvisor
