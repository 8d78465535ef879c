// A real etcd for a test: one member or a cluster of three, on loopback addresses of this
// process's own (127.X.Y.Z computed from the pid, so parallel test processes never share a
// port), with a temporary data directory, etcd's progress notifications every
// `progress_notify_interval` and short raft timeouts so that a cluster elects a new leader
// within about a second. The constructor returns once every member serves clients (at most
// 20 s, else it throws with the end of the members' logs); the destructor SIGKILLs every
// member and removes the data, pass or fail.
//
//   EtcdCluster etcd;                                  // one member
//   EtcdCluster cluster({.members = 3});
//   cluster.put("/app/a", "1");                        // through etcdctl, returns the revision
//   cluster.stop(0); ... cluster.resume(0);            // SIGSTOP / SIGCONT member 0
//   cluster.kill(1); ... cluster.restart(1);           // SIGKILL, then start it again
//
// etcd and etcdctl come from Debian's etcd-server and etcd-client (scripts/setup-deps.sh); a
// test that needs them fails with a message saying so when they are missing.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/child.hpp"
#include "tests/support/temp_dir.hpp"

namespace confvisor::test {

struct EtcdClusterOptions {
  int members = 1;  // 1 or 3
  std::chrono::milliseconds progress_notify_interval{200};
  // Serve clients over https with a certificate for the members' addresses, signed by a CA
  // of the fixture's own (ca_file()); etcdctl is told to trust it.
  bool tls = false;
  // With a password: the user root has it and authentication is enabled, once every member
  // serves; etcdctl signs in as root.
  std::string root_password{};
};

class EtcdCluster {
 public:
  explicit EtcdCluster(EtcdClusterOptions options = {});
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  [[nodiscard]] int size() const { return static_cast<int>(members_.size()); }
  // "http://127.X.Y.Z:PORT" (https with tls) of member `i`.
  [[nodiscard]] std::string client_url(int i) const;
  [[nodiscard]] std::vector<std::string> client_urls() const;
  [[nodiscard]] pid_t pid(int i) const;
  // The CA that signed the members' certificates (with tls), for a client to verify them.
  [[nodiscard]] std::string ca_file() const;
  // A file in the fixture's directory (for a test's own certificates, password files).
  [[nodiscard]] std::string file(const std::string& name) const;
  // What member `i` has logged so far.
  [[nodiscard]] std::string log(int i) const;

  // SIGKILL member `i` and reap it.
  void kill(int i);
  // SIGSTOP / SIGCONT member `i`: it keeps its sockets open and answers nothing meanwhile.
  void stop(int i);
  void resume(int i);
  // Starts member `i` again (after kill) on its data and ports; returns once it serves.
  void restart(int i);

  // A running member that is not the leader (asked through etcdctl endpoint status): stopping
  // it costs no election.
  [[nodiscard]] int follower();

  // etcdctl against the members that are neither killed nor stopped (or member `via` only);
  // each returns the store's revision after the command and throws, with etcdctl's output,
  // if it fails. A write is tried twice: a proposal a follower forwarded to a leader that was
  // just killed or stopped is lost, and etcdctl then waits for its whole timeout (3 s).
  std::int64_t put(const std::string& key, const std::string& value, std::optional<int> via = {});
  std::int64_t remove(const std::string& key, std::optional<int> via = {});
  // Compacts the history up to `revision` (physically, so a watch from before it is refused).
  void compact(std::int64_t revision, std::optional<int> via = {});
  [[nodiscard]] std::int64_t revision(std::optional<int> via = {});
  // Any etcdctl command (with -w json where a test parses it): its output, or throws.
  std::string etcdctl(const std::vector<std::string>& args, std::optional<int> via = {});

 private:
  struct Member {
    std::string name, address, client_port, peer_port, data_dir, log_file;
    std::unique_ptr<Child> process;
    bool stopped = false;
  };
  void start(int i);
  void wait_until_serving(int i, std::size_t times);
  void make_certificates();
  [[nodiscard]] std::string usable_endpoints(std::optional<int> via) const;
  std::string write(const std::vector<std::string>& args, std::optional<int> via);

  EtcdClusterOptions options_;
  TempDir dir_;
  std::vector<Member> members_;
  std::vector<std::size_t> starts_;  // how many times each member has been started
  bool auth_enabled_ = false;
};

}  // namespace confvisor::test
