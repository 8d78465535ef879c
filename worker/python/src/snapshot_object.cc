#include "worker/python/src/snapshot_object.hpp"

#include <chrono>
#include <new>
#include <string>

#include "worker/python/src/errors.hpp"
#include "worker/python/src/pointer_walk.hpp"
#include "worker/python/src/py_ref.hpp"
#include "worker/python/src/static_type.hpp"
#include "worker/python/src/to_python.hpp"
#include "worker/snapshot_data.hpp"

namespace confvisor::python {

namespace json = boost::json;

namespace {

SnapshotObject* as_snapshot(PyObject* self) {
  return reinterpret_cast<SnapshotObject*>(self);
}

PyObject* data_of(SnapshotObject* self) {
  if (self->data == nullptr) {
    PyObject* built = to_python(self->snapshot.json(), Containers::read_only);
    if (built == nullptr) return nullptr;
    // Building can run a garbage collection, and so other threads: keep the first result.
    if (self->data == nullptr) {
      self->data = built;
    } else {
      Py_DECREF(built);
    }
  }
  return self->data;
}

// The node of `data` at `pointer`, already known to resolve: a new reference.
PyObject* data_at(SnapshotObject* self, std::string_view pointer) {
  PyObject* node = data_of(self);
  if (node == nullptr) return nullptr;
  PyRef held(Py_NewRef(node));
  std::string_view rest = pointer;
  std::string token;
  while (!rest.empty()) {
    rest.remove_prefix(1);
    next_token(rest, token);
    PyObject* next = nullptr;
    if (PyTuple_Check(held.get())) {
      std::size_t index = 0;
      parse_index(token, index);
      next = Py_NewRef(PyTuple_GET_ITEM(held.get(), static_cast<Py_ssize_t>(index)));
    } else {
      PyRef key(
          PyUnicode_DecodeUTF8(token.data(), static_cast<Py_ssize_t>(token.size()), "strict"));
      if (!key) return nullptr;
      next = PyObject_GetItem(held.get(), key.get());
    }
    if (next == nullptr) return nullptr;
    held = PyRef(next);
  }
  return held.release();
}

struct TypeWanted {
  std::string_view name;  // as the C++ API names it
  bool (*accepts)(const json::value&);
};

// What `type=` may be, or nullptr with a TypeError set.
const TypeWanted* wanted_type(PyObject* type) {
  static const TypeWanted kBool{"boolean", [](const json::value& v) { return v.is_bool(); }};
  static const TypeWanted kInt{"integer",
                               [](const json::value& v) { return v.is_int64() || v.is_uint64(); }};
  static const TypeWanted kFloat{"number", [](const json::value& v) { return v.is_number(); }};
  static const TypeWanted kStr{"string", [](const json::value& v) { return v.is_string(); }};
  static const TypeWanted kObject{"object", [](const json::value& v) { return v.is_object(); }};
  static const TypeWanted kArray{"array", [](const json::value& v) { return v.is_array(); }};
  if (type == reinterpret_cast<PyObject*>(&PyBool_Type)) return &kBool;
  if (type == reinterpret_cast<PyObject*>(&PyLong_Type)) return &kInt;
  if (type == reinterpret_cast<PyObject*>(&PyFloat_Type)) return &kFloat;
  if (type == reinterpret_cast<PyObject*>(&PyUnicode_Type)) return &kStr;
  if (type == reinterpret_cast<PyObject*>(&PyDict_Type)) return &kObject;
  if (type == reinterpret_cast<PyObject*>(&PyList_Type) ||
      type == reinterpret_cast<PyObject*>(&PyTuple_Type)) {
    return &kArray;
  }
  PyErr_SetString(PyExc_TypeError, "type must be one of bool, int, float, str, dict, list, tuple");
  return nullptr;
}

PyObject* raise_walk_failure(const WalkResult& r, std::string_view pointer,
                             std::uint64_t generation) {
  const std::string where = shown_pointer(pointer.substr(0, r.failed_at));
  switch (r.outcome) {
    case WalkOutcome::invalid_pointer:
      return raise(PyExc_ValueError,
                   "invalid JSON pointer \"" + std::string(pointer) +
                       "\": it must be empty or start with '/', and '~' must be ~0 or ~1");
    case WalkOutcome::not_found:
      return raise(exceptions.not_found, std::string(pointer) + ": not found in generation " +
                                             std::to_string(generation) + " (" + where +
                                             " has no \"" + r.token + "\")");
    case WalkOutcome::wrong_type:
      if (r.value->is_array()) {
        return raise(exceptions.wrong_type, std::string(pointer) + ": " + where +
                                                " is an array, and \"" + r.token +
                                                "\" is not an index");
      }
      return raise(exceptions.wrong_type, std::string(pointer) + ": " + where + " is " +
                                              describe_found(*r.value) +
                                              ", not an object or array");
    case WalkOutcome::found:
      break;
  }
  return nullptr;
}

// get(pointer, default=<missing>, *, type=None), parsed by hand: this is a hot path.
PyObject* snapshot_get(PyObject* self_obj, PyObject* const* args, Py_ssize_t nargs,
                       PyObject* kwnames) {
  SnapshotObject* self = as_snapshot(self_obj);
  PyObject* pointer_obj = nargs > 0 ? args[0] : nullptr;
  PyObject* fallback = nargs > 1 ? args[1] : nullptr;
  PyObject* type = nullptr;
  if (nargs < 1 || nargs > 2) {
    PyErr_SetString(PyExc_TypeError, "get() takes a pointer and an optional default");
    return nullptr;
  }
  const Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  for (Py_ssize_t i = 0; i < nkw; ++i) {
    PyObject* name = PyTuple_GET_ITEM(kwnames, i);
    PyObject* value = args[nargs + i];
    if (PyUnicode_CompareWithASCIIString(name, "default") == 0 && fallback == nullptr) {
      fallback = value;
    } else if (PyUnicode_CompareWithASCIIString(name, "type") == 0) {
      type = value == Py_None ? nullptr : value;
    } else {
      PyErr_Format(PyExc_TypeError, "get() got an unexpected or repeated argument %R", name);
      return nullptr;
    }
  }
  if (!PyUnicode_Check(pointer_obj)) {
    PyErr_SetString(PyExc_TypeError, "get(): the pointer must be a str such as \"/db/port\"");
    return nullptr;
  }
  const TypeWanted* wanted = type ? wanted_type(type) : nullptr;
  if (type && wanted == nullptr) return nullptr;
  Py_ssize_t size = 0;
  const char* text = PyUnicode_AsUTF8AndSize(pointer_obj, &size);
  if (text == nullptr) return nullptr;
  const std::string_view pointer(text, static_cast<std::size_t>(size));

  const WalkResult r = walk(self->snapshot.json(), pointer);
  if (r.outcome == WalkOutcome::not_found && fallback != nullptr) return Py_NewRef(fallback);
  if (r.outcome != WalkOutcome::found) {
    return raise_walk_failure(r, pointer, self->snapshot.generation());
  }
  const json::value& v = *r.value;
  if (wanted && !wanted->accepts(v)) {
    return raise(exceptions.wrong_type, shown_pointer(pointer) + ": expected " +
                                            std::string(wanted->name) + ", found " +
                                            describe_found(v));
  }
  if (type == reinterpret_cast<PyObject*>(&PyFloat_Type)) {
    return PyFloat_FromDouble(v.to_number<double>());
  }
  if (v.is_structured()) return data_at(self, pointer);
  return scalar_to_python(v);
}

PyObject* snapshot_to_dict(PyObject* self, PyObject*) {
  return to_python(as_snapshot(self)->snapshot.json(), Containers::mutable_copy);
}

PyObject* get_generation(PyObject* self, void*) {
  return PyLong_FromUnsignedLongLong(as_snapshot(self)->snapshot.generation());
}

PyObject* get_published_at(PyObject* self, void*) {
  const auto since_epoch = as_snapshot(self)->snapshot.published_at().time_since_epoch();
  return PyFloat_FromDouble(std::chrono::duration<double>(since_epoch).count());
}

PyObject* get_source(PyObject* self, void*) {
  const std::string_view s = as_snapshot(self)->snapshot.source();
  return PyUnicode_DecodeFSDefaultAndSize(s.data(), static_cast<Py_ssize_t>(s.size()));
}

PyObject* get_publisher_pid(PyObject* self, void*) {
  return PyLong_FromLong(as_snapshot(self)->snapshot.publisher_pid());
}

PyObject* get_text(PyObject* self, void*) {
  const std::string_view s = as_snapshot(self)->snapshot.text();
  return PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "strict");
}

PyObject* get_data(PyObject* self, void*) {
  PyObject* data = data_of(as_snapshot(self));
  return data ? Py_NewRef(data) : nullptr;
}

PyObject* snapshot_repr(PyObject* self) {
  const confvisor::Snapshot& s = as_snapshot(self)->snapshot;
  const std::string source(s.source());
  return PyUnicode_FromFormat("<confvisor.Snapshot generation=%llu source=%s>",
                              static_cast<unsigned long long>(s.generation()),
                              source.empty() ? "(none)" : source.c_str());
}

void snapshot_dealloc(PyObject* self) {
  SnapshotObject* s = as_snapshot(self);
  Py_CLEAR(s->data);
  s->snapshot.~Snapshot();
  Py_TYPE(self)->tp_free(self);
}

PyMethodDef snapshot_methods[] = {
    {"get", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(snapshot_get)),
     METH_FASTCALL | METH_KEYWORDS,
     "get(pointer, default=<missing>, *, type=None)\n--\n\n"
     "The value at a JSON pointer (RFC 6901; \"\" is the whole document).\n\n"
     "Objects and arrays come back as the read-only nodes of `data`. `default` is returned\n"
     "only when the pointer does not resolve; without it that raises NotFound (a KeyError).\n"
     "A pointer that steps into a scalar raises WrongType (a TypeError), default or not.\n"
     "`type` (bool, int, float, str, dict, list or tuple) checks the value: another type\n"
     "raises WrongType naming the pointer and the type found; float accepts integers."},
    {"to_dict", snapshot_to_dict, METH_NOARGS,
     "to_dict()\n--\n\n"
     "A private, mutable deep copy of the document (dicts and lists), made on every call."},
    {nullptr, nullptr, 0, nullptr}};

PyGetSetDef snapshot_getset[] = {
    {"generation", get_generation, nullptr, "The generation number (1, 2, ...).", nullptr},
    {"published_at", get_published_at, nullptr,
     "When it was published, in seconds since the epoch (as time.time()).", nullptr},
    {"source", get_source, nullptr, "The file it was loaded from (\"\" if none).", nullptr},
    {"publisher_pid", get_publisher_pid, nullptr, "The pid of the process that published it.",
     nullptr},
    {"text", get_text, nullptr, "The document as minified JSON text.", nullptr},
    {"data", get_data, nullptr,
     "The whole document as read-only Python objects: objects are types.MappingProxyType\n"
     "over a dict, arrays tuples. Built once per generation, on first use, and shared.",
     nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr}};

}  // namespace

PyTypeObject SnapshotType = [] {
  PyTypeObject t = static_type(
      "confvisor.Snapshot", sizeof(SnapshotObject), snapshot_dealloc, Py_TPFLAGS_DEFAULT,
      "One published generation of the config: immutable, safe to keep and to share between\n"
      "threads. Get one from Reader.current().");
  t.tp_repr = snapshot_repr;
  t.tp_methods = snapshot_methods;
  t.tp_getset = snapshot_getset;
  return t;
}();

PyObject* new_snapshot_object(const confvisor::Snapshot& snapshot) {
  PyObject* obj = SnapshotType.tp_alloc(&SnapshotType, 0);
  if (obj == nullptr) return nullptr;
  SnapshotObject* s = as_snapshot(obj);
  new (&s->snapshot) confvisor::Snapshot(snapshot);
  s->data = nullptr;
  return obj;
}

}  // namespace confvisor::python
