#include "daemon/supervise/supervisor.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "common/ack/report_message.hpp"
#include "common/base/error.hpp"
#include "common/base/log.hpp"
#include "daemon/supervise/leftovers.hpp"

namespace confvisor::supervise {

namespace {

// Re-sweeps after a stop: a descendant that left the worker's group is reparented to us
// only once its own parent has died, which may be a moment after the worker's exit.
constexpr std::chrono::milliseconds kSweepDelays[] = {
    std::chrono::milliseconds(20), std::chrono::milliseconds(200), std::chrono::milliseconds(1000)};

// Whether we have any child, alive or not reaped yet. WNOWAIT: it only asks, the zombies are
// reap()'s. ECHILD: none, alive or dead, is left.
bool have_children() {
  siginfo_t info{};
  return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

// While stopping: how soon to look again for children that became ours silently.
constexpr std::chrono::milliseconds kStopRecheck{20};

}  // namespace

Supervisor::Supervisor(boost::asio::io_context& io, const std::string& segment,
                       std::function<std::uint64_t()> generation)
    : io_(io),
      tracking_(io, segment),
      host_{io,
            segment,
            "",
            "",
            std::move(generation),
            [this](pid_t pid, WorkerInstance* instance) {
              if (instance != nullptr) {
                by_pid_[pid] = instance->weak_from_this();
              } else {
                by_pid_.erase(pid);
              }
            },
            [this] { schedule_review(); },
            [this](const std::string& worker, unsigned instance) {
              sweep_leftovers(worker, instance);
            },
            &tracking_,
            &log_files_,

            [this](const config::WorkerSpec& spec) { return start_order(spec); },
            [this](const RunFailure& failure) {
              if (!on_run_failed_) return;
              boost::asio::post(io_, [this, failure] {
                if (on_run_failed_) on_run_failed_(failure);
              });
            }},
      notify_(io, segment,
              [this](pid_t sender, const std::string& message) { on_notify(sender, message); }),
      acks_(
          io, segment,
          [this](pid_t sender, const std::string& packet) { on_ack_packet(sender, packet); },
          [this](pid_t peer) { return instance_of_sender(peer) != nullptr; }),
      sweep_timer_(io),
      stop_recheck_(io) {
  host_.notify_socket = notify_.address();
  host_.ack_socket = acks_.address();
}

Supervisor::~Supervisor() = default;

void Supervisor::apply(const std::vector<config::WorkerSpec>& specs, bool reloaded) {
  std::map<std::string, Group> current;
  for (Group& g : groups_) {
    const std::string name = g.spec->name;
    current.emplace(name, std::move(g));
  }
  groups_.clear();
  group_index_.clear();  // until the new list is in place: nothing to look up meanwhile
  Instances added;
  for (const config::WorkerSpec& spec : specs) {
    auto node = current.extract(spec.name);
    if (node.empty()) {
      if (reloaded) log_info("worker " + spec.name + " is new in the config: starting it");
      groups_.push_back(make_group(spec, added));
      continue;
    }
    Group& g = groups_.emplace_back(std::move(node.mapped()));
    if (g.spec->log != spec.log) use_log(g, spec.log);
    if (*g.spec == spec) {
      if (reloaded && spec.on_reload == config::ReloadAction::signal) {
        for (auto& instance : g.instances) instance->send_reload_signal();
      } else if (reloaded && spec.on_reload == config::ReloadAction::restart) {
        log_info("worker " + spec.name + ": on_reload restart, one instance at a time");
        begin_rolling(g, g.spec, added);
      }
    } else if (config::same_run(*g.spec, spec)) {
      // The running instances go on: "after" and "on_fatal" apply from their next start
      // (or FATAL), as systemd applies a changed ordering to the jobs it starts next.
      if (g.spec->instances != spec.instances) {
        log_info("worker " + spec.name + ": instances " + std::to_string(g.spec->instances) +
                 " -> " + std::to_string(spec.instances));
      } else {
        log_info("worker " + spec.name +
                 ": its after, on_fatal or check changed; its running instances keep running");
      }
      scale(g, std::make_shared<const config::WorkerSpec>(spec), added);
    } else {
      log_info("worker " + spec.name + " changed: restarting it one instance at a time");
      begin_rolling(g, std::make_shared<const config::WorkerSpec>(spec), added);
    }
  }
  group_index_.clear();
  for (std::size_t i = 0; i < groups_.size(); ++i) group_index_.emplace(groups_[i].spec->name, i);
  for (auto& [name, g] : current) {
    log_info("worker " + name + " is no longer in the config: stopping it");
    for (auto& instance : g.instances) retire(instance);
  }
  // New instances start in config order, each once the workers of its "after" are ready.
  for (auto& instance : added) instance->start();
  stop_in_order();
  schedule_review();
}

void Supervisor::reload_canaries() {
  for (Group& g : groups_) {
    const unsigned canaries =
        std::min<unsigned>(g.spec->canary_instances, static_cast<unsigned>(g.instances.size()));
    if (canaries == 0) continue;
    if (g.spec->on_reload == config::ReloadAction::signal) {
      for (unsigned i = 0; i < canaries; ++i) g.instances[i]->send_reload_signal();
    } else if (g.spec->on_reload == config::ReloadAction::restart) {
      log_info("worker " + g.spec->name + ": on_reload restart of its " + std::to_string(canaries) +
               " canary instance(s), one at a time");
      g.rolling.begin(canaries);
    }
  }
  schedule_review();
}

// A change of "log" alone restarts nothing: the running instances keep and write their output
// as it now says, from the next line on.
void Supervisor::use_log(Group& g, const config::LogSettings& log) {
  log_info("worker " + g.spec->name + ": its log settings changed; applied without a restart");
  config::WorkerSpec updated = *g.spec;
  updated.log = log;
  g.spec = std::make_shared<const config::WorkerSpec>(std::move(updated));
  for (auto& instance : g.instances) instance->use_log(log);
}

void Supervisor::reopen_log_files() {
  log_files_.reopen_all();
}

Supervisor::Group Supervisor::make_group(const config::WorkerSpec& spec, Instances& added) {
  Group g{std::make_shared<const config::WorkerSpec>(spec), {}, {}};
  add_instances(g, added);
  return g;
}

void Supervisor::add_instances(Group& g, Instances& added) {
  while (g.instances.size() < g.spec->instances) {
    const auto index = static_cast<unsigned>(g.instances.size());
    g.instances.push_back(std::make_shared<WorkerInstance>(host_, g.spec, index));
    added.push_back(g.instances.back());
  }
}

void Supervisor::scale(Group& g, std::shared_ptr<const config::WorkerSpec> spec, Instances& added) {
  g.spec = std::move(spec);
  while (g.instances.size() > g.spec->instances) {
    retire(g.instances.back());
    g.instances.pop_back();
  }
  for (auto& instance : g.instances) instance->use_spec(g.spec);
  add_instances(g, added);
}

// Instances that exist keep running until their turn; added ones start with the new spec.
void Supervisor::begin_rolling(Group& g, std::shared_ptr<const config::WorkerSpec> spec,
                               Instances& added) {
  const auto existing =
      static_cast<unsigned>(std::min<std::size_t>(g.instances.size(), spec->instances));
  g.spec = spec;
  while (g.instances.size() > g.spec->instances) {
    retire(g.instances.back());
    g.instances.pop_back();
  }
  add_instances(g, added);
  g.rolling.begin(existing);
}

// Stopped in order by stop_in_order(): after the instances removed with it that start after it.
void Supervisor::retire(std::shared_ptr<WorkerInstance> instance) {
  instance->wind_down();
  retiring_.push_back(std::move(instance));
}

const Supervisor::Group* Supervisor::group_named(const std::string& name) const {
  const auto it = group_index_.find(name);
  return it == group_index_.end() ? nullptr : &groups_[it->second];
}

StartOrder Supervisor::start_order(const config::WorkerSpec& spec) const {
  StartOrder order;
  for (const std::string& name : spec.after) {
    const Group* g = group_named(name);
    if (g == nullptr) continue;  // validation refuses such a name; nothing to wait for
    const bool ready = std::all_of(g->instances.begin(), g->instances.end(),
                                   [](const auto& i) { return i->lets_dependents_start(); });
    if (ready) continue;
    order.unready.push_back(name);
    order.stuck = order.stuck || will_not_get_ready(*g);
  }
  return order;
}

// Whether an instance of `g` stays unready until an operator or a reload acts. Validation
// refuses cycles, so the walk through waiting instances ends.
bool Supervisor::will_not_get_ready(const Group& g) const {
  for (const auto& i : g.instances) {
    switch (i->state()) {
      case State::fatal:
        return true;
      case State::stopped:
        if (!i->lets_dependents_start()) return true;
        break;
      case State::waiting:
        if (i->start_order().stuck) return true;
        break;
      case State::starting:
      case State::running:
      case State::backoff:
      case State::stopping:
        break;  // on its way, or a restart will bring it back
    }
  }
  return false;
}

// Its first start has come to an end, or cannot come until an operator acts.
bool Supervisor::settled(const WorkerInstance& i) const {
  return i.settled() || (i.state() == State::waiting && i.start_order().stuck);
}

void Supervisor::start_waiting() {
  for (auto& g : groups_) {
    for (auto& instance : g.instances) {
      if (instance->state() == State::waiting && instance->start_order().unready.empty()) {
        instance->order_met();
      }
    }
  }
}

// Sends its stop to each instance to be stopped whose dependents have stopped: while the
// daemon stops, every instance; otherwise those of retiring_ (removed by a reload, which
// refuses an "after" that names a removed worker, so only removed ones can wait for it).
// An instance to be stopped waits while one of them that starts after its worker has a run.
void Supervisor::stop_in_order() {
  std::set<std::string> awaited;
  auto note = [&awaited](const std::shared_ptr<WorkerInstance>& i) {
    if (i->has_run()) awaited.insert(i->spec().after.begin(), i->spec().after.end());
  };
  auto stop_if_free = [&awaited](WorkerInstance& i) {
    if (i.has_run() && i.state() != State::stopping && !awaited.contains(i.spec().name)) i.stop();
  };
  std::for_each(retiring_.begin(), retiring_.end(), note);
  if (stopping_all_) {
    for (const Group& g : groups_) std::for_each(g.instances.begin(), g.instances.end(), note);
    for (auto g = groups_.rbegin(); g != groups_.rend(); ++g) {
      for (auto i = g->instances.rbegin(); i != g->instances.rend(); ++i) stop_if_free(**i);
    }
  }
  for (auto& instance : retiring_) stop_if_free(*instance);
}

void Supervisor::check_fatal_exit() {
  if (!on_fatal_exit_) return;
  for (const auto& g : groups_) {
    if (g.spec->on_fatal != config::FatalAction::exit) continue;
    for (const auto& i : g.instances) {
      if (i->state() == State::fatal) return std::exchange(on_fatal_exit_, nullptr)(i->label());
    }
  }
}

void Supervisor::when_fatal_exits(std::function<void(const std::string&)> fatal) {
  on_fatal_exit_ = std::move(fatal);
  schedule_review();
}

void Supervisor::schedule_review() {
  if (review_pending_) return;
  review_pending_ = true;
  // Instances report changes from inside their own handlers; acting on them later, from
  // the loop, keeps every handler short and free of re-entrancy.
  boost::asio::post(io_, [this] { review(); });
}

void Supervisor::review() {
  review_pending_ = false;
  if (!stopping_all_) {
    for (auto& g : groups_) g.rolling.advance(g.instances, g.spec);
    start_waiting();
  }
  stop_in_order();
  std::erase_if(commands_,
                [this](const auto& c) { return stopping_all_ ? c->abandon() : c->advance(); });
  std::erase_if(retiring_, [](const auto& i) { return i->at_rest(); });
  if (on_settled_) {
    const bool all_settled = std::all_of(groups_.begin(), groups_.end(), [this](const Group& g) {
      return std::all_of(g.instances.begin(), g.instances.end(),
                         [this](const auto& i) { return settled(*i); });
    });
    if (all_settled) std::exchange(on_settled_, nullptr)();
  }
  if (!stopping_all_) check_fatal_exit();
  if (stopping_all_ && all_stopped()) {
    // A leftover's own children become ours only once it has died. A sweep finding none
    // alive is not the end: it may have listed a dying leftover's children while they were
    // still its, then found the leftover a zombie. Finish once no child at all is left;
    // until then each death brings us back here through reap(), and the next sweep kills
    // what it left (else they would outlive us, reparented to init).
    const std::size_t killed = kill_leftovers([](const std::optional<Owner>&) { return true; });
    if (have_children()) {
      // One that became ours without a death of ours (its parent was not our child and
      // died by itself) sends us nothing: look again shortly.
      if (killed == 0) recheck_stop_soon();
      return;
    }
    stop_recheck_.cancel();
    stopping_all_ = false;
    std::exchange(on_stopped_, nullptr)();
  }
}

void Supervisor::recheck_stop_soon() {
  stop_recheck_.expires_after(kStopRecheck);
  stop_recheck_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) schedule_review();
  });
}

bool Supervisor::all_stopped() const {
  for (const auto& g : groups_) {
    if (!std::all_of(g.instances.begin(), g.instances.end(),
                     [](const auto& i) { return i->at_rest(); })) {
      return false;
    }
  }
  return retiring_.empty();
}

void Supervisor::reap() {
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    if (auto watched = watched_.extract(pid)) {
      watched.mapped()(status);
      continue;
    }
    auto it = by_pid_.find(pid);
    if (it == by_pid_.end()) {  // a leftover we adopted, or a child whose exec failed
      leftover_reaped(pid);
      if (stopping_all_) schedule_review();
      continue;
    }
    if (auto instance = it->second.lock()) instance->exited(status);
  }
}

void Supervisor::stop_all(std::function<void()> done) {
  stopping_all_ = true;
  on_stopped_ = std::move(done);
  for (auto g = groups_.rbegin(); g != groups_.rend(); ++g) {
    g->rolling.cancel();
    for (auto i = g->instances.rbegin(); i != g->instances.rend(); ++i) (*i)->wind_down();
  }
  stop_in_order();
  schedule_review();
}

void Supervisor::when_settled(std::function<void()> ready) {
  on_settled_ = std::move(ready);
  schedule_review();
}

void Supervisor::when_run_fails(std::function<void(const RunFailure&)> failed) {
  on_run_failed_ = std::move(failed);
}

std::vector<RunFailure> Supervisor::not_ready() const {
  std::vector<RunFailure> out;
  for (const auto& g : groups_) {
    for (const auto& i : g.instances) {
      if (!i->awaits_readiness()) continue;
      out.push_back(RunFailure{g.spec->name, i->index(), FailureKind::not_ready,
                               "no READY=1 from pid " + std::to_string(i->pid())});
    }
  }
  return out;
}

// Called for every exit of a worker's main process (and at its stop timeout's SIGKILL). The
// first sweep runs once the current loop turn is over, so a stop of N workers reaped in one
// turn costs one scan, not N. The re-sweeps of one instance follow its latest exit only: an
// earlier exit's are replaced, since the new ones end later.
void Supervisor::sweep_leftovers(const std::string& worker, unsigned instance) {
  const InstanceKey key{worker, instance};
  queue_sweep(key);
  std::erase_if(sweep_later_, [&](const auto& entry) { return entry.second == key; });
  const auto now = std::chrono::steady_clock::now();
  for (auto delay : kSweepDelays) sweep_later_.emplace(now + delay, key);
  arm_sweep_timer();
}

void Supervisor::queue_sweep(const InstanceKey& key) {
  if (sweep_now_.empty()) {
    boost::asio::post(io_, [this] { sweep(std::exchange(sweep_now_, {})); });
  }
  sweep_now_.insert(key);
}

// A leftover's children become ours the moment it dies, before its SIGCHLD. So when one we
// killed is reaped, its owner is swept again at once: a deep tree (setsid in setsid ...) goes
// level by level at the pace of its deaths, not of the re-sweep timers. A child we did not
// kill (a group member the worker's exit took along) may have left some too: every instance
// with re-sweeps pending is swept then.
void Supervisor::leftover_reaped(pid_t pid) {
  if (auto killed = killed_leftovers_.extract(pid)) {
    queue_sweep(killed.mapped());
    return;
  }
  for (const auto& [due, key] : sweep_later_) {
    if (!running_again(key)) queue_sweep(key);
  }
}

void Supervisor::sweep(const std::set<InstanceKey>& owners) {
  if (owners.empty()) return;
  kill_leftovers([&owners](const std::optional<Owner>& o) {
    return o && owners.count({o->worker, o->instance}) > 0;
  });
}

// A new run of an instance owns its own descendants: its re-sweeps are dropped, due or not
// (its next exit schedules new ones).
void Supervisor::on_sweep_timer() {
  const auto now = std::chrono::steady_clock::now();
  std::set<InstanceKey> due;
  std::erase_if(sweep_later_, [&](const auto& entry) {
    if (running_again(entry.second)) return true;
    if (entry.first > now) return false;
    due.insert(entry.second);
    return true;
  });
  sweep(due);
  arm_sweep_timer();
}

// (Re)arms the timer for the earliest re-sweep. Setting the expiry cancels a wait already
// armed; the epoch also turns away one whose handler was already queued when it was replaced.
void Supervisor::arm_sweep_timer() {
  if (sweep_later_.empty()) return;
  sweep_timer_.expires_at(sweep_later_.begin()->first);
  sweep_timer_.async_wait(
      [this, epoch = ++sweep_timer_epoch_](const boost::system::error_code& ec) {
        if (!ec && epoch == sweep_timer_epoch_) on_sweep_timer();
      });
}

bool Supervisor::running_again(const InstanceKey& key) const {
  for (const auto& g : groups_) {
    if (g.spec->name != key.first || key.second >= g.instances.size()) continue;
    return g.instances[key.second]->has_run();
  }
  return false;
}

std::size_t Supervisor::kill_leftovers(
    const std::function<bool(const std::optional<Owner>&)>& whose) {
  std::size_t killed = 0;
  std::set<pid_t> known;
  for (const auto& [pid, instance] : by_pid_) known.insert(pid);
  for (const auto& [pid, exited] : watched_) known.insert(pid);
  for (const Adopted& a : adopted_children(known)) {
    if (!whose(a.owner)) continue;
    const std::string owner = a.owner
                                  ? a.owner->worker + "[" + std::to_string(a.owner->instance) + "]"
                                  : std::string("no worker");
    log_info("killing pid " + std::to_string(a.pid) + ", left behind by " + owner);
    ::kill(a.pid, SIGKILL);
    if (a.owner) killed_leftovers_[a.pid] = {a.owner->worker, a.owner->instance};
    ++killed;
  }
  return killed;
}

void Supervisor::watch_child(pid_t pid, std::function<void(int status)> exited) {
  watched_[pid] = std::move(exited);
}

void Supervisor::forget_child(pid_t pid) {
  watched_.erase(pid);
}

std::optional<Cgroup> Supervisor::check_cgroup(const std::string& worker) const {
  if (tracking_.mode() != TrackingMode::cgroup) return std::nullopt;
  return tracking_.check_cgroup(worker);
}

std::shared_ptr<WorkerInstance> Supervisor::instance_of_sender(pid_t sender) const {
  if (sender <= 0) return nullptr;
  auto it = by_pid_.find(sender);
  if (it == by_pid_.end()) it = by_pid_.find(::getpgid(sender));
  if (it != by_pid_.end()) return it->second.lock();
  const std::optional<Owner> owner = tracking_.owner_by_cgroup(sender);
  if (!owner) return nullptr;
  const Group* g = group_named(owner->worker);
  if (g == nullptr || owner->instance >= g->instances.size()) return nullptr;
  return g->instances[owner->instance];
}

void Supervisor::on_notify(pid_t sender, const std::string& message) {
  // From the main process, or from any process of its group or cgroup (NotifyAccess=all, as
  // a shell wrapper that runs systemd-notify needs).
  const auto instance = instance_of_sender(sender);
  if (!instance) {
    log_debug("notify message from pid " + std::to_string(sender) +
              ", which is no worker: ignored");
    return;
  }
  instance->notified(message);
}

void Supervisor::when_acked(std::function<void(const AckReport&)> acked) {
  on_acked_ = std::move(acked);
}

// A report is trusted as far as the kernel vouches for its sender: the text says what, the
// sender's pid says who. Whatever is ignored is logged, throttled: anyone may send.
void Supervisor::on_ack_packet(pid_t sender, const std::string& packet) {
  const std::string from = "pid " + std::to_string(sender);
  const auto instance = instance_of_sender(sender);
  if (!instance) {
    ack_log_.warning("outsider", "ack report from " + from +
                                     ", which is no process of a worker instance: ignored");
    return;
  }
  const std::string who = "worker " + instance->label() + " (" + from + ")";
  ReportMessage message;
  try {
    message = parse_report(packet);
  } catch (const Error& e) {
    ack_log_.warning("malformed", "ack report from " + who + " is malformed (" + e.what() +
                                      "): ignored (docs/acks.md has the format)");
    return;
  }
  const std::uint64_t live = host_.generation();
  if (message.generation > live) {
    ack_log_.warning("unpublished", "ack report from " + who + " names generation " +
                                        std::to_string(message.generation) +
                                        ", which was never published (the live one is " +
                                        std::to_string(live) + "): ignored");
    return;
  }
  if (!instance->spec().acks) {
    ack_log_.warning("not-reporting",
                     "ack report from " + who + " ignored: its worker does not say \"acks\": true");
    return;
  }
  AckReport report{instance->spec().name, static_cast<int>(instance->index()), message.generation,
                   message.applied ? AckOutcome::applied : AckOutcome::rejected, message.reason};
  if (!instance->acknowledged(report)) {
    log_debug("worker " + instance->label() + " reported generation " +
              std::to_string(report.generation) + " " + ack_outcome_name(report.outcome) +
              " again");
  } else if (report.outcome == AckOutcome::applied) {
    log_info("worker " + instance->label() + " (generation " + std::to_string(live) +
             ") applied generation " + std::to_string(report.generation));
  } else {
    log_warning("worker " + instance->label() + " (generation " + std::to_string(live) +
                ") rejected generation " + std::to_string(report.generation) + ": " +
                report.reason);
  }
  if (on_acked_) on_acked_(report);
}

std::vector<std::shared_ptr<WorkerInstance>> Supervisor::instances_of(
    const std::string& name, std::optional<unsigned> instance) const {
  for (const auto& g : groups_) {
    if (g.spec->name != name) continue;
    if (!instance) return g.instances;
    if (*instance < g.instances.size()) return {g.instances[*instance]};
    throw Error("worker " + name + " has " + std::to_string(g.instances.size()) +
                " instance(s), numbered from 0; there is no instance " + std::to_string(*instance));
  }
  std::string names;
  for (const auto& g : groups_) names += (names.empty() ? "" : ", ") + g.spec->name;
  throw Error("no worker named \"" + name + "\" (workers: " + (names.empty() ? "none" : names) +
              ")");
}

void Supervisor::run(std::unique_ptr<WorkerCommand> command) {
  command->begin();
  commands_.push_back(std::move(command));
  schedule_review();
}

std::vector<InstanceStatus> Supervisor::status() const {
  std::vector<InstanceStatus> out;
  for (const auto& g : groups_) {
    for (const auto& i : g.instances) out.push_back(i->status());
  }
  return out;
}

std::vector<InstanceStatus> Supervisor::brief_status() const {
  std::vector<InstanceStatus> out;
  for (const auto& g : groups_) {
    for (const auto& i : g.instances) out.push_back(i->brief_status());
  }
  return out;
}

std::vector<std::string> Supervisor::restarting() const {
  std::vector<std::string> names;
  for (const auto& g : groups_) {
    if (g.rolling.under_way()) names.push_back(g.spec->name);
  }
  return names;
}

std::string Supervisor::summary() const {
  std::size_t total = 0, running = 0, fatal = 0, waiting = 0;
  for (const auto& g : groups_) {
    for (const auto& i : g.instances) {
      ++total;
      running += i->state() == State::running;
      fatal += i->state() == State::fatal;
      waiting += i->state() == State::waiting;
    }
  }
  std::string s =
      std::to_string(running) + " of " + std::to_string(total) + " worker instances running";
  if (fatal > 0) s += ", " + std::to_string(fatal) + " FATAL";
  if (waiting > 0) s += ", " + std::to_string(waiting) + " WAITING";
  return s;
}

}  // namespace confvisor::supervise
