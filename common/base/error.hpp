// The one error type of confvisor: a message that names the operation, the object and, where
// there is one, the place in the input that is wrong.
#pragma once

#include <cerrno>
#include <string>

#include "confvisor/error.hpp"

namespace confvisor {

// "unable to VERB OBJECT: strerror(err)", the s6 shape; `err` defaults to the current errno.
[[nodiscard]] std::string sys_message(const std::string& what, int err = errno);

// Throws Error(sys_message(what, err)).
[[noreturn]] void throw_sys(const std::string& what, int err = errno);

}  // namespace confvisor
