// confvisor-etcd-bench [--puts N] [--daemons D]: etcd put -> visible in a reader of confvisord,
// against `etcdctl watch` seeing the same put in the same run (the floor), then D daemons on
// this machine following one prefix. A real etcd (tests/support/etcd_cluster) on loopback; the
// puts go through the single-key client (daemon/etcd/kv_client), one every 20 ms so that each
// is its own revision. Figures are printed, never asserted.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/distribution.hpp"
#include "confvisor/worker.hpp"
#include "daemon/etcd/kv_client.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/etcd_cluster.hpp"
#include "tests/support/test_support.hpp"

using namespace confvisor;
using namespace confvisor::test;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// When each value was first seen, by value number; set once.
class Sightings {
 public:
  explicit Sightings(std::size_t n) : at_(n) {}
  void see(std::size_t i) {
    std::lock_guard lock(mutex_);
    if (i < at_.size() && at_[i] == Clock::time_point{}) at_[i] = Clock::now();
    changed_.notify_all();
  }
  bool wait(std::size_t i, Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    return changed_.wait_until(lock, deadline, [&] { return at_[i] != Clock::time_point{}; });
  }
  Clock::time_point at(std::size_t i) {
    std::lock_guard lock(mutex_);
    return at_[i];
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Clock::time_point> at_;
};

// `etcdctl watch PREFIX --prefix`, its output read line by line: a line "vN" is value N.
class EtcdctlWatch {
 public:
  EtcdctlWatch(const std::string& url, const std::string& prefix, Sightings& seen) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw Error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::execlp("etcdctl", "etcdctl", ("--endpoints=" + url).c_str(), "watch", prefix.c_str(),
               "--prefix", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    read_fd_ = fds[0];
    reader_ = std::thread([this, &seen] {
      std::string line;
      char buffer[4096];
      for (ssize_t n; (n = ::read(read_fd_, buffer, sizeof buffer)) > 0;) {
        for (ssize_t i = 0; i < n; ++i) {
          if (buffer[i] != '\n') {
            line += buffer[i];
            continue;
          }
          if (line.size() > 3 && line.starts_with("\"v")) seen.see(std::stoul(line.substr(2)));
          line.clear();
        }
      }
    });
  }
  ~EtcdctlWatch() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    reader_.join();
    ::close(read_fd_);
  }

 private:
  pid_t pid_ = -1;
  int read_fd_ = -1;
  std::thread reader_;
};

// A reader of `segment` that records when /x first holds "vN".
class SegmentWatch {
 public:
  SegmentWatch(const std::string& segment, Sightings& seen)
      : thread_([this, segment, &seen] {
          Reader reader(segment);
          while (!stop_) {
            const Snapshot& snap = reader.current();
            if (const auto* x = snap.find("/x"); x != nullptr && x->is_string()) {
              const std::string v(x->get_string());
              if (v.size() > 1) seen.see(std::stoul(v.substr(1)));
            }
            reader.wait_for_change(50ms);
          }
        }) {}
  ~SegmentWatch() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string config(const std::string& segment, const TempDir& dir, const std::string& url,
                   const std::string& prefix) {
  return R"({"confvisor": {"segment": ")" + segment + R"(", "socket": ")" +
         dir.file(segment + ".sock") + R"(", "state_dir": ")" + dir.path() +
         R"(", "source": {"etcd": {"endpoints": [")" + url + R"("], "prefix": ")" + prefix +
         R"("}}}, "x": "v0"})";
}

void print(const std::string& what, std::vector<double> ms) {
  const bench::Distribution d = bench::summarize(std::move(ms));
  std::printf("%-58s p50 %7.3f ms  p99 %7.3f ms  max %7.3f ms  (%zu)\n", what.c_str(), d.p50, d.p99,
              d.max, d.samples);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t puts = 200, daemons = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--puts") == 0) puts = std::stoul(argv[i + 1]);
    if (std::strcmp(argv[i], "--daemons") == 0) daemons = std::stoul(argv[i + 1]);
  }
  EtcdCluster etcd;
  const std::string url = etcd.client_url(0);
  const std::string prefix = "/bench/" + std::to_string(::getpid()) + "/";
  TempDir dir("etcd-bench");
  etcd::SourceOptions where;
  where.endpoints.push_back(etcd::parse_endpoint(url));

  std::vector<std::unique_ptr<SegmentGuard>> segments;
  std::vector<std::unique_ptr<DaemonProcess>> procs;
  for (std::size_t d = 0; d < daemons; ++d) {
    segments.push_back(std::make_unique<SegmentGuard>("ebench"));
    const std::string name = segments.back()->name();
    procs.push_back(std::make_unique<DaemonProcess>(
        dir, dir.write(name + ".json", config(name, dir, url, prefix)),
        DaemonOptions{.log_level = std::getenv("CONFVISOR_BENCH_LOG") ? "debug" : "warning"}));
  }
  for (auto& p : procs) p->wait_notify("READY=1", 20s);

  Sightings by_etcdctl(puts + 1);
  std::vector<std::unique_ptr<Sightings>> by_daemon;
  for (std::size_t d = 0; d < daemons; ++d)
    by_daemon.push_back(std::make_unique<Sightings>(puts + 1));
  EtcdctlWatch watch(url, prefix, by_etcdctl);
  std::vector<std::unique_ptr<SegmentWatch>> readers;
  for (std::size_t d = 0; d < daemons; ++d) {
    readers.push_back(std::make_unique<SegmentWatch>(segments[d]->name(), *by_daemon[d]));
  }
  std::this_thread::sleep_for(500ms);  // etcdctl's watch is created

  std::vector<double> floor, first, all, each;
  std::int64_t mod_revision = 0;
  for (std::size_t i = 1; i <= puts; ++i) {
    const Clock::time_point t0 = Clock::now();
    const etcd::PutOutcome out = etcd::put_if_mod_revision(
        where, prefix + "x", "\"v" + std::to_string(i) + "\"", mod_revision);
    mod_revision = out.current_mod_revision;
    const Clock::time_point deadline = Clock::now() + 5s;
    auto ms = [&](Clock::time_point t) {
      return std::chrono::duration<double, std::milli>(t - t0).count();
    };
    if (by_etcdctl.wait(i, deadline)) floor.push_back(ms(by_etcdctl.at(i)));
    Clock::time_point last{};
    bool every = true;
    for (std::size_t d = 0; d < daemons; ++d) {
      if (!by_daemon[d]->wait(i, deadline)) {
        every = false;
        continue;
      }
      const Clock::time_point at = by_daemon[d]->at(i);
      each.push_back(ms(at));
      if (d == 0) first.push_back(ms(at));
      last = std::max(last, at);
    }
    if (every) all.push_back(ms(last));
    // Like a service manager, read what the daemons notified (a READY=1 with a STATUS per
    // generation): a notify socket nobody reads fills after 10 datagrams, and then each
    // daemon blocks in sd_notify and publishes nothing more.
    for (auto& p : procs) p->drain_notifications();
    std::this_thread::sleep_for(20ms);
  }
  std::printf("etcd put -> visible, %zu puts, %zu daemons on one prefix, 1 etcd member\n", puts,
              daemons);
  print("etcdctl watch sees the put (the floor)", floor);
  print("a reader of the first confvisord sees it", first);
  print("a reader of each confvisord sees it", each);
  print("readers of all the confvisords have seen it", all);
  const bench::Distribution f = bench::summarize(floor), r = bench::summarize(first);
  if (f.p50 > 0) {
    std::printf("ratio first daemon / etcdctl watch: p50 %.2fx, p99 %.2fx\n", r.p50 / f.p50,
                r.p99 / f.p99);
  }
  readers.clear();
  if (std::getenv("CONFVISOR_BENCH_LOG") != nullptr) std::cerr << procs[0]->log_tail(40);
  for (auto& p : procs) p->stop(10s);
  return 0;
}
