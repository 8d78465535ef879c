/* The C version of consumer.cc, built with pkg-config against the installed package:
 *   cc consumer.c $(pkg-config --cflags --libs confvisor)
 *   CONFVISOR_SEGMENT=NAME ./a.out     prints the database address of the current generation */
#include <confvisor/worker.h>
#include <inttypes.h>
#include <stdio.h>

int main(void) {
  confvisor_reader* reader = confvisor_open(NULL); /* CONFVISOR_SEGMENT */
  char* host = NULL;
  int64_t port = 0;
  int ok;

  if (reader == NULL) {
    fprintf(stderr, "consumer: %s\n", confvisor_last_error());
    return 1;
  }
  ok = confvisor_get_string(reader, "/database/host", &host) == CONFVISOR_OK &&
       confvisor_get_int(reader, "/database/port", &port) == CONFVISOR_OK;
  if (ok) {
    printf("generation %" PRIu64 ": %s:%" PRId64 "\n", confvisor_generation(reader), host, port);
  } else {
    fprintf(stderr, "consumer: %s\n", confvisor_last_error());
  }
  confvisor_free(host);
  confvisor_close(reader);
  return ok ? 0 : 1;
}
