// confvisor._native.Notifier: an eventfd that becomes readable when a new generation is
// published (and once at start). Behind it the library's Reader::on_change thread writes to
// the eventfd; it never touches Python, so it needs no GIL and cannot run into interpreter
// shutdown. The Python side waits on the fd with select() or an asyncio loop's add_reader():
// no polling, and a stop is immediate.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

namespace confvisor::python {

extern PyTypeObject NotifierType;

}  // namespace confvisor::python
