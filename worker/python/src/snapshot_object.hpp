// confvisor.Snapshot: one published generation, immutable. Holds a copy of the C++ Snapshot
// (a shared pointer), so it stays valid, and the same, whatever is published later.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "confvisor/worker.hpp"

namespace confvisor::python {

struct SnapshotObject {
  PyObject_HEAD confvisor::Snapshot snapshot;
  // The whole document as read-only Python objects, built on first use of `data` (or of
  // get() on a container) and then shared by every reader of this generation.
  PyObject* data;
};

extern PyTypeObject SnapshotType;

// A new Snapshot object for `snapshot`, or nullptr with a Python error set.
PyObject* new_snapshot_object(const confvisor::Snapshot& snapshot);

}  // namespace confvisor::python
