// confvisor-acks-bench: what waiting for workers' reports costs. The real confvisord runs 32
// instances of this binary (--worker), all with "acks": true; each reload changes the file
// and asks for `reload --wait` over the control socket. Per reload, measured in the same
// run, from the moment the request is sent (CLOCK_MONOTONIC):
//
//   visible  until the segment shows the new generation to all 32: the latest of the
//            instants each instance first read it, which each writes to its slot of a
//            shared file before it reports (what a reload without reports would take)
//   applied  until the daemon's wait ends, every one of the 32 reports in: the last line
//            of `reload --wait` arrives
//
// and prints p50 and p99 of both and their ratios. It asserts nothing.
//
//   confvisor-acks-bench [--reloads N] [--instances N]
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/clock.hpp"
#include "common/os/unique_fd.hpp"
#include "confvisor/worker.hpp"
#include "daemon/control/client.hpp"
#include "daemon/control/protocol.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/process_wait.hpp"
#include "tests/support/test_support.hpp"

namespace {

using namespace confvisor;
namespace json = boost::json;

struct Slot {
  std::atomic<std::uint64_t> generation;
  std::atomic<std::int64_t> seen_ns;
};

Slot* map_slots(const std::string& path, std::size_t count, bool create) {
  UniqueFd fd(::open(path.c_str(), (create ? O_CREAT | O_TRUNC : 0) | O_RDWR | O_CLOEXEC, 0600));
  if (!fd) {
    std::perror(path.c_str());
    std::exit(1);
  }
  const std::size_t size = count * sizeof(Slot);
  if (create && ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) std::exit(1);
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) std::exit(1);
  return static_cast<Slot*>(p);
}

// An instance: for each generation, note when it was first seen, then report it applied.
int worker() {
  const unsigned index = static_cast<unsigned>(std::atoi(std::getenv("CONFVISOR_INSTANCE")));
  Slot* slots = map_slots(std::getenv("ACKS_BENCH_SLOTS"), index + 1, false);
  Reader reader = Reader::from_env();
  for (;;) {
    const Snapshot& cfg = reader.current();
    slots[index].seen_ns.store(bench::monotonic_ns(), std::memory_order_relaxed);
    slots[index].generation.store(cfg.generation(), std::memory_order_release);
    (void)reader.report_applied(cfg);
    reader.wait_for_change(std::chrono::nanoseconds(-1));
  }
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

std::string config(const test::SegmentGuard& seg, const test::TempDir& dir, const char* self,
                   unsigned instances, int n) {
  return "{\"confvisor\": {\"segment\": \"" + seg.name() + "\", \"socket\": \"" + dir.path() +
         "/ctl.sock\", \"workers\": [{\"name\": \"w\", \"instances\": " +
         std::to_string(instances) + ", \"command\": [\"" + self +
         "\", \"--worker\"], \"acks\": true, \"start_window\": \"10ms\", \"env\": "
         "{\"ACKS_BENCH_SLOTS\": \"" +
         dir.path() + "/slots\"}}]}, \"n\": " + std::to_string(n) + "}";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--worker") return worker();
  int reloads = 200;
  unsigned instances = 32;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--reloads") reloads = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--instances")
      instances = static_cast<unsigned>(std::atoi(argv[i + 1]));
  }
  const test::SegmentGuard seg("acks", "bench");
  const test::TempDir dir("acks-bench");
  Slot* slots = map_slots(dir.path() + "/slots", instances, true);
  const std::string self = test::bin("confvisor-acks-bench");
  dir.write("c.json", config(seg, dir, self.c_str(), instances, 0));
  test::DaemonProcess d(dir, dir.path() + "/c.json", test::DaemonOptions{.log_level = "warning"});
  test::require_ready(d, std::chrono::seconds(30));

  std::vector<double> visible, applied;
  for (int n = 1; n <= reloads + 1; ++n) {
    dir.write("c.json", config(seg, dir, self.c_str(), instances, n));
    d.drain_notifications();
    control::Client client(dir.path() + "/ctl.sock");
    json::object request = control::make_request("reload");
    request["wait"] = true;
    request["timeout_ms"] = 10000;
    const std::int64_t t0 = bench::monotonic_ns();
    const json::object first = client.call(request, std::chrono::seconds(20));
    const std::uint64_t generation = first.at("result").at("generation").to_number<std::uint64_t>();
    const json::object last = client.next_reply(std::chrono::seconds(20));
    const std::int64_t t_applied = bench::monotonic_ns();
    if (!last.at("result").at("wait").at("applied").as_bool()) {
      std::fprintf(stderr, "reload %d: not every instance applied: %s\n", n,
                   json::serialize(last).c_str());
      return 1;
    }
    std::int64_t t_visible = t0;
    for (unsigned i = 0; i < instances; ++i) {
      if (slots[i].generation.load(std::memory_order_acquire) < generation) return 1;
      t_visible = std::max(t_visible, slots[i].seen_ns.load(std::memory_order_relaxed));
    }
    if (n == 1) continue;  // warm-up
    visible.push_back(static_cast<double>(t_visible - t0) / 1e3);
    applied.push_back(static_cast<double>(t_applied - t0) / 1e3);
  }
  const double v50 = percentile(visible, 0.5), v99 = percentile(visible, 0.99);
  const double a50 = percentile(applied, 0.5), a99 = percentile(applied, 0.99);
  std::printf("reloads %d, reporting instances %u\n", reloads, instances);
  std::printf("reload -> visible to all (us):  p50 %.0f  p99 %.0f\n", v50, v99);
  std::printf("reload -> applied by all (us):  p50 %.0f  p99 %.0f\n", a50, a99);
  std::printf("applied / visible:              p50 %.2f  p99 %.2f\n", a50 / v50, a99 / v99);
  d.stop(std::chrono::seconds(20));
  return 0;
}
