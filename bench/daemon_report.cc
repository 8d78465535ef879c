#include "bench/daemon_report.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <functional>

namespace confvisor::bench {

namespace json = boost::json;

namespace {

constexpr const char* kSwitches = "switches";
constexpr const char* kTicks = "ticks";

// A table cell from a size's daemon figures; "n/a" for a size without them.
SizeTable::Cell cell(std::function<std::string(const DaemonSizeFigures&)> show) {
  return [show = std::move(show)](const SizeResults& s) {
    return s.daemon ? show(*s.daemon) : std::string("n/a");
  };
}

std::string count(std::uint64_t n) {
  return std::to_string(n);
}

// The first size's idle window: every size uses the same.
double idle_window_s(const std::vector<SizeResults>& sizes) {
  for (const SizeResults& s : sizes) {
    if (s.daemon) return s.daemon->idle.daemon.window_s;
  }
  return 0;
}

void add_all(json::object& into, const json::object& from) {
  for (const auto& [key, value] : from) into[key] = value;
}

json::object process_idle_json(const IdleFigures& f) {
  return {{"context_switches", f.context_switches()},
          {"voluntary_context_switches", f.voluntary_switches},
          {"involuntary_context_switches", f.involuntary_switches},
          {"cpu_ticks", f.cpu_ticks},
          {"cpu_time", quantity(f.cpu_ms, "ms")},
          {"vm_rss", quantity(static_cast<double>(f.rss_kib), "KiB")},
          {"vm_hwm", quantity(static_cast<double>(f.hwm_kib), "KiB")},
          {"rss_anon", quantity(static_cast<double>(f.rss_anon_kib), "KiB")},
          {"rss_shmem", quantity(static_cast<double>(f.rss_shmem_kib), "KiB")},
          {"threads", f.threads}};
}

json::object idle_json(const IdleObservation& o) {
  json::object j{{"description",
                  "the daemon left alone: CPU time (utime + stime of /proc/PID/stat, in clock "
                  "ticks) and context switches (voluntary + involuntary, summed over "
                  "/proc/PID/task/*/status) over the window; every switch of a sleeping process "
                  "is a wakeup. VmRSS and VmHWM at the end of the window"},
                 {"window", quantity(o.daemon.window_s, "s")},
                 {"clock_ticks_per_second", test::clock_ticks_per_second()},
                 {"notifications", o.notifications}};
  add_all(j, process_idle_json(o.daemon));
  if (o.workers) j["workers_summed"] = process_idle_json(*o.workers);
  return j;
}

void print_restart(std::ostream& out, const RestartFigures& r) {
  out << "  SIGKILL -> replacement reported in, " << r.kills << " kills: p50 "
      << format_us(r.replacement_us.p50) << ", p99 " << format_us(r.replacement_us.p99) << ", max "
      << format_us(r.replacement_us.max) << "\n"
      << "    the same worker forked and exec'd by the bench itself, fork -> report: p50 "
      << format_us(r.bare_spawn_us.p50) << ", p99 " << format_us(r.bare_spawn_us.p99) << "\n"
      << "    daemon asleep before " << r.kills_with_daemon_asleep << " of " << r.kills
      << " kills; daemon CPU time per restart " << format_ms(r.daemon_cpu_ms_per_restart) << "\n";
}

void print_start(std::ostream& out, const StartFigures& s) {
  const std::string n = std::to_string(s.instances);
  out << "  start " << n << " instances, " << s.runs
      << " runs, from the daemon's fork (p50 / max):\n";
  auto line = [&out](const std::string& what, const Distribution& d) {
    out << "    " << what << std::string(what.size() < 34 ? 34 - what.size() : 1, ' ')
        << format_ms(d.p50) << " / " << format_ms(d.max) << "\n";
  };
  line("first instance reported in", s.first_reported_ms);
  line("all " + n + " instances reported in", s.all_reported_ms);
  line("READY=1 (g)", s.ready_ms);
  line("stop: SIGTERM -> daemon exited", s.stop_ms);
  out << "    READY=1 came before the last report in " << s.ready_before_all_reported << " of "
      << s.runs << " runs\n";
}

void print_idle_workers(std::ostream& out, const IdleWorkersFigures& w) {
  const IdleFigures& d = w.idle.daemon;
  out << "  " << w.workers << " idle workers, " << format("%.1f", d.window_s) << " s: daemon "
      << d.context_switches() << " context switches, " << d.cpu_ticks << " CPU ticks, VmRSS "
      << format_kib(d.rss_kib) << ", " << w.idle.notifications << " notifications";
  if (w.idle.workers) {
    out << "; workers (summed) " << w.idle.workers->context_switches() << " context switches, "
        << w.idle.workers->cpu_ticks << " CPU ticks";
  }
  out << "\n";
}

}  // namespace

bool measured_daemon(const std::vector<SizeResults>& sizes) {
  return std::any_of(sizes.begin(), sizes.end(), [](const SizeResults& s) { return s.daemon; });
}

bool is_count_unit(const std::string& unit) {
  return unit == kSwitches || unit == kTicks;
}

void print_daemon_rows(const SizeTable& table) {
  table.row("SIGHUP->visible, p50 (e)",
            cell([](const DaemonSizeFigures& d) { return format_us(d.sighup.visible.p50); }));
  table.row("SIGHUP->visible, p99 (e)",
            cell([](const DaemonSizeFigures& d) { return format_us(d.sighup.visible.p99); }));
  table.row("SIGHUP->visible, max (e)",
            cell([](const DaemonSizeFigures& d) { return format_us(d.sighup.visible.max); }));
  table.row("  signal -> reload starts, p50", cell([](const DaemonSizeFigures& d) {
              return format_us(d.sighup.signal_to_reload.p50);
            }));
  table.row("  reload starts -> published, p50", cell([](const DaemonSizeFigures& d) {
              return format_us(d.sighup.reload_to_publish.p50);
            }));
  table.row("  published -> reader has it, p50", cell([](const DaemonSizeFigures& d) {
              return format_us(d.sighup.publish_to_visible.p50);
            }));
  table.row("  daemon CPU time per reload", cell([](const DaemonSizeFigures& d) {
              return format_ms(d.sighup.daemon_cpu_ms_per_reload);
            }));
  table.row("  reloads", cell([](const DaemonSizeFigures& d) { return count(d.sighup.reloads); }));
  table.row("daemon VmRSS after start",
            cell([](const DaemonSizeFigures& d) { return format_kib(d.after_start.rss_kib); }));
  table.row("daemon VmRSS / VmHWM after reloads", cell([](const DaemonSizeFigures& d) {
              // Two figures in one cell: MiB with one decimal keeps it narrow.
              return format("%.1f", static_cast<double>(d.idle.daemon.rss_kib) / 1024) + "/" +
                     format("%.1f MiB", static_cast<double>(d.idle.daemon.hwm_kib) / 1024);
            }));
  table.row("  of which heap (RssAnon) / segment", cell([](const DaemonSizeFigures& d) {
              return format("%.1f", static_cast<double>(d.idle.daemon.rss_anon_kib) / 1024) + "/" +
                     format("%.1f MiB", static_cast<double>(d.idle.daemon.rss_shmem_kib) / 1024);
            }));
  table.row("idle daemon: context switches (f)", cell([](const DaemonSizeFigures& d) {
              return count(d.idle.daemon.context_switches());
            }));
  table.row("idle daemon: CPU ticks (f)",
            cell([](const DaemonSizeFigures& d) { return count(d.idle.daemon.cpu_ticks); }));
}

void print_daemon_notes(std::ostream& out, const std::vector<SizeResults>& sizes) {
  out << "(e) the real confvisord, no workers: CLOCK_MONOTONIC from kill(SIGHUP) to the bench's\n"
         "    Reader having the new generation; split at the daemon's RELOADING=1 stamp and\n"
         "    the record's publish stamp\n"
         "(f) over "
      << format("%.1f", idle_window_s(sizes))
      << " s left alone after the reloads: voluntary + involuntary switches, utime +\n"
         "    stime in 1/"
      << test::clock_ticks_per_second() << " s ticks (target 0: no wakeups)\n";
}

void print_supervision(std::ostream& out, const SupervisionFigures& f) {
  out << "\nsupervision (the real confvisord; worker: confvisor-bench --as-worker, reports in "
         "then pause();\nbackoff 0ms/0ms, start_window 0ms, restart_limit 1000000 within 1h)\n";
  if (f.restart) print_restart(out, *f.restart);
  if (f.start) print_start(out, *f.start);
  if (f.idle) print_idle_workers(out, *f.idle);
  out << "(g) when the bench took READY=1 off the NOTIFY_SOCKET it gave the daemon\n";
}

std::vector<TargetCheck> daemon_targets(const Results& results) {
  std::vector<TargetCheck> checks;
  // The window's length is in the figures (5 s in a full run, 1 s with --quick).
  auto add = [&checks](const std::string& at, const IdleFigures& idle) {
    checks.push_back({"idle daemon context switches in the idle window", at, "<=", 0, kSwitches,
                      static_cast<double>(idle.context_switches())});
    checks.push_back({"idle daemon CPU ticks in the idle window", at, "<=", 0, kTicks,
                      static_cast<double>(idle.cpu_ticks)});
  };
  for (const SizeResults& s : results.sizes) {
    if (s.daemon) add(s.label, s.daemon->idle.daemon);
  }
  if (results.supervision && results.supervision->idle) {
    const IdleWorkersFigures& w = *results.supervision->idle;
    add(std::to_string(w.workers) + " idle workers", w.idle.daemon);
  }
  return checks;
}

json::object daemon_json(const DaemonSizeFigures& d) {
  json::object sighup{
      {"description",
       "the real confvisord (no workers) on a config file of this size: CLOCK_MONOTONIC from "
       "kill(SIGHUP) (the file already rewritten with a new serial) to the bench's Reader, "
       "blocked in wait_for_change(), having the new generation (copied, checked, parsed)"},
      {"reloads", d.sighup.reloads}};
  add_all(sighup, distribution_json(d.sighup.visible, "us"));
  sighup["signal_to_reload_start"] = distribution_json(d.sighup.signal_to_reload, "us");
  sighup["reload_start_to_published"] = distribution_json(d.sighup.reload_to_publish, "us");
  sighup["published_to_visible"] = distribution_json(d.sighup.publish_to_visible, "us");
  sighup["daemon_cpu_per_reload"] = quantity(d.sighup.daemon_cpu_ms_per_reload, "ms");
  return {{"config_bytes", d.bytes},
          {"sighup_to_visible", std::move(sighup)},
          {"after_start",
           json::object{
               {"vm_rss", quantity(static_cast<double>(d.after_start.rss_kib), "KiB")},
               {"vm_hwm", quantity(static_cast<double>(d.after_start.hwm_kib), "KiB")},
               {"rss_anon", quantity(static_cast<double>(d.after_start.rss_anon_kib), "KiB")},
               {"rss_shmem", quantity(static_cast<double>(d.after_start.rss_shmem_kib), "KiB")}}},
          {"idle_after_reloads", idle_json(d.idle)}};
}

json::object supervision_json(const SupervisionFigures& f) {
  json::object o{{"worker_config", f.worker_config}};
  if (f.restart) {
    const RestartFigures& r = *f.restart;
    json::object j{{"description",
                    "kill(SIGKILL) of the one worker instance -> its replacement, exec'd, sends "
                    "its report (CLOCK_MONOTONIC taken in the worker's main())"},
                   {"kills", r.kills},
                   {"kills_with_daemon_asleep", r.kills_with_daemon_asleep},
                   {"daemon_cpu_per_restart", quantity(r.daemon_cpu_ms_per_restart, "ms")}};
    add_all(j, distribution_json(r.replacement_us, "us"));
    json::object bare = distribution_json(r.bare_spawn_us, "us");
    bare["description"] =
        "the same worker forked and exec'd by the bench itself (no daemon), fork -> report";
    j["bare_spawn"] = std::move(bare);
    o["restart_after_sigkill"] = std::move(j);
  }
  if (f.start) {
    const StartFigures& s = *f.start;
    o["start_instances"] = json::object{
        {"description",
         "confvisord with one worker of N instances (start_window 0ms), from the bench's fork "
         "of the daemon to the first and the last instance's report, to READY=1 taken off the "
         "daemon's NOTIFY_SOCKET; and SIGTERM -> the daemon exited 0"},
        {"instances", s.instances},
        {"runs", s.runs},
        {"first_reported", distribution_json(s.first_reported_ms, "ms")},
        {"all_reported", distribution_json(s.all_reported_ms, "ms")},
        {"ready", distribution_json(s.ready_ms, "ms")},
        {"runs_with_ready_before_last_report", s.ready_before_all_reported},
        {"stop", distribution_json(s.stop_ms, "ms")}};
  }
  if (f.idle) {
    json::object j{{"workers", f.idle->workers}};
    add_all(j, idle_json(f.idle->idle));
    o["idle_workers"] = std::move(j);
  }
  return o;
}

}  // namespace confvisor::bench
