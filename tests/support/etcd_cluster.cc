#include "tests/support/etcd_cluster.hpp"

#include <signal.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <sstream>
#include <thread>

#include "common/base/error.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/text_search.hpp"

namespace confvisor::test {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(20);
// etcd logs this once it serves clients (zap logger, http and https).
constexpr std::string_view kServing = "serving client traffic";

// A program from PATH, or an Error that says which package to install.
std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw Error(
      "the etcd tests need " + name +
      " in PATH: install Debian's etcd-server and etcd-client (sudo scripts/setup-deps.sh)");
}

// 127.A.B.C from 22 bits of the pid and 2 bits of the member: no other process shares it.
std::string member_address(int member) {
  const auto p = static_cast<unsigned>(::getpid());
  return "127." + std::to_string((p >> 14) & 0xff) + "." + std::to_string((p >> 6) & 0xff) + "." +
         std::to_string(((p & 0x3f) << 2) | static_cast<unsigned>(member));
}

std::int64_t header_revision(const std::string& json_text) {
  boost::json::error_code ec;
  const boost::json::value v = boost::json::parse(json_text, ec);
  if (ec || !v.is_object()) throw Error("etcdctl printed no JSON: " + json_text);
  const boost::json::value* header = v.get_object().if_contains("header");
  if (header == nullptr || !header->is_object())
    throw Error("etcdctl printed no header: " + json_text);
  return header->get_object().at("revision").to_number<std::int64_t>();
}

void run_or_throw(const std::vector<std::string>& argv, const std::string& what) {
  const RunResult r = run(argv);
  if (r.exit_code() != 0) throw Error(what + " failed: " + r.output);
}

}  // namespace

EtcdCluster::EtcdCluster(EtcdClusterOptions options) : options_(options), dir_("etcd") {
  if (options_.members != 1 && options_.members != 3) throw Error("EtcdCluster: 1 or 3 members");
  const std::string etcd = find_program("etcd");
  (void)find_program("etcdctl");
  static int instances = 0;
  const int base_port = 20000 + 10 * (instances++ % 4000);
  members_.resize(static_cast<std::size_t>(options_.members));
  starts_.assign(members_.size(), 0);
  for (int i = 0; i < size(); ++i) {
    Member& m = members_[static_cast<std::size_t>(i)];
    m.name = "m" + std::to_string(i);
    m.address = member_address(i);
    m.client_port = std::to_string(base_port);
    m.peer_port = std::to_string(base_port + 1);
    m.data_dir = dir_.file(m.name + ".data");
    m.log_file = dir_.file(m.name + ".log");
  }
  if (options_.tls) make_certificates();
  for (int i = 0; i < size(); ++i) start(i);
  for (int i = 0; i < size(); ++i) wait_until_serving(i, 1);
  if (!options_.root_password.empty()) {
    (void)etcdctl({"user", "add", "root", "--new-user-password=" + options_.root_password,
                   "--interactive=false"});
    (void)etcdctl({"auth", "enable"});
    auth_enabled_ = true;
  }
}

EtcdCluster::~EtcdCluster() {
  for (Member& m : members_) m.process.reset();  // SIGKILL and reap, stopped or not
}

std::string EtcdCluster::client_url(int i) const {
  const Member& m = members_.at(static_cast<std::size_t>(i));
  return std::string(options_.tls ? "https" : "http") + "://" + m.address + ":" + m.client_port;
}

std::vector<std::string> EtcdCluster::client_urls() const {
  std::vector<std::string> urls;
  for (int i = 0; i < size(); ++i) urls.push_back(client_url(i));
  return urls;
}

pid_t EtcdCluster::pid(int i) const {
  const Member& m = members_.at(static_cast<std::size_t>(i));
  if (!m.process) throw Error("etcd member " + m.name + " is not running");
  return m.process->pid();
}

std::string EtcdCluster::ca_file() const {
  return dir_.file("ca.pem");
}

std::string EtcdCluster::file(const std::string& name) const {
  return dir_.file(name);
}

std::string EtcdCluster::log(int i) const {
  return read_file(members_.at(static_cast<std::size_t>(i)).log_file);
}

void EtcdCluster::make_certificates() {
  const std::string openssl = find_program("openssl");
  std::string names = "subjectAltName=";
  for (int i = 0; i < size(); ++i)
    names += (i ? ",IP:" : "IP:") + members_[static_cast<std::size_t>(i)].address;
  dir_.write("server.ext", names + "\n");
  const std::string ec = "ec_paramgen_curve:prime256v1";
  run_or_throw({openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", ec, "-nodes", "-keyout",
                file("ca.key"), "-out", ca_file(), "-days", "2", "-subj", "/CN=confvisor test CA"},
               "openssl (CA)");
  run_or_throw({openssl, "req", "-newkey", "ec", "-pkeyopt", ec, "-nodes", "-keyout",
                file("server.key"), "-out", file("server.csr"), "-subj", "/CN=etcd"},
               "openssl (server key)");
  run_or_throw({openssl, "x509", "-req", "-in", file("server.csr"), "-CA", ca_file(), "-CAkey",
                file("ca.key"), "-CAcreateserial", "-out", file("server.pem"), "-days", "2",
                "-extfile", file("server.ext")},
               "openssl (server certificate)");
}

void EtcdCluster::start(int i) {
  Member& m = members_.at(static_cast<std::size_t>(i));
  std::string initial_cluster;
  for (const Member& other : members_) {
    if (!initial_cluster.empty()) initial_cluster += ",";
    initial_cluster += other.name + "=http://" + other.address + ":" + other.peer_port;
  }
  const std::string client = client_url(i);
  const std::string peer = "http://" + m.address + ":" + m.peer_port;
  std::vector<std::string> argv = {
      find_program("etcd"), "--name", m.name, "--data-dir", m.data_dir, "--listen-client-urls",
      client, "--advertise-client-urls", client, "--listen-peer-urls", peer,
      "--initial-advertise-peer-urls", peer, "--initial-cluster", initial_cluster,
      "--initial-cluster-token", "confvisor-test-" + std::to_string(::getpid()),
      "--initial-cluster-state", "new",
      // Heartbeats every 50 ms and an election after 500 ms without: a lost leader is
      // replaced within about a second.
      "--heartbeat-interval", "50", "--election-timeout", "500",
      "--experimental-watch-progress-notify-interval",
      std::to_string(options_.progress_notify_interval.count()) + "ms", "--logger", "zap",
      "--log-outputs", "stderr"};
  if (options_.tls) {
    argv.insert(argv.end(), {"--cert-file", file("server.pem"), "--key-file", file("server.key")});
  }
  ChildOptions child;
  child.env = {"ETCD_UNSUPPORTED_ARCH", "ETCDCTL_API"};
  child.output_file = m.log_file;
  child.null_input = true;
  child.own_process_group = true;
  child.dies_with_parent = true;
  m.process = std::make_unique<Child>(argv, child);
  m.stopped = false;
  ++starts_[static_cast<std::size_t>(i)];
}

void EtcdCluster::wait_until_serving(int i, std::size_t times) {
  Member& m = members_.at(static_cast<std::size_t>(i));
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (count_lines(read_file(m.log_file), std::string(kServing)) < times) {
    if (m.process->try_reap()) {
      throw Error("etcd member " + m.name + " " + describe_wait_status(*m.process->status()) +
                  " before serving; its log:\n" + tail(read_file(m.log_file)));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw Error("etcd member " + m.name + " does not serve clients after 20 s; its log:\n" +
                  tail(read_file(m.log_file)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void EtcdCluster::kill(int i) {
  Member& m = members_.at(static_cast<std::size_t>(i));
  m.process.reset();
  m.stopped = false;
}

void EtcdCluster::stop(int i) {
  if (::kill(pid(i), SIGSTOP) != 0) throw_sys("SIGSTOP etcd member " + std::to_string(i));
  members_.at(static_cast<std::size_t>(i)).stopped = true;
}

void EtcdCluster::resume(int i) {
  if (::kill(pid(i), SIGCONT) != 0) throw_sys("SIGCONT etcd member " + std::to_string(i));
  members_.at(static_cast<std::size_t>(i)).stopped = false;
}

void EtcdCluster::restart(int i) {
  if (members_.at(static_cast<std::size_t>(i)).process) kill(i);
  start(i);
  wait_until_serving(i, starts_[static_cast<std::size_t>(i)]);
}

std::string EtcdCluster::usable_endpoints(std::optional<int> via) const {
  if (via) return client_url(*via);
  std::string endpoints;
  for (int i = 0; i < size(); ++i) {
    const Member& m = members_[static_cast<std::size_t>(i)];
    if (!m.process || m.stopped) continue;
    if (!endpoints.empty()) endpoints += ",";
    endpoints += client_url(i);
  }
  if (endpoints.empty()) throw Error("EtcdCluster: no member is running");
  return endpoints;
}

std::string EtcdCluster::etcdctl(const std::vector<std::string>& args, std::optional<int> via) {
  std::vector<std::string> argv = {find_program("etcdctl"), "--endpoints=" + usable_endpoints(via),
                                   "--dial-timeout=2s", "--command-timeout=3s"};
  if (options_.tls) argv.push_back("--cacert=" + ca_file());
  if (auth_enabled_) argv.push_back("--user=root:" + options_.root_password);
  argv.insert(argv.end(), args.begin(), args.end());
  const RunResult r = run(argv, {"ETCDCTL_API=3"});
  if (r.exit_code() != 0) throw Error("etcdctl " + args.front() + " failed: " + r.output);
  return r.output;
}

std::string EtcdCluster::write(const std::vector<std::string>& args, std::optional<int> via) {
  try {
    return etcdctl(args, via);
  } catch (const Error&) {
    return etcdctl(args, via);
  }
}

std::int64_t EtcdCluster::put(const std::string& key, const std::string& value,
                              std::optional<int> via) {
  return header_revision(write({"put", "-w", "json", "--", key, value}, via));
}

std::int64_t EtcdCluster::remove(const std::string& key, std::optional<int> via) {
  return header_revision(write({"del", "-w", "json", "--", key}, via));
}

void EtcdCluster::compact(std::int64_t revision, std::optional<int> via) {
  try {
    (void)etcdctl({"compact", "--physical", std::to_string(revision)}, via);
  } catch (const Error& e) {
    // A retry after a compaction that was applied is refused as already compacted.
    if (!contains(e.what(), "compacted"))
      (void)etcdctl({"compact", "--physical", std::to_string(revision)}, via);
  }
}

int EtcdCluster::follower() {
  for (int i = 0; i < size(); ++i) {
    const Member& m = members_[static_cast<std::size_t>(i)];
    if (!m.process || m.stopped) continue;
    const boost::json::value v =
        boost::json::parse(etcdctl({"endpoint", "status", "-w", "json"}, i));
    const auto& status = v.as_array().at(0).at("Status");
    if (status.at("leader") != status.at("header").at("member_id")) return i;
  }
  throw Error("EtcdCluster: no running member is a follower");
}

std::int64_t EtcdCluster::revision(std::optional<int> via) {
  return header_revision(etcdctl({"get", "-w", "json", "--", "/confvisor-test-probe"}, via));
}

}  // namespace confvisor::test
