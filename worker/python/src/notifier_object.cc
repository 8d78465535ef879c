#include "worker/python/src/notifier_object.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "confvisor/worker.hpp"
#include "worker/python/src/errors.hpp"
#include "worker/python/src/fork_epoch.hpp"
#include "worker/python/src/reader_object.hpp"
#include "worker/python/src/static_type.hpp"

namespace confvisor::python {

namespace {

struct NotifierObject {
  PyObject_HEAD confvisor::Reader::Subscription* subscription;  // null once closed
  int fd;                                                       // -1 once closed
  unsigned fork_epoch;
};

NotifierObject* as_notifier(PyObject* self) {
  return reinterpret_cast<NotifierObject*>(self);
}

PyObject* notifier_new(PyTypeObject* type, PyObject*, PyObject*) {
  PyObject* obj = type->tp_alloc(type, 0);
  if (obj == nullptr) return nullptr;
  NotifierObject* self = as_notifier(obj);
  self->subscription = nullptr;
  self->fd = -1;
  self->fork_epoch = current_fork_epoch();
  return obj;
}

int notifier_init(PyObject* obj, PyObject* args, PyObject*) {
  PyObject* reader_obj = nullptr;
  if (!PyArg_ParseTuple(args, "O!:Notifier", &ReaderType, &reader_obj)) return -1;
  NotifierObject* self = as_notifier(obj);
  if (self->fd >= 0) {
    PyErr_SetString(PyExc_RuntimeError, "Notifier.__init__ called twice");
    return -1;
  }
  confvisor::Reader* reader = open_reader(reinterpret_cast<ReaderObject*>(reader_obj));
  if (reader == nullptr) return -1;
  const int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) {
    PyErr_SetFromErrno(PyExc_OSError);
    return -1;
  }
  try {
    self->subscription =
        new confvisor::Reader::Subscription(reader->on_change([fd](const confvisor::Snapshot&) {
          const std::uint64_t one = 1;
          // Only EAGAIN (the counter is full) can fail here, and then it is readable anyway.
          [[maybe_unused]] ssize_t n = ::write(fd, &one, sizeof one);
        }));
  } catch (const std::exception& e) {
    ::close(fd);
    raise(exceptions.error, e.what());
    return -1;
  }
  self->fd = fd;
  self->fork_epoch = current_fork_epoch();
  return 0;
}

// Stops the library's thread, then closes the fd it writes to. In a child after fork() that
// thread does not exist and the subscription is left as it is (see fork_epoch.hpp).
void close_notifier(NotifierObject* self) {
  if (self->subscription != nullptr) {
    confvisor::Reader::Subscription* sub = self->subscription;
    self->subscription = nullptr;
    if (self->fork_epoch == current_fork_epoch()) {
      // The stop wakes the thread and joins it; the thread never needs the GIL.
      Py_BEGIN_ALLOW_THREADS delete sub;
      Py_END_ALLOW_THREADS
    }
  }
  if (self->fd >= 0) {
    ::close(self->fd);
    self->fd = -1;
  }
}

PyObject* notifier_close(PyObject* obj, PyObject*) {
  close_notifier(as_notifier(obj));
  Py_RETURN_NONE;
}

PyObject* notifier_fileno(PyObject* obj, PyObject*) {
  NotifierObject* self = as_notifier(obj);
  if (self->fd < 0) return raise(PyExc_ValueError, "the Notifier is closed");
  return PyLong_FromLong(self->fd);
}

// Resets the eventfd; returns how many notifications were pending (0 if none).
PyObject* notifier_drain(PyObject* obj, PyObject*) {
  NotifierObject* self = as_notifier(obj);
  if (self->fd < 0) return raise(PyExc_ValueError, "the Notifier is closed");
  std::uint64_t count = 0;
  if (::read(self->fd, &count, sizeof count) != static_cast<ssize_t>(sizeof count)) {
    if (errno != EAGAIN) return PyErr_SetFromErrno(PyExc_OSError);
    count = 0;
  }
  return PyLong_FromUnsignedLongLong(count);
}

void notifier_dealloc(PyObject* obj) {
  close_notifier(as_notifier(obj));
  Py_TYPE(obj)->tp_free(obj);
}

PyMethodDef notifier_methods[] = {
    {"fileno", notifier_fileno, METH_NOARGS, "The eventfd: readable after a change."},
    {"drain", notifier_drain, METH_NOARGS,
     "Resets the eventfd; returns how many notifications were pending."},
    {"close", notifier_close, METH_NOARGS, "Stops the notifications and closes the fd."},
    {nullptr, nullptr, 0, nullptr}};

}  // namespace

PyTypeObject NotifierType = [] {
  PyTypeObject t = static_type(
      "confvisor._native.Notifier", sizeof(NotifierObject), notifier_dealloc, Py_TPFLAGS_DEFAULT,
      "Notifier(reader)\n--\n\n"
      "An eventfd made readable on each new generation (and once at start) by a thread of\n"
      "the library. Internal to Reader.on_change() and Reader.changed().");
  t.tp_methods = notifier_methods;
  t.tp_init = notifier_init;
  t.tp_new = notifier_new;
  return t;
}();

}  // namespace confvisor::python
