#include "worker/python/src/errors.hpp"

#include "worker/python/src/py_ref.hpp"

namespace confvisor::python {

Exceptions exceptions;

namespace {

// KeyError's str() is the repr of its argument ("'/a: not found'"); the message reads
// better plain, as every other confvisor error prints.
bool use_plain_str(PyObject* type) {
  PyRef plain(PyObject_GetAttrString(PyExc_Exception, "__str__"));
  return plain && PyObject_SetAttrString(type, "__str__", plain.get()) == 0;
}

PyObject* make(const char* name, const char* doc, PyObject* bases) {
  return PyErr_NewExceptionWithDoc(name, doc, bases, nullptr);
}

}  // namespace

bool add_exceptions(PyObject* module) {
  exceptions.error = make("confvisor.Error",
                          "A failure of the library: the segment is missing, not readable, "
                          "corrupt, or has no generation yet. The message says which.",
                          nullptr);
  if (exceptions.error == nullptr) return false;
  PyRef not_found_bases(PyTuple_Pack(2, exceptions.error, PyExc_KeyError));
  PyRef wrong_type_bases(PyTuple_Pack(2, exceptions.error, PyExc_TypeError));
  if (!not_found_bases || !wrong_type_bases) return false;
  exceptions.not_found =
      make("confvisor.NotFound", "A JSON pointer that does not resolve (a KeyError).",
           not_found_bases.get());
  exceptions.wrong_type = make("confvisor.WrongType",
                               "A value of another type than asked for, or a pointer that "
                               "steps into a scalar (a TypeError). The message names the "
                               "pointer and the type found.",
                               wrong_type_bases.get());
  if (exceptions.not_found == nullptr || exceptions.wrong_type == nullptr) return false;
  if (!use_plain_str(exceptions.not_found)) return false;
  for (auto [name, type] :
       {std::pair{"Error", exceptions.error}, std::pair{"NotFound", exceptions.not_found},
        std::pair{"WrongType", exceptions.wrong_type}}) {
    if (PyModule_AddObjectRef(module, name, type) < 0) return false;
  }
  return true;
}

std::nullptr_t raise(PyObject* type, std::string_view message) {
  PyRef text(
      PyUnicode_DecodeUTF8(message.data(), static_cast<Py_ssize_t>(message.size()), "replace"));
  if (text) PyErr_SetObject(type, text.get());
  return nullptr;
}

}  // namespace confvisor::python
