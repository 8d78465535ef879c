/* ack_worker_c: ack_worker's worker mode (tests/support/ack_worker.cc) through the C API:
 * for the current generation and every new one, /app/mode "apply" (or none) reports it
 * applied, "reject" rejected with the reason "/app/mode is reject (C)", "crash" exits with
 * code 70; it prints "generation N: MODE -> STATUS" with the call's return value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "confvisor/worker.h"

int main(void) {
  confvisor_reader* r = confvisor_open(NULL);
  if (r == NULL) {
    fprintf(stderr, "ack_worker_c: %s\n", confvisor_last_error());
    return 1;
  }
  for (;;) {
    uint64_t generation = confvisor_generation(r);
    char* mode = NULL;
    const char* m = "apply";
    if (confvisor_get_string(r, "/app/mode", &mode) == CONFVISOR_OK) m = mode;
    int status = 0;
    if (strcmp(m, "crash") == 0) {
      printf("generation %llu: crash\n", (unsigned long long)generation);
      fflush(stdout);
      _exit(70);
    } else if (strcmp(m, "reject") == 0) {
      status = confvisor_report_rejected(r, generation, "/app/mode is reject (C)");
    } else if (strcmp(m, "silent") != 0) {
      status = confvisor_report_applied(r, generation);
    }
    printf("generation %llu: %s -> %d\n", (unsigned long long)generation, m, status);
    fflush(stdout);
    confvisor_free(mode);
    confvisor_wait(r, -1);
  }
}
