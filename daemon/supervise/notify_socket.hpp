// The NOTIFY_SOCKET that confvisord gives its workers with `"ready": "notify"`. It is the
// receiving end of the systemd protocol (READY=1, STATUS=, WATCHDOG=1, STOPPING=1), so
// services that call sd_notify work unchanged. An abstract socket: nothing on disk to clean up or
// to go stale. The kernel tells us each sender's pid (SO_PASSCRED), which is how a message finds
// its worker.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <string>

namespace confvisor::supervise {

class NotifySocket {
 public:
  using Handler = std::function<void(pid_t sender, const std::string& message)>;
  NotifySocket(boost::asio::io_context& io, const std::string& segment, Handler handler);
  ~NotifySocket();

  // What workers get as NOTIFY_SOCKET ("@confvisor/SEGMENT/notify/PID").
  [[nodiscard]] const std::string& address() const { return address_; }

 private:
  void wait();
  void receive_all();

  std::string address_;
  Handler handler_;
  boost::asio::posix::stream_descriptor socket_;
};

}  // namespace confvisor::supervise
