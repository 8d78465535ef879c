/* libconfvisor's C API: read the live config that confvisord publishes.
 *
 *   confvisor_reader* r = confvisor_open(NULL);            // CONFVISOR_SEGMENT
 *   if (!r) { fprintf(stderr, "%s\n", confvisor_last_error()); return 1; }
 *   int64_t port;
 *   if (confvisor_get_int(r, "/database/port", &port) == CONFVISOR_OK) ...
 *   confvisor_wait(r, 5000);                               // futex wait, milliseconds
 *   confvisor_report_applied(r, confvisor_generation(r));  // tell confvisord ("acks")
 *   confvisor_close(r);
 *
 * Every call that fails returns a negative status and leaves a message, naming the segment
 * or the JSON pointer, in confvisor_last_error() (per thread). A reader may be used from
 * several threads at once. */
#ifndef CONFVISOR_WORKER_H
#define CONFVISOR_WORKER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct confvisor_reader confvisor_reader;

enum confvisor_status {
  CONFVISOR_OK = 0,
  CONFVISOR_ERROR = -1,      /* segment missing, unreadable, corrupt; see last_error */
  CONFVISOR_NOT_FOUND = -2,  /* the pointer does not resolve */
  CONFVISOR_WRONG_TYPE = -3, /* the value has another type */
  CONFVISOR_TIMEOUT = -4     /* confvisor_wait: nothing changed in time */
};

/* Opens a reader on segment NAME, or on CONFVISOR_SEGMENT if `segment` is NULL.
 * Returns NULL on failure. */
confvisor_reader* confvisor_open(const char* segment);
void confvisor_close(confvisor_reader* reader);

/* The current generation number; 0 if none could be read. */
uint64_t confvisor_generation(confvisor_reader* reader);

/* Typed lookups by JSON pointer in the current generation. Strings and JSON come back
 * NUL-terminated in memory from malloc: release them with confvisor_free. */
int confvisor_get_string(confvisor_reader* reader, const char* pointer, char** out);
int confvisor_get_int(confvisor_reader* reader, const char* pointer, int64_t* out);
int confvisor_get_double(confvisor_reader* reader, const char* pointer, double* out);
int confvisor_get_bool(confvisor_reader* reader, const char* pointer, int* out);
/* Any value (object, array, scalar) as compact JSON text. */
int confvisor_get_json(confvisor_reader* reader, const char* pointer, char** out);

/* Waits up to `timeout_ms` (negative: forever) for a generation other than the one this
 * thread last read. CONFVISOR_OK when it changed, CONFVISOR_TIMEOUT, or CONFVISOR_ERROR. */
int confvisor_wait(confvisor_reader* reader, int64_t timeout_ms);

/* Tells confvisord that this process applied generation `generation`, or rejected it and
 * why (`reason` one line, cut to 512 bytes; NULL is ""), for a worker whose config says
 * "acks": true. Never blocks. Returns 0 when the daemon has the report, and also when the
 * process was not started by confvisord (no CONFVISOR_ACK_SOCKET: nothing to tell); else a
 * negative errno value, with confvisor_last_error saying why: -EAGAIN when the daemon's
 * queue is full and the report was dropped, -ECONNREFUSED when the daemon is gone, -EINVAL
 * for a null reader or generation 0. */
int confvisor_report_applied(confvisor_reader* reader, uint64_t generation);
int confvisor_report_rejected(confvisor_reader* reader, uint64_t generation, const char* reason);

/* This thread's last error message ("" if none). Valid until this thread's next call. */
const char* confvisor_last_error(void);
void confvisor_free(void* p);

#ifdef __cplusplus
}
#endif

#endif /* CONFVISOR_WORKER_H */
