#include "worker/python/src/reader_object.hpp"

#include <chrono>
#include <cmath>
#include <string>

#include "worker/python/src/errors.hpp"
#include "worker/python/src/fork_epoch.hpp"
#include "worker/python/src/py_ref.hpp"
#include "worker/python/src/snapshot_object.hpp"
#include "worker/python/src/static_type.hpp"

namespace confvisor::python {

namespace {

// How long the main thread sleeps on the futex between looks for a pending signal: the
// bound on how late Ctrl-C (or any Python signal handler) runs during wait_for_change().
// The library's wait restarts itself after EINTR, so without slices it would run only
// when the wait ends. Other threads get no signals in Python and wait in one piece.
constexpr std::chrono::milliseconds kSignalSlice{100};

ReaderObject* as_reader(PyObject* self) {
  return reinterpret_cast<ReaderObject*>(self);
}

bool is_main_thread() {
  PyRef threading(PyImport_ImportModule("threading"));
  if (!threading) return false;
  PyRef main(PyObject_CallMethod(threading.get(), "main_thread", nullptr));
  PyRef ident(main ? PyObject_GetAttrString(main.get(), "ident") : nullptr);
  if (!ident) {
    PyErr_Clear();
    return false;
  }
  return PyLong_AsUnsignedLong(ident.get()) == PyThread_get_thread_ident();
}

PyObject* reader_new(PyTypeObject* type, PyObject*, PyObject*) {
  PyObject* obj = type->tp_alloc(type, 0);
  if (obj == nullptr) return nullptr;
  ReaderObject* self = as_reader(obj);
  self->reader = nullptr;
  self->fork_epoch = current_fork_epoch();
  self->cached = nullptr;
  self->cached_key = nullptr;
  return obj;
}

int reader_init(PyObject* obj, PyObject* args, PyObject* kwargs) {
  static const char* kwlist[] = {"segment", nullptr};
  const char* segment = nullptr;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|z:Reader", const_cast<char**>(kwlist),
                                   &segment)) {
    return -1;
  }
  ReaderObject* self = as_reader(obj);
  if (self->reader != nullptr) {
    // Another thread may be waiting on the one it has, with the GIL released.
    PyErr_SetString(PyExc_RuntimeError, "Reader.__init__ called twice: make a new Reader");
    return -1;
  }
  try {
    self->reader = segment ? new confvisor::Reader(segment)
                           : new confvisor::Reader(confvisor::Reader::from_env());
    self->fork_epoch = current_fork_epoch();
  } catch (const std::exception& e) {
    raise(exceptions.error, e.what());
    return -1;
  }
  return 0;
}

void reader_dealloc(PyObject* obj) {
  ReaderObject* self = as_reader(obj);
  Py_CLEAR(self->cached);
  // A parent's reader is left as it is in a child: see fork_epoch.hpp.
  if (self->fork_epoch == current_fork_epoch()) delete self->reader;
  self->reader = nullptr;
  Py_TYPE(obj)->tp_free(obj);
}

// The Snapshot object for `s`: the cached one if it is the same generation (also when
// a reader made anew after fork() parsed it again), else a new one that becomes the cache.
PyObject* snapshot_for(ReaderObject* self, const confvisor::Snapshot& s) {
  if (self->cached != nullptr) {
    const confvisor::Snapshot& had = reinterpret_cast<SnapshotObject*>(self->cached)->snapshot;
    if (had.generation() == s.generation() && had.published_at() == s.published_at() &&
        had.publisher_pid() == s.publisher_pid()) {
      self->cached_key = &s.json();
      return Py_NewRef(self->cached);
    }
  }
  PyObject* fresh = new_snapshot_object(s);
  if (fresh == nullptr) return nullptr;
  Py_XSETREF(self->cached, Py_NewRef(fresh));
  self->cached_key = &s.json();
  return fresh;
}

PyObject* reader_current(PyObject* obj, PyObject*) {
  ReaderObject* self = as_reader(obj);
  confvisor::Reader* reader = open_reader(self);
  if (reader == nullptr) return nullptr;
  try {
    const confvisor::Snapshot& s = reader->current();
    if (&s.json() == self->cached_key) [[likely]] {
      return Py_NewRef(self->cached);
    }
    return snapshot_for(self, s);
  } catch (const std::exception& e) {
    return raise(exceptions.error, e.what());
  }
}

std::uint64_t generation_now(confvisor::Reader& reader) {
  try {
    return reader.current().generation();
  } catch (const std::exception&) {
    return 0;  // nothing readable yet
  }
}

PyObject* reader_wait_for_change(PyObject* obj, PyObject* args, PyObject* kwargs) {
  static const char* kwlist[] = {"timeout", "since", nullptr};
  PyObject* timeout_obj = Py_None;
  PyObject* since_obj = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O$O:wait_for_change", const_cast<char**>(kwlist),
                                   &timeout_obj, &since_obj)) {
    return nullptr;
  }
  const bool forever = timeout_obj == Py_None;
  double timeout_s = 0;
  if (!forever) {
    timeout_s = PyFloat_AsDouble(timeout_obj);
    if (timeout_s == -1 && PyErr_Occurred()) return nullptr;
    if (!(timeout_s >= 0) || std::isinf(timeout_s)) {
      PyErr_SetString(PyExc_ValueError, "timeout must be a finite number >= 0, or None");
      return nullptr;
    }
  }
  ReaderObject* self = as_reader(obj);
  confvisor::Reader* reader = open_reader(self);
  if (reader == nullptr) return nullptr;
  if (since_obj != Py_None) {
    const unsigned long long since = PyLong_AsUnsignedLongLong(since_obj);
    if (since == static_cast<unsigned long long>(-1) && PyErr_Occurred()) return nullptr;
    // This also makes `since` (if still current) this thread's last seen generation, which
    // is what the library's wait compares with.
    if (generation_now(*reader) != since) Py_RETURN_TRUE;
  }

  using clock = std::chrono::steady_clock;
  const auto deadline =
      clock::now() + std::chrono::duration_cast<clock::duration>(
                         std::chrono::duration<double>(forever ? 0.0 : timeout_s));
  const bool sliced = is_main_thread();
  for (;;) {
    std::chrono::nanoseconds step{-1};
    if (!forever) step = std::max(std::chrono::nanoseconds(0), deadline - clock::now());
    if (sliced && (step.count() < 0 || step > kSignalSlice)) step = kSignalSlice;
    bool changed = false;
    Py_BEGIN_ALLOW_THREADS changed = reader->wait_for_change(step);
    Py_END_ALLOW_THREADS if (changed) Py_RETURN_TRUE;
    if (PyErr_CheckSignals() < 0) return nullptr;
    if (!forever && clock::now() >= deadline) Py_RETURN_FALSE;
  }
}

// report_applied(cfg) and report_rejected(cfg, reason): True when the daemon has the report
// or there is no daemon to tell, False when it was dropped (the daemon's queue was full, or
// it is gone). The send never blocks, so the GIL is kept.
PyObject* report(PyObject* obj, PyObject* cfg, const char* reason) {
  if (!PyObject_TypeCheck(cfg, &SnapshotType)) {
    PyErr_SetString(PyExc_TypeError, "expected a confvisor.Snapshot (from Reader.current())");
    return nullptr;
  }
  confvisor::Reader* reader = open_reader(as_reader(obj));
  if (reader == nullptr) return nullptr;
  const confvisor::Snapshot& snapshot = reinterpret_cast<SnapshotObject*>(cfg)->snapshot;
  try {
    const confvisor::ReportResult result = reason == nullptr
                                               ? reader->report_applied(snapshot)
                                               : reader->report_rejected(snapshot, reason);
    return PyBool_FromLong(result != confvisor::ReportResult::dropped);
  } catch (const std::exception& e) {
    return raise(exceptions.error, e.what());
  }
}

PyObject* reader_report_applied(PyObject* obj, PyObject* cfg) {
  return report(obj, cfg, nullptr);
}

PyObject* reader_report_rejected(PyObject* obj, PyObject* args) {
  PyObject* cfg = nullptr;
  const char* reason = nullptr;
  if (!PyArg_ParseTuple(args, "Os:report_rejected", &cfg, &reason)) return nullptr;
  return report(obj, cfg, reason);
}

PyObject* reader_get_segment(PyObject* obj, void*) {
  ReaderObject* self = as_reader(obj);
  if (self->reader == nullptr) Py_RETURN_NONE;
  const std::string& s = self->reader->segment();
  return PyUnicode_FromStringAndSize(s.data(), static_cast<Py_ssize_t>(s.size()));
}

PyObject* reader_get_last_error(PyObject* obj, void*) {
  confvisor::Reader* reader = open_reader(as_reader(obj));
  if (reader == nullptr) return nullptr;
  const std::string e = reader->last_error();
  return PyUnicode_DecodeUTF8(e.data(), static_cast<Py_ssize_t>(e.size()), "replace");
}

PyObject* reader_repr(PyObject* obj) {
  ReaderObject* self = as_reader(obj);
  if (self->reader == nullptr) return PyUnicode_FromString("<confvisor.Reader (not open)>");
  return PyUnicode_FromFormat("<confvisor.Reader segment=%s>", self->reader->segment().c_str());
}

PyMethodDef reader_methods[] = {
    {"current", reader_current, METH_NOARGS,
     "current()\n--\n\n"
     "The current generation as a Snapshot: the same object for as long as nothing new is\n"
     "published (an atomic load and a compare). If a new generation cannot be read, the last\n"
     "good one is returned and `last_error` says why. Raises Error only when no generation\n"
     "could ever be read."},
    {"wait_for_change",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(reader_wait_for_change)),
     METH_VARARGS | METH_KEYWORDS,
     "wait_for_change(timeout=None, *, since=None)\n--\n\n"
     "Blocks until a generation other than the one this thread last got from current() is\n"
     "published (or other than `since`, a generation number, if given), or `timeout`\n"
     "seconds pass (None: forever). Returns whether it changed. Sleeps on a futex in the\n"
     "segment with the GIL released; in the main thread it looks for signals every 100 ms,\n"
     "so Ctrl-C raises KeyboardInterrupt."},
    {"report_applied", reader_report_applied, METH_O,
     "report_applied(cfg)\n--\n\n"
     "Tells confvisord that this process applied the generation of Snapshot `cfg`, for a\n"
     "worker whose config says \"acks\": true (confvisorctl status, reload --wait). Never\n"
     "blocks. Returns True when the daemon has it, and also outside confvisord (no\n"
     "CONFVISOR_ACK_SOCKET: nothing to tell); False when it was dropped (the daemon's queue\n"
     "is full, or it is gone)."},
    {"report_rejected", reader_report_rejected, METH_VARARGS,
     "report_rejected(cfg, reason)\n--\n\n"
     "As report_applied, for a generation this process rejected; `reason` (one line, cut to\n"
     "512 bytes) is what confvisorctl shows."},
    {nullptr, nullptr, 0, nullptr}};

PyGetSetDef reader_getset[] = {
    {"segment", reader_get_segment, nullptr,
     "The segment's name (NAME of /dev/shm/confvisor.NAME).", nullptr},
    {"last_error", reader_get_last_error, nullptr,
     "Why the last attempt to read a new generation failed; \"\" when all is well.", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr}};

}  // namespace

confvisor::Reader* open_reader(ReaderObject* self) {
  if (self->reader == nullptr) {
    raise(exceptions.error, "the Reader is not open (its __init__ failed or was not called)");
    return nullptr;
  }
  if (self->fork_epoch != current_fork_epoch()) [[unlikely]] {
    try {
      // The parent's reader is leaked on purpose: see fork_epoch.hpp.
      self->reader = new confvisor::Reader(self->reader->segment());
      self->fork_epoch = current_fork_epoch();
    } catch (const std::exception& e) {
      raise(exceptions.error, e.what());
      return nullptr;
    }
  }
  return self->reader;
}

PyTypeObject ReaderType = [] {
  PyTypeObject t = static_type(
      "confvisor._native.Reader", sizeof(ReaderObject), reader_dealloc,
      Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
      "Reader(segment=None)\n--\n\n"
      "Maps /dev/shm/confvisor.SEGMENT read-only (CONFVISOR_SEGMENT when segment is None).\n"
      "Raises Error if it is missing, not readable, corrupt or of another layout version.");
  t.tp_repr = reader_repr;
  t.tp_methods = reader_methods;
  t.tp_getset = reader_getset;
  t.tp_init = reader_init;
  t.tp_new = reader_new;
  return t;
}();

}  // namespace confvisor::python
