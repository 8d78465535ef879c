// Unix datagram sockets bound to a path: the receiving end of a daemon's NOTIFY_SOCKET
// (sd_notify) and of the bench workers' reports, and the sending side the workers use.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/os/unique_fd.hpp"

namespace confvisor::test {

struct Datagram {
  std::string text;
  std::int64_t received_ns = 0;  // CLOCK_MONOTONIC when it was taken off the socket
};

class NotifySocket {
 public:
  // Binds a non-blocking socket to `path` (which must not exist; at most 107 bytes).
  // Throws Error on failure.
  explicit NotifySocket(std::string path);
  // Closes the socket and unlinks its path.
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }
  // Readable when a datagram is queued: for a caller's own poll().
  [[nodiscard]] int fd() const { return fd_.get(); }

  // The next queued datagram, or nullopt if none is queued. Never blocks.
  std::optional<Datagram> try_receive();
  // The next datagram's text, or "" if none came within `timeout`.
  std::string receive(std::chrono::milliseconds timeout);

 private:
  std::string path_;
  UniqueFd fd_;
};

// Sends `message` as one datagram to the socket bound at `path`. Blocks while the
// receiver's queue is full (the bench always reads its sockets). Returns false (errno set)
// on failure.
bool send_datagram(const char* path, std::string_view message);

}  // namespace confvisor::test
