// The extension's classes are static type objects: filled in once, readied at import, never
// freed.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

namespace confvisor::python {

// A type object with what every class of the extension sets. The caller adds its methods,
// getters and constructor; PyType_Ready (add_type) fills in the rest.
inline PyTypeObject static_type(const char* name, Py_ssize_t basic_size, destructor dealloc,
                                unsigned long flags, const char* doc) {
  PyTypeObject t{};
  Py_SET_REFCNT(reinterpret_cast<PyObject*>(&t), 1);  // a static type is never freed
  t.tp_name = name;
  t.tp_basicsize = basic_size;
  t.tp_dealloc = dealloc;
  t.tp_flags = flags;
  t.tp_doc = doc;
  return t;
}

// Readies `type` and adds it to `module` as `name`; false, with a Python error set, if
// either fails.
[[nodiscard]] inline bool add_type(PyObject* module, const char* name, PyTypeObject& type) {
  if (PyType_Ready(&type) < 0) return false;
  return PyModule_AddObjectRef(module, name, reinterpret_cast<PyObject*>(&type)) == 0;
}

}  // namespace confvisor::python
