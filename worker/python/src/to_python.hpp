// Boost.JSON values as Python objects: null None, booleans bool, integers int, other numbers
// float, strings str, arrays and objects either read-only (tuple, types.MappingProxyType over
// a dict: what Snapshot.data shares between every part of a service) or mutable (list,
// dict: a private copy the caller owns).
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <boost/json/value.hpp>

namespace confvisor::python {

enum class Containers { read_only, mutable_copy };

// A new reference, or nullptr with a Python error set (out of memory).
PyObject* to_python(const boost::json::value& value, Containers containers);

// Scalars only (null, bool, numbers, strings): a new reference.
PyObject* scalar_to_python(const boost::json::value& value);

}  // namespace confvisor::python
