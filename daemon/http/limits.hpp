// What one HTTP client may take from the daemon. The endpoint runs on the daemon's own loop,
// so every wait on a client is bounded here and nothing a client does (send slowly, never
// finish a request, never read a response, open many connections) can hold supervision up.
// The README's "HTTP endpoint" section documents these values.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace confvisor::http {

struct Limits {
  // Open connections at most; one more is answered 503 at once and closed.
  std::size_t max_connections = 64;
  // The request line and headers together; more is answered 431 and closed.
  std::uint32_t max_header_bytes = 8 * 1024;
  // Time for a whole request to arrive, from the connection or from the previous response:
  // a client that trickles its headers (slowloris) or idles is closed after it.
  std::chrono::milliseconds request_timeout{5'000};
  // Time for a whole response to be sent: a client that never reads is closed after it.
  std::chrono::milliseconds write_timeout{5'000};
  // A connection is closed this long after it was accepted, however busy it is.
  std::chrono::milliseconds connection_lifetime{60'000};
  // The kernel's send buffer of each connection (SO_SNDBUF; Linux doubles it): what a client
  // that does not read can make the kernel hold for it, instead of megabytes.
  int send_buffer_bytes = 64 * 1024;
  // Requests served on one kept-alive connection before it is closed.
  unsigned max_requests_per_connection = 100;
};

}  // namespace confvisor::http
