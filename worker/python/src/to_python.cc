#include "worker/python/src/to_python.hpp"

#include "worker/python/src/py_ref.hpp"

namespace confvisor::python {

namespace json = boost::json;

PyObject* scalar_to_python(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      Py_RETURN_NONE;
    case json::kind::bool_:
      return PyBool_FromLong(v.get_bool());
    case json::kind::int64:
      return PyLong_FromLongLong(v.get_int64());
    case json::kind::uint64:
      return PyLong_FromUnsignedLongLong(v.get_uint64());
    case json::kind::double_:
      return PyFloat_FromDouble(v.get_double());
    case json::kind::string: {
      // Boost.JSON validated the UTF-8 when it parsed the generation.
      const json::string& s = v.get_string();
      return PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "strict");
    }
    case json::kind::array:
    case json::kind::object:
      break;
  }
  PyErr_SetString(PyExc_SystemError, "confvisor: scalar_to_python called on a container");
  return nullptr;
}

namespace {

PyObject* array_to_python(const json::array& a, Containers c) {
  const auto n = static_cast<Py_ssize_t>(a.size());
  PyRef out(c == Containers::read_only ? PyTuple_New(n) : PyList_New(n));
  if (!out) return nullptr;
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* item = to_python(a[static_cast<std::size_t>(i)], c);
    if (item == nullptr) return nullptr;
    // Both steal the reference.
    if (c == Containers::read_only) {
      PyTuple_SET_ITEM(out.get(), i, item);
    } else {
      PyList_SET_ITEM(out.get(), i, item);
    }
  }
  return out.release();
}

PyObject* object_to_python(const json::object& o, Containers c) {
  PyRef dict(PyDict_New());
  if (!dict) return nullptr;
  for (const json::key_value_pair& kv : o) {
    const json::string_view key = kv.key();
    PyRef k(PyUnicode_DecodeUTF8(key.data(), static_cast<Py_ssize_t>(key.size()), "strict"));
    PyRef item(to_python(kv.value(), c));
    if (!k || !item || PyDict_SetItem(dict.get(), k.get(), item.get()) < 0) return nullptr;
  }
  if (c == Containers::mutable_copy) return dict.release();
  // The proxy holds the only reference to the dict: nothing else can reach it to change it.
  return PyDictProxy_New(dict.get());
}

}  // namespace

PyObject* to_python(const json::value& v, Containers c) {
  if (v.is_array()) return array_to_python(v.get_array(), c);
  if (v.is_object()) return object_to_python(v.get_object(), c);
  return scalar_to_python(v);
}

}  // namespace confvisor::python
