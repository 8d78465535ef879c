// PyRef: one owned reference to a Python object, released when it goes.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <utility>

namespace confvisor::python {

class PyRef {
 public:
  PyRef() noexcept = default;
  // Takes over a new reference (nullptr is allowed: a failed call).
  explicit PyRef(PyObject* owned) noexcept : p_(owned) {}
  ~PyRef() { Py_XDECREF(p_); }
  PyRef(PyRef&& other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
  PyRef& operator=(PyRef&& other) noexcept {
    std::swap(p_, other.p_);
    return *this;
  }
  PyRef(const PyRef&) = delete;
  PyRef& operator=(const PyRef&) = delete;

  [[nodiscard]] PyObject* get() const noexcept { return p_; }
  [[nodiscard]] PyObject* release() noexcept { return std::exchange(p_, nullptr); }
  [[nodiscard]] explicit operator bool() const noexcept { return p_ != nullptr; }

 private:
  PyObject* p_ = nullptr;
};

}  // namespace confvisor::python
