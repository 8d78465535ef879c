// The socket workers report applied and rejected generations on (CONFVISOR_ACK_SOCKET): an
// abstract SOCK_SEQPACKET listener, "@confvisor/SEGMENT/ack/PID", nothing on disk. Each
// worker process connects once and sends each report as one packet (common/ack); the kernel
// tells us each packet's sender (SO_PASSCRED), which is how a report finds its instance.
//
// Why SEQPACKET, not a datagram socket: a datagram socket queues at most
// net.unix.max_dgram_qlen packets (10 by default) from all senders together, so the
// instances of a worker that apply a new generation at the same moment would see their
// reports dropped. A connection has a queue of its own, bounded by its sender's buffer: one
// instance's burst, or a hostile process, fills only its own. Packets keep their bounds as
// datagrams do.
//
// Nothing here blocks the loop: the listener and every connection are non-blocking, each
// wakeup reads a bounded number of packets, and there is a bound on connections. A
// connection from a process the supervisor does not accept (`accepts`, asked at connect) is
// an outsider's: its packets are still handed on (to be logged as ignored), but it is closed
// after the first wakeup that brings any, or after a second, and only a few may be open at
// once, so outsiders can never hold the slots the workers need.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/base/log_throttle.hpp"

namespace confvisor::supervise {

class AckSocket {
 public:
  // A packet and the pid of the process that sent it (0 when the kernel gave none).
  using Handler = std::function<void(pid_t sender, const std::string& packet)>;
  // Whether a process that connects may stay connected.
  using Accepts = std::function<bool(pid_t peer)>;
  AckSocket(boost::asio::io_context& io, const std::string& segment, Handler handler,
            Accepts accepts);
  ~AckSocket();

  // What workers get as CONFVISOR_ACK_SOCKET.
  [[nodiscard]] const std::string& address() const { return address_; }

  // Connections open at once, at most (outsiders' apart); one more is closed at once.
  static constexpr std::size_t kMaxConnections = 1024;
  static constexpr std::size_t kMaxOutsiders = 16;

 private:
  class Connection;
  void wait();
  void accept_all();
  void closed(Connection* c);

  boost::asio::io_context& io_;
  std::string address_;
  Handler handler_;
  Accepts accepts_;
  boost::asio::posix::stream_descriptor listener_;
  std::map<Connection*, std::shared_ptr<Connection>> connections_;
  std::size_t outsiders_ = 0;
  LogThrottle throttle_;
};

}  // namespace confvisor::supervise
