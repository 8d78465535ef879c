// The C API: a thin shell over Reader/Snapshot. Exceptions stop here and become a status
// plus a per-thread message.
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "confvisor/worker.h"
#include "confvisor/worker.hpp"
#include "worker/report_sender.hpp"

struct confvisor_reader {
  confvisor::Reader reader;
};

namespace {

thread_local std::string last_error;

int fail(int status, std::string message) {
  last_error = std::move(message);
  return status;
}

char* dup_string(std::string_view s) {
  auto* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out == nullptr) return nullptr;
  std::memcpy(out, s.data(), s.size());
  out[s.size()] = '\0';
  return out;
}

// Runs `fn(snapshot, value)` on the value at `pointer` of the current generation, mapping
// every failure to a status.
template <class Fn>
int with_value(confvisor_reader* r, const char* pointer, Fn&& fn) {
  if (r == nullptr || pointer == nullptr) return fail(CONFVISOR_ERROR, "null reader or pointer");
  try {
    const confvisor::Snapshot& snap = r->reader.current();
    const boost::json::value* v = snap.find(pointer);
    if (v == nullptr) {
      return fail(CONFVISOR_NOT_FOUND, std::string(pointer) + ": not found in generation " +
                                           std::to_string(snap.generation()));
    }
    return fn(snap, *v);
  } catch (const confvisor::Error& e) {
    std::string what = e.what();
    bool type = what.find(": expected ") != std::string::npos;
    return fail(type ? CONFVISOR_WRONG_TYPE : CONFVISOR_ERROR, what);
  } catch (const std::exception& e) {
    return fail(CONFVISOR_ERROR, e.what());
  }
}

template <class T, class Out>
int get_typed(confvisor_reader* r, const char* pointer, Out* out) {
  if (out == nullptr) return fail(CONFVISOR_ERROR, "null output");
  return with_value(r, pointer, [&](const confvisor::Snapshot& snap, const boost::json::value&) {
    *out = static_cast<Out>(snap.get<T>(pointer));
    last_error.clear();
    return int{CONFVISOR_OK};
  });
}

template <class Render>
int get_text(confvisor_reader* r, const char* pointer, char** out, Render&& render) {
  if (out == nullptr) return fail(CONFVISOR_ERROR, "null output");
  return with_value(r, pointer, [&](const confvisor::Snapshot& snap, const boost::json::value& v) {
    char* s = dup_string(render(snap, v));
    if (s == nullptr) return fail(CONFVISOR_ERROR, "out of memory");
    *out = s;
    last_error.clear();
    return int{CONFVISOR_OK};
  });
}

// A report of generation `generation`: 0 when sent (or when there is no daemon to tell),
// else -errno with the reason in last_error.
int report(confvisor_reader* r, std::uint64_t generation, bool applied, const char* reason) {
  if (r == nullptr) return fail(-EINVAL, "null reader");
  if (generation == 0) return fail(-EINVAL, "generation 0 is never published: nothing to report");
  const confvisor::SendOutcome sent =
      confvisor::send_report({generation, applied, reason == nullptr ? "" : reason});
  if (sent.result != confvisor::ReportResult::dropped) {
    last_error.clear();
    return 0;
  }
  return fail(-sent.error, std::string("report of generation ") + std::to_string(generation) +
                               " dropped: " + std::strerror(sent.error) +
                               (sent.error == EAGAIN ? " (the daemon's queue is full)" : ""));
}

}  // namespace

extern "C" {

confvisor_reader* confvisor_open(const char* segment) {
  try {
    last_error.clear();
    if (segment == nullptr) return new confvisor_reader{confvisor::Reader::from_env()};
    return new confvisor_reader{confvisor::Reader(segment)};
  } catch (const std::exception& e) {
    fail(CONFVISOR_ERROR, e.what());
    return nullptr;
  }
}

void confvisor_close(confvisor_reader* reader) {
  delete reader;
}

uint64_t confvisor_generation(confvisor_reader* r) {
  if (r == nullptr) return 0;
  try {
    return r->reader.current().generation();
  } catch (const std::exception& e) {
    fail(CONFVISOR_ERROR, e.what());
    return 0;
  }
}

int confvisor_get_string(confvisor_reader* r, const char* pointer, char** out) {
  return get_text(r, pointer, out, [&](const confvisor::Snapshot& snap, const boost::json::value&) {
    return snap.get<std::string>(pointer);
  });
}

int confvisor_get_json(confvisor_reader* r, const char* pointer, char** out) {
  return get_text(r, pointer, out, [](const confvisor::Snapshot&, const boost::json::value& v) {
    return boost::json::serialize(v);
  });
}

int confvisor_get_int(confvisor_reader* r, const char* pointer, int64_t* out) {
  return get_typed<std::int64_t>(r, pointer, out);
}

int confvisor_get_double(confvisor_reader* r, const char* pointer, double* out) {
  return get_typed<double>(r, pointer, out);
}

int confvisor_get_bool(confvisor_reader* r, const char* pointer, int* out) {
  return get_typed<bool>(r, pointer, out);
}

int confvisor_wait(confvisor_reader* r, int64_t timeout_ms) {
  if (r == nullptr) return fail(CONFVISOR_ERROR, "null reader");
  try {
    auto timeout = timeout_ms < 0 ? std::chrono::nanoseconds(-1)
                                  : std::chrono::nanoseconds(std::chrono::milliseconds(timeout_ms));
    return r->reader.wait_for_change(timeout) ? CONFVISOR_OK : CONFVISOR_TIMEOUT;
  } catch (const std::exception& e) {
    return fail(CONFVISOR_ERROR, e.what());
  }
}

int confvisor_report_applied(confvisor_reader* r, uint64_t generation) {
  return report(r, generation, true, nullptr);
}

int confvisor_report_rejected(confvisor_reader* r, uint64_t generation, const char* reason) {
  return report(r, generation, false, reason);
}

const char* confvisor_last_error(void) {
  return last_error.c_str();
}

void confvisor_free(void* p) {
  std::free(p);
}

}  // extern "C"
