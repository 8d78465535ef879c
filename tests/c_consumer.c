/* A worker in plain C11 that uses only <confvisor/worker.h>: it proves the header is valid C
 * and that the library links into a C program. tools_test runs it against a live segment.
 *
 *   c_consumer SEGMENT   ->   generation=N port=P   (exit 0), or the error (exit 1) */
#include <confvisor/worker.h>
#include <inttypes.h>
#include <stdio.h>

int main(int argc, char** argv) {
  confvisor_reader* reader;
  int64_t port = 0;
  int status;

  if (argc != 2) {
    fprintf(stderr, "usage: c_consumer SEGMENT\n");
    return 2;
  }
  reader = confvisor_open(argv[1]);
  if (reader == NULL) {
    fprintf(stderr, "c_consumer: %s\n", confvisor_last_error());
    return 1;
  }
  status = confvisor_get_int(reader, "/database/port", &port);
  if (status != CONFVISOR_OK) {
    fprintf(stderr, "c_consumer: %s (status %d)\n", confvisor_last_error(), status);
    confvisor_close(reader);
    return 1;
  }
  printf("generation=%" PRIu64 " port=%" PRId64 "\n", confvisor_generation(reader), port);
  confvisor_close(reader);
  return 0;
}
