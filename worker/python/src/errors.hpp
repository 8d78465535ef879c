// The package's exceptions, made by the extension so that C++ errors map onto them:
//   confvisor.Error                 every failure of the library (segment missing, unreadable,
//                                   corrupt, nothing published), with the library's message
//   confvisor.NotFound(Error, KeyError)    a JSON pointer that does not resolve
//   confvisor.WrongType(Error, TypeError)  a value, or a step of a pointer, of another type
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string_view>

namespace confvisor::python {

struct Exceptions {
  PyObject* error = nullptr;
  PyObject* not_found = nullptr;
  PyObject* wrong_type = nullptr;
};
// Set once by the module's init; the module keeps them alive for the interpreter's life.
extern Exceptions exceptions;

// Creates the three classes and adds them to `module`. Returns false with a Python error set.
[[nodiscard]] bool add_exceptions(PyObject* module);

// Sets `type` with `message` as the pending exception; returns nullptr for `return raise(...)`.
std::nullptr_t raise(PyObject* type, std::string_view message);

}  // namespace confvisor::python
