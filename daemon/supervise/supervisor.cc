#include "daemon/supervise/supervisor.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "common/base/error.hpp"
#include "common/base/log.hpp"
#include "daemon/supervise/leftovers.hpp"

namespace confvisor::supervise {

namespace {

// A worker's check is run before a publish, never by the worker's processes: a change of it
// alone leaves them running.
bool same_run(config::WorkerSpec a, config::WorkerSpec b) {
  a.check = b.check;
  a.check_timeout = b.check_timeout;
  return a == b;
}

bool same_but_instances(config::WorkerSpec a, config::WorkerSpec b) {
  a.instances = b.instances = 0;
  return same_run(std::move(a), std::move(b));
}

bool at_rest(const WorkerInstance& i) {
  return i.state() == State::stopped || i.state() == State::fatal;
}

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
            &tracking_},
      notify_(io, segment,
              [this](pid_t sender, const std::string& message) { on_notify(sender, message); }),
      sweep_timer_(io),
      stop_recheck_(io) {
  host_.notify_socket = notify_.address();
}

Supervisor::~Supervisor() = default;

void Supervisor::apply(const std::vector<config::WorkerSpec>& specs, bool reloaded) {
  std::map<std::string, Group> current;
  for (Group& g : groups_) {
    const std::string name = g.spec->name;
    current.emplace(name, std::move(g));
  }
  groups_.clear();
  for (const config::WorkerSpec& spec : specs) {
    auto node = current.extract(spec.name);
    if (node.empty()) {
      if (reloaded) log_info("worker " + spec.name + " is new in the config: starting it");
      groups_.push_back(start_group(spec));
      continue;
    }
    Group& g = groups_.emplace_back(std::move(node.mapped()));
    if (same_run(*g.spec, spec) && !(*g.spec == spec)) {
      g.spec = std::make_shared<const config::WorkerSpec>(spec);
      for (auto& instance : g.instances) instance->use_spec(g.spec);
    }
    if (*g.spec == spec) {
      if (reloaded && spec.on_reload == config::ReloadAction::signal) {
        for (auto& instance : g.instances) instance->send_reload_signal();
      } else if (reloaded && spec.on_reload == config::ReloadAction::restart) {
        log_info("worker " + spec.name + ": on_reload restart, one instance at a time");
        begin_rolling(g, g.spec);
      }
    } else if (same_but_instances(*g.spec, spec)) {
      log_info("worker " + spec.name + ": instances " + std::to_string(g.spec->instances) + " -> " +
               std::to_string(spec.instances));
      scale(g, std::make_shared<const config::WorkerSpec>(spec));
    } else {
      log_info("worker " + spec.name + " changed: restarting it one instance at a time");
      begin_rolling(g, std::make_shared<const config::WorkerSpec>(spec));
    }
  }
  for (auto& [name, g] : current) {
    log_info("worker " + name + " is no longer in the config: stopping it");
    for (auto& instance : g.instances) retire(instance);
  }
  schedule_review();
}

// New instances start in config order as soon as they exist.
Supervisor::Group Supervisor::start_group(const config::WorkerSpec& spec) {
  Group g{std::make_shared<const config::WorkerSpec>(spec), {}, {}};
  for (unsigned i = 0; i < spec.instances; ++i) {
    g.instances.push_back(std::make_shared<WorkerInstance>(host_, g.spec, i));
    g.instances.back()->start();
  }
  return g;
}

void Supervisor::scale(Group& g, std::shared_ptr<const config::WorkerSpec> spec) {
  g.spec = std::move(spec);
  while (g.instances.size() > g.spec->instances) {
    retire(g.instances.back());
    g.instances.pop_back();
  }
  for (auto& instance : g.instances) instance->use_spec(g.spec);
  while (g.instances.size() < g.spec->instances) {
    const auto index = static_cast<unsigned>(g.instances.size());
    g.instances.push_back(std::make_shared<WorkerInstance>(host_, g.spec, index));
    g.instances.back()->start();
  }
}

// Instances that exist keep running until their turn; added ones start with the new spec.
void Supervisor::begin_rolling(Group& g, std::shared_ptr<const config::WorkerSpec> spec) {
  const auto existing =
      static_cast<unsigned>(std::min<std::size_t>(g.instances.size(), spec->instances));
  g.spec = spec;
  while (g.instances.size() > g.spec->instances) {
    retire(g.instances.back());
    g.instances.pop_back();
  }
  while (g.instances.size() < g.spec->instances) {
    const auto index = static_cast<unsigned>(g.instances.size());
    g.instances.push_back(std::make_shared<WorkerInstance>(host_, g.spec, index));
    g.instances.back()->start();
  }
  g.rolling.begin(existing);
}

void Supervisor::retire(std::shared_ptr<WorkerInstance> instance) {
  instance->retire();
  retiring_.push_back(std::move(instance));
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
  }
  std::erase_if(commands_,
                [this](const auto& c) { return stopping_all_ ? c->abandon() : c->advance(); });
  std::erase_if(retiring_, [](const auto& i) { return at_rest(*i); });
  if (on_settled_) {
    const bool settled = std::all_of(groups_.begin(), groups_.end(), [](const Group& g) {
      return std::all_of(g.instances.begin(), g.instances.end(),
                         [](const auto& i) { return i->settled(); });
    });
    if (settled) std::exchange(on_settled_, nullptr)();
  }
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
                     [](const auto& i) { return at_rest(*i); })) {
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
    for (auto i = g->instances.rbegin(); i != g->instances.rend(); ++i) (*i)->stop();
  }
  for (auto& instance : retiring_) instance->stop();
  schedule_review();
}

void Supervisor::when_settled(std::function<void()> ready) {
  on_settled_ = std::move(ready);
  schedule_review();
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
    const State state = g.instances[key.second]->state();
    return state != State::stopped && state != State::backoff && state != State::fatal;
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

void Supervisor::on_notify(pid_t sender, const std::string& message) {
  // From the main process, or from any process of its group (NotifyAccess=all, as a shell
  // wrapper that runs systemd-notify needs).
  auto it = by_pid_.find(sender);
  if (it == by_pid_.end()) it = by_pid_.find(::getpgid(sender));
  if (it == by_pid_.end()) {
    log_debug("notify message from pid " + std::to_string(sender) +
              ", which is no worker: ignored");
    return;
  }
  if (auto instance = it->second.lock()) instance->notified(message);
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

std::vector<std::string> Supervisor::restarting() const {
  std::vector<std::string> names;
  for (const auto& g : groups_) {
    if (g.rolling.under_way()) names.push_back(g.spec->name);
  }
  return names;
}

std::string Supervisor::summary() const {
  std::size_t total = 0, running = 0, fatal = 0;
  for (const auto& g : groups_) {
    for (const auto& i : g.instances) {
      ++total;
      running += i->state() == State::running;
      fatal += i->state() == State::fatal;
    }
  }
  std::string s =
      std::to_string(running) + " of " + std::to_string(total) + " worker instances running";
  if (fatal > 0) s += ", " + std::to_string(fatal) + " FATAL";
  return s;
}

}  // namespace confvisor::supervise
