// confvisor._native: the CPython extension behind the confvisor package. It is C++ over the
// library's C++ reader API, linked with libconfvisor's objects, so Reader.current() costs the
// library's hot path plus a Python method call, and every wait runs with the GIL released.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "worker/python/src/errors.hpp"
#include "worker/python/src/fork_epoch.hpp"
#include "worker/python/src/notifier_object.hpp"
#include "worker/python/src/reader_object.hpp"
#include "worker/python/src/snapshot_object.hpp"
#include "worker/python/src/static_type.hpp"

namespace {

PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT,
    "confvisor._native",
    "The extension behind the confvisor package: use `import confvisor`.",
    -1,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

}  // namespace

PyMODINIT_FUNC PyInit__native() {
  using namespace confvisor::python;
  PyObject* module = PyModule_Create(&native_module);
  if (module == nullptr) return nullptr;
  if (!add_exceptions(module) || !add_type(module, "Snapshot", SnapshotType) ||
      !add_type(module, "Reader", ReaderType) || !add_type(module, "Notifier", NotifierType)) {
    Py_DECREF(module);
    return nullptr;
  }
  install_fork_handler();
  return module;
}
