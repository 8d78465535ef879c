// confvisor._native.Reader: a confvisor::Reader for Python. current() is the C++ hot path
// plus one compare: while the generation is unchanged it returns the same Snapshot object.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "confvisor/worker.hpp"

namespace confvisor::python {

struct ReaderObject {
  PyObject_HEAD
      // Null until __init__ succeeds. Owned, except in a child after fork(): see fork_epoch.hpp.
      confvisor::Reader* reader;
  unsigned fork_epoch;
  PyObject* cached;        // the Snapshot object current() returned last
  const void* cached_key;  // its document's address: equal means the same generation
};

extern PyTypeObject ReaderType;

// The reader's confvisor::Reader, made anew first in a child after fork(); nullptr with a
// Python error set if it is not open or cannot be reopened.
confvisor::Reader* open_reader(ReaderObject* self);

}  // namespace confvisor::python
