#include "bench/daemon_bench.hpp"

#include <signal.h>

#include <cstdlib>
#include <vector>

#include "bench/bench_daemon.hpp"
#include "bench/clock.hpp"
#include "bench/config_gen.hpp"
#include "bench/daemon_config.hpp"
#include "confvisor/worker.hpp"

namespace confvisor::bench {

namespace {

using namespace std::chrono_literals;
using test::clock_ticks_per_second;
using test::DaemonProcess;
using test::Datagram;
using test::sample_process;

// Generous: only ends a run that is stuck.
constexpr auto kReloadTimeout = 60s;
constexpr const char* kConfigFile = "confvisor.json";

// The daemon's section for a config of `bytes`: the segment sized like the bench's own
// (no move during a measurement), and a file size limit well above the config.
DaemonSection section_for(const BenchSegment& segment, const BenchDir& dir, std::size_t bytes) {
  DaemonSection s;
  s.segment = segment.name();
  s.segment_size = segment.publisher_options(bytes).initial_size;
  s.max_config_size = 4 * bytes + (1u << 20);
  s.socket = dir.file("control.sock");
  return s;
}

// RELOADING=1's MONOTONIC_USEC, in ns; throws if it has none.
std::int64_t reload_started_ns(DaemonProcess& daemon, const Datagram& reloading) {
  constexpr std::string_view kKey = "MONOTONIC_USEC=";
  const auto at = reloading.text.find(kKey);
  if (at == std::string::npos) daemon.fail("RELOADING=1 without MONOTONIC_USEC: " + reloading.text);
  return std::strtoll(reloading.text.c_str() + at + kKey.size(), nullptr, 10) * 1000;
}

std::int64_t since_epoch_ns(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

struct ReloadSample {
  double visible_us, signal_to_reload_us, reload_to_publish_us, publish_to_visible_us;
};

// One round: the file already holds the new config.
ReloadSample time_one_reload(DaemonProcess& daemon, Reader& reader, std::uint64_t expected) {
  // The record's publish stamp is CLOCK_REALTIME: read both clocks together to place it on
  // the monotonic clock.
  const std::int64_t realtime_at_kill = realtime_ns();
  const std::int64_t killed = monotonic_ns();
  if (!daemon.signal(SIGHUP)) daemon.fail("unable to signal confvisord: it is gone");
  if (!reader.wait_for_change(kReloadTimeout)) daemon.fail("no new generation after SIGHUP");
  const std::int64_t seen = monotonic_ns();
  const Snapshot& snapshot = reader.current();
  if (snapshot.generation() != expected) {
    daemon.fail("the reader saw generation " + std::to_string(snapshot.generation()) +
                ", expected " + std::to_string(expected));
  }
  const std::int64_t published =
      since_epoch_ns(snapshot.published_at()) - (realtime_at_kill - killed);
  const std::int64_t reload_started =
      reload_started_ns(daemon, daemon.require_notification("RELOADING=1", kReloadTimeout));
  (void)daemon.require_notification("READY=1", kReloadTimeout);  // the reload is over
  auto us = [](std::int64_t from, std::int64_t to) { return static_cast<double>(to - from) / 1e3; };
  return {us(killed, seen), us(killed, reload_started), us(reload_started, published),
          us(published, seen)};
}

SighupFigures time_reloads(DaemonProcess& daemon, Reader& reader, GeneratedConfig& config,
                           const BenchDir& dir, std::size_t reloads) {
  std::vector<double> visible, to_reload, to_publish, to_visible;
  std::uint64_t generation = reader.current().generation();
  const std::uint64_t cpu_before = sample_process(daemon.pid()).value_or(ProcSample{}).cpu_ticks;
  for (std::size_t k = 1; k <= reloads; ++k) {
    set_serial(config, k);
    (void)dir.write(kConfigFile, config.text);
    const ReloadSample s = time_one_reload(daemon, reader, ++generation);
    visible.push_back(s.visible_us);
    to_reload.push_back(s.signal_to_reload_us);
    to_publish.push_back(s.reload_to_publish_us);
    to_visible.push_back(s.publish_to_visible_us);
  }
  const std::uint64_t cpu_after = sample_process(daemon.pid()).value_or(ProcSample{}).cpu_ticks;
  SighupFigures f{reloads,
                  summarize(visible),
                  summarize(to_reload),
                  summarize(to_publish),
                  summarize(to_visible),
                  0};
  if (reloads > 0 && cpu_after >= cpu_before) {
    f.daemon_cpu_ms_per_reload = static_cast<double>(cpu_after - cpu_before) * 1e3 /
                                 static_cast<double>(clock_ticks_per_second()) /
                                 static_cast<double>(reloads);
  }
  return f;
}

}  // namespace

DaemonSizeFigures measure_daemon(std::size_t config_bytes, const DaemonBenchOptions& options) {
  const std::string label = size_label(config_bytes);
  BenchDir dir("daemon-" + label);
  BenchSegment segment("daemon-" + label);
  GeneratedConfig config =
      generate_config(config_bytes, to_json(section_for(segment, dir, config_bytes)));
  set_serial(config, 0);
  const std::string config_path = dir.write(kConfigFile, config.text);

  DaemonSizeFigures figures;
  figures.bytes = config_bytes;
  BenchDaemon daemon(options.confvisord, config_path, dir, segment);
  (void)daemon.require_notification("READY=1", kDaemonStartTimeout);
  figures.after_start = sample_process(daemon.pid()).value_or(ProcSample{});

  Reader reader(segment.name());
  // The daemon publishes the document minified: exactly the generated text.
  if (reader.current().text() != config.text) daemon.fail("the published config is not the file's");
  figures.sighup = time_reloads(daemon, reader, config, dir, options.reloads);
  figures.idle = observe_idle(daemon, {}, kIdleSettle, options.idle_window);
  daemon.stop(kDaemonStopTimeout);
  return figures;
}

}  // namespace confvisor::bench
