#include "daemon/core/daemon.hpp"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <filesystem>

#include "common/base/log.hpp"
#include "common/json/units.hpp"
#include "common/os/accounts.hpp"
#include "common/os/signal_names.hpp"
#include "daemon/config/document_schema.hpp"

namespace confvisor::daemon {

namespace json = boost::json;

namespace {

std::string absolute(const std::string& path) {
  return std::filesystem::absolute(path).string();
}

// A config file as the daemon applies it: valid, with limits this host can apply, and, when
// it names a schema, the whole document valid against it (the schema read now).
config::LoadResult load_file(const std::string& path, std::size_t max_size) {
  return config::refuse_schema_violations(
      supervise::refuse_unavailable_limits(config::load_config(path, max_size), path));
}

// A kept generation's text, checked as a file is. Its schema is the file its own section
// names, as that file is now: a rollback does not bring back an old schema.
config::LoadResult load_generation(const std::string& text, std::uint64_t generation) {
  const std::string name = "generation " + std::to_string(generation);
  return config::refuse_schema_violations(
      supervise::refuse_unavailable_limits(config::load_config_text(text, name), name));
}

config::Config load_or_throw(const std::string& path, std::size_t max_size) {
  config::LoadResult result = load_file(path, max_size);
  if (!result.config) throw ConfigRejected(std::move(result.errors));
  return std::move(*result.config);
}

std::optional<gid_t> resolve_group(const std::optional<std::string>& name) {
  if (!name) return std::nullopt;
  if (auto gid = find_group(*name)) return gid;
  throw Error("unknown group \"" + *name + "\" for the segment");
}

}  // namespace

// The main segment's options, and the canary segment's (`segment` is then NAME.canary).
PublisherOptions Daemon::segment_options(const config::Settings& s, const std::string& segment) {
  return PublisherOptions{.segment = segment,
                          .mode = s.mode,
                          .group = resolve_group(s.group),
                          .initial_size = s.segment_size,
                          .history = s.history,
                          .on_event = [](const std::string& line) { log_info(line); },
                          // The loop never waits for another process: a busy lock is
                          // retried later (Daemon::publish_pending).
                          .wait_for_lock = false};
}

namespace {

// The writer lock is retried after 5 ms, then twice as late each time up to once a second:
// a publisher beside us holds it for microseconds, a stopped one for as long as it stays
// stopped, and an idle daemon must not spin on it.
constexpr std::chrono::milliseconds kFirstLockRetry{5};
constexpr std::chrono::milliseconds kLastLockRetry{1000};

std::string seconds_text(std::chrono::steady_clock::duration d) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d);
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(ms.count()) / 1000.0);
  return text;
}

std::string seconds_since(std::chrono::steady_clock::time_point since) {
  return seconds_text(std::chrono::steady_clock::now() - since);
}

}  // namespace

ConfigRejected::ConfigRejected(Errors e)
    : Error(e.empty() ? "config rejected" : e.front()), errors(std::move(e)) {}

Daemon::Daemon(const std::string& config_path)
    : signals_{SIGHUP, SIGTERM, SIGINT, SIGCHLD, SIGUSR1},
      config_path_(absolute(config_path)),
      config_(load_or_throw(config_path_, config::Settings{}.max_config_size)),
      lock_(config_->settings.segment),
      control_(std::make_unique<ControlServer>(
          io_, config_->settings.socket,
          ControlAccess{::geteuid(), resolve_group(config_->settings.group).value_or(::getegid())},
          [this](const control::Request& request, const PeerCredentials& peer,
                 ControlServer::Reply reply) { on_control(request, peer, std::move(reply)); })),
      http_(make_http_server()),
      publisher_(segment_options(config_->settings, config_->settings.segment)),
      rollout_(io_,
               RolloutVerify::Hooks{
                   .not_ready = [this] { return supervisor_.not_ready(); },
                   .failed =
                       [this](const VerifyRecord& record, const std::string& good_text,
                              const std::string& good_source) {
                         on_rollout_failed(record, good_text, good_source);
                       },
                   .passed = [this](std::uint64_t generation) { on_rollout_passed(generation); },
                   .promote = [this](std::uint64_t generation) { promote(generation); }}),
      bad_marks_(config_->settings.state_dir, config_->settings.segment + ".bad.json"),
      signal_events_(io_, signals_.fd()),
      watchdog_timer_(io_),
      // A canary's report may name a generation only the canary segment has.
      supervisor_(io_, config_->settings.segment,
                  [this] { return std::max(generation_, canary_generation_); }),
      etcd_start_(io_),
      lock_retry_(io_) {
  // Descendants that leave a worker's process group are reparented to us, not to init, so
  // a stopped worker leaves nothing running behind it.
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) throw_sys("become a child subreaper");
  log_info("starting: pid " + std::to_string(::getpid()) + ", config " + config_path_ +
           ", segment " + config_->settings.segment + " (/dev/shm/confvisor." +
           config_->settings.segment + ")");
  restore_bad_marks();
  if (config_->settings.etcd) {
    start_etcd();
  } else {
    publish_initial();
  }
}

Daemon::~Daemon() {
  // The signalfd belongs to signals_; the descriptor object must not close it.
  signal_events_.release();
}

// Publishes the config unless readers already see exactly it. If another process holds the
// writer lock, the publish waits on the loop (run() starts the workers once it is done); any
// other failure throws: the daemon does not start.
void Daemon::publish_initial() {
  open_canary_segment();
  const std::string text = boost::json::serialize(config_->document);
  file_text_ = text;
  if (const std::optional<std::string> why = rollout_.refusal(text);
      why && keep_live_over_marked(text, *why)) {
    return;
  }
  if (const auto live = read_live_generation(config_->settings.segment);
      live && live->text == text) {
    generation_ = live->generation;
    published_text_ = text;
    rollout_.accept(generation_, text, live->source, false);
    sync_canary_segment(live->source);
    log_info("publish skipped: generation " + std::to_string(generation_) +
             " already holds this config (" + human_size(text.size()) + ")");
    return;
  }
  pending_.emplace(PendingPublish{.what = ChangeKind::start,
                                  .trigger = "start",
                                  .text = text,
                                  .source = config::source_of(*config_),
                                  .config = std::nullopt,
                                  .since = std::chrono::steady_clock::now(),
                                  .etcd_revision = std::nullopt});
  const Change change = publish_pending();
  if (change.result == Outcome::failed) {
    // Say, no room to recover the segment: supervise all the same, with what readers see.
    const auto live = read_live_generation(config_->settings.segment);
    if (!live) throw Error(change.error);
    generation_ = live->generation;
    rollout_.accept(generation_, live->text, live->source, false);
    log_error("publish failed: generation " + std::to_string(generation_) +
              " stays published, the next reload tries again: " + change.error);
    return;
  }
  if (change.result == Outcome::waiting) {
    log_warning("publish waiting: " + change.error + "; the workers start once it is published");
    notifier_.status("waiting for the writer lock of /dev/shm/confvisor." +
                     config_->settings.segment + ": " + change.error);
    return;
  }
  log_info("publish ok: generation " + std::to_string(generation_) + ", " +
           human_size(text.size()) + ", from " + config::source_of(*config_));
}

int Daemon::run() {
  if (etcd_) {
    etcd_->source->start();
  } else if (!pending_) {
    start_workers();
  }
  wait_for_signals();
  wait_for_watchdog();
  // From here on the daemon must not die: workers and readers depend on it. A handler that
  // throws is a bug to log loudly; the loop then goes on with the next event.
  for (;;) {
    try {
      io_.run();
      return exit_code_;
    } catch (const std::exception& e) {
      log_error(std::string("internal error in an event handler (the daemon carries on): ") +
                e.what());
    }
  }
}

// Once the first publish is done: the workers then read the config they are started with.
void Daemon::start_workers() {
  workers_started_ = true;
  supervisor_.apply(config_->settings.workers, false);
  supervisor_.when_fatal_exits([this](const std::string& instance) { exit_for_fatal(instance); });
  supervisor_.when_acked([this](const supervise::AckReport& report) { on_ack_report(report); });
  supervisor_.when_run_fails([this](const supervise::RunFailure& failure) {
    rollout_.on_run_failed(failure);
    on_run_failed(failure);
  });
  // READY=1 once every worker's first start has come to an end (ready, or failed for good).
  supervisor_.when_settled([this] {
    workers_ready_ = true;
    log_info("ready: generation " + std::to_string(generation_) + ", " + supervisor_.summary());
    notifier_.ready(status());
  });
}

void Daemon::wait_for_signals() {
  signal_events_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                            [this](const boost::system::error_code& ec) {
                              if (ec) return;
                              on_signals(signals_.drain());
                            });
}

void Daemon::on_signals(const std::vector<int>& signals) {
  bool reload_requested = false;
  for (int sig : signals) {
    if (sig == SIGCHLD) supervisor_.reap();
    if (sig == SIGHUP) reload_requested = true;
    if (sig == SIGTERM || sig == SIGINT) shut_down(sig);
    if (sig == SIGUSR1) {
      log_info("SIGUSR1: opening every worker's log file again");
      supervisor_.reopen_log_files();
    }
  }
  // However many SIGHUPs arrived, one reload reads the file as it is now.
  if (reload_requested && !stopping_) request_reload("SIGHUP", {});
  wait_for_signals();
}

// Stops every worker gracefully (each within its stop_timeout), then leaves the loop. The
// segment stays: readers keep their config across a restart of the daemon.
void Daemon::shut_down(int sig) {
  if (stopping_) {
    log_info(signal_name(sig) + " again: already stopping the workers");
    return;
  }
  stopping_ = true;
  abandon_pending("stopping on " + signal_name(sig));
  abandon_checks("stopping on " + signal_name(sig));
  end_waits("confvisord is stopping on " + signal_name(sig));
  notifier_.stopping("stopping; generation " + std::to_string(generation_) + " stays published");
  log_info("stopping on " + signal_name(sig) + ": stopping the workers; generation " +
           std::to_string(generation_) + " stays published in /dev/shm/confvisor." +
           config_->settings.segment);
  stop_workers_and_exit();
}

// As shut_down, with the exit code that tells a container runtime or systemd's Restart= that
// the service failed. The service manager hears STOPPING=1 and why before the workers stop.
void Daemon::exit_for_fatal(const std::string& instance) {
  if (stopping_) return;
  stopping_ = true;
  exit_code_ = kExitWorkerFatal;
  abandon_pending("worker " + instance + " is FATAL");
  end_waits("confvisord is stopping: worker " + instance + " is FATAL");
  const std::string why = "worker " + instance + " (generation " + std::to_string(generation_) +
                          ") is FATAL and its on_fatal is exit: stopping every worker, then " +
                          "exiting with code " + std::to_string(kExitWorkerFatal);
  notifier_.stopping(why);
  log_error(why);
  stop_workers_and_exit();
}

void Daemon::stop_workers_and_exit() {
  supervisor_.stop_all([this] {
    log_info("stopped: every worker has exited");
    control_->close();
    if (http_) http_->close();
    io_.stop();
  });
}

Change Daemon::reload(const std::string& trigger) {
  notifier_.reloading("reloading " + config_path_);
  config::LoadResult loaded = load_file(config_path_, config_->settings.max_config_size);
  Change change;
  if (etcd_) {
    change = reload_with_etcd(std::move(loaded), trigger);
  } else {
    // The generation names every file it was merged from.
    const std::string source = loaded.config ? config::source_of(*loaded.config) : config_path_;
    change = adopt(std::move(loaded), true, source, ChangeKind::reload, trigger);
  }
  if (change.result != Outcome::checking) finish_change(change, ChangeKind::reload, trigger);
  return change;
}

// While checks run, one more reload is remembered (with everyone who asked for it) and runs
// when they end: it reads the file as it is then, so no request is lost and none runs twice.
void Daemon::request_reload(const std::string& trigger, std::vector<Caller> callers) {
  if (checking_) {
    log_info("reload requested (" + trigger + ") while the checks of the " +
             change_kind_name(checking_->what) + " from " + checking_->source +
             " run: it follows once they end");
    reload_after_checks_ = trigger;
    for (Caller& caller : callers) callers_after_checks_.push_back(std::move(caller));
    return;
  }
  const Change change = reload(trigger);
  if (change.result == Outcome::checking) {
    for (Caller& caller : callers) checking_->callers.push_back(std::move(caller));
    return;
  }
  answer(callers, change);
}

void Daemon::answer(std::vector<Caller>& callers, const Change& change) {
  for (Caller& caller : callers) {
    try {
      if (caller.wait && change.result == Outcome::ok) {
        begin_wait(caller, change);
      } else {
        caller.reply(change_reply(caller.command, change));
      }
    } catch (const control::Failure& f) {
      caller.reply(control::error_reply(f.code, f.what()));
    }
  }
  callers.clear();
}

// The reply becomes a stream: the change now, its wait's end later. A wait with nothing to
// wait for (no reporting instance) ends at once.
void Daemon::begin_wait(Caller& caller, const Change& change) {
  const ControlServer::ReplyStream stream =
      caller.reply.stream(control::stream_reply(change_result(caller.command, change)));
  if (!stream.open()) return;
  const std::uint64_t generation = change.generation;
  auto waiter = std::make_shared<Waiter>(
      io_, generation, caller.wait_timeout, [this] { return supervisor_.brief_status(); },
      [this, change, generation, stream](const std::vector<InstanceOutcome>& outcomes) {
        log_info("reload --wait for generation " + std::to_string(generation) +
                 " ended: " + std::to_string(outcomes.size()) + " reporting instance(s)");
        stream.finish(wait_reply(change, generation, outcomes));
      },
      stream);
  stream.keep(waiter);
  waiters_.push_back(waiter);
  waiter->wait.review();
}

// The one place every accepted report reaches the core. The supervisor has recorded it in
// its instance already, which is where the waiters read it; a rollout watch (a rejection of
// the generation it verifies rolls it back) decides on `report` here too.
// The rollout watch decides first, so that a wait this report ends can say whether its
// generation was rolled back. The waiters read the report from the instance's status.
void Daemon::on_ack_report(const supervise::AckReport& report) {
  if (report.outcome == supervise::AckOutcome::rejected) {
    rollout_.on_rejected(report.worker, static_cast<unsigned>(report.instance), report.generation,
                         report.reason);
  }
  review_waiters();
}

void Daemon::on_run_failed(const supervise::RunFailure& failure) {
  for (const auto& weak : waiters_) {
    if (const auto waiter = weak.lock())
      waiter->wait.lost(failure.worker, failure.instance, failure.reason);
  }
  review_waiters();
}

// The workers stop next, which is no failure of theirs: the waits say so before the
// connections close.
void Daemon::end_waits(const std::string& why) {
  for (const auto& weak : waiters_) {
    if (const auto waiter = weak.lock()) waiter->wait.end_now(WaitOutcome::interrupted, why);
  }
  waiters_.clear();
}

void Daemon::review_waiters() {
  std::erase_if(waiters_, [](const std::weak_ptr<Waiter>& weak) {
    const auto waiter = weak.lock();
    if (!waiter) return true;  // its client hung up
    waiter->wait.review();
    return waiter->wait.done();
  });
}

// Republishes a kept generation as a new one. It goes through the same checks as a reload:
// the config it holds must still be valid here and keep the segment's settings.
Change Daemon::rollback(std::uint64_t generation, const std::string& trigger) {
  const Generation kept = publisher_.read(generation);  // throws if not kept
  notifier_.reloading("rolling back to generation " + std::to_string(generation));
  const std::string source =
      kept.info.source + " (rollback to generation " + std::to_string(generation) + ")";
  Change change =
      adopt(load_generation(kept.text, generation), false, source, ChangeKind::rollback, trigger);
  if (change.result != Outcome::checking) finish_change(change, ChangeKind::rollback, trigger);
  return change;
}

// The one way a new config goes live: refused whole if anything is wrong with it, else
// published, then the workers reconciled to it. It is compared with what readers really see,
// whoever published that. A config still waiting for the writer lock is replaced by this one:
// the last request wins, as it would have had the first been published at once.
Change Daemon::adopt(config::LoadResult loaded, bool from_file, const std::string& source,
                     ChangeKind what, const std::string& trigger,
                     std::optional<std::int64_t> etcd_revision) {
  Change change;
  change.source = source;
  auto fail = [&](std::string why) {
    change.result = Outcome::failed;
    change.error = std::move(why);
    return change;
  };
  if (!loaded.config) return fail(loaded.errors.joined("\n"));
  try {
    refuse_setting_changes(loaded.config->settings);
  } catch (const Error& e) {
    return fail(e.what());
  }
  std::string text = boost::json::serialize(loaded.config->document);
  if (from_file) file_text_ = text;
  // A reload or an etcd snapshot may not bring back content that failed its verify window; an
  // operator's rollback to its generation may.
  if (rollout_verifies(what)) {
    if (std::optional<std::string> why = rollout_.refusal(text)) {
      // A merge with etcd names its revision: the bad value is still there.
      return fail(etcd_revision ? source + ": " + *why : *why);
    }
  }
  sync_live();
  if (text == published_text_) {
    abandon_pending(std::string("readers already see the config of this ") +
                    change_kind_name(what));
    config_.emplace(std::move(*loaded.config));
    change.result = Outcome::unchanged;
    note_unchanged(etcd_revision);
    return change;
  }
  if (supervise::CheckRun::needed(*loaded.config)) {
    return begin_checks(std::move(*loaded.config), std::move(text), source, what, trigger,
                        etcd_revision);
  }
  return publish_candidate(what, trigger, std::move(text), source, std::move(*loaded.config),
                           etcd_revision);
}

// Readers already see the candidate: a document merged from etcd is then current at its
// revision all the same, and a first one lets the workers start.
void Daemon::note_unchanged(std::optional<std::int64_t> etcd_revision) {
  // The config is back to what every instance reads: a generation on trial is withdrawn.
  if (trial_) {
    log_info("rollout withdrawn: generation " + std::to_string(trial_->generation) +
             " on the canary; the config is generation " + std::to_string(generation_) +
             "'s again, which the canary segment gets back");
    trial_.reset();
    rollout_.supersede(generation_);
  }
  // The canary segment may hold a generation kept there (on_failure keep): it follows again.
  if (canary_publisher_) {
    const std::optional<LiveGeneration> live = sync_live();
    sync_canary_segment(live ? live->source : config_path_);
  }
  if (etcd_revision) {
    etcd_->applied_revision = *etcd_revision;
    etcd_->from_cache = false;
    if (!etcd_->last_good_written && !rollout_.verifying()) keep_last_good();
  }
  if (!workers_started_) start_workers();
}

// The last step of every change: the candidate replaces any publish still waiting for the
// writer lock, and is published now or once the lock is free.
Change Daemon::publish_candidate(ChangeKind what, const std::string& trigger, std::string text,
                                 const std::string& source, config::Config candidate,
                                 std::optional<std::int64_t> etcd_revision,
                                 std::optional<std::uint64_t> rollback_of,
                                 std::optional<std::uint64_t> promoting) {
  if (!promoting && tries_on_canary(what, candidate)) {
    return begin_canary(what, trigger, std::move(text), source, std::move(candidate),
                        etcd_revision);
  }
  if (!promoting) trial_.reset();  // this publish supersedes any generation on trial
  const auto since = pending_ ? pending_->since : std::chrono::steady_clock::now();
  pending_.reset();
  pending_.emplace(PendingPublish{.what = what,
                                  .trigger = trigger,
                                  .text = std::move(text),
                                  .source = source,
                                  .config = std::move(candidate),
                                  .since = since,
                                  .rollback_of = rollback_of,
                                  .etcd_revision = etcd_revision,
                                  .promoting = promoting});
  Change change = publish_pending();
  if (change.result == Outcome::ok) went_live();
  if (change.result == Outcome::failed && !workers_started_) fail_start(change.error);
  return change;
}

// The checks stage: the candidate waits, on the loop, for its workers' checks; the outcome
// comes to on_checks_done. What readers see does not change meanwhile.
Change Daemon::begin_checks(config::Config candidate, std::string text, const std::string& source,
                            ChangeKind what, const std::string& trigger,
                            std::optional<std::int64_t> etcd_revision) {
  Change change;
  change.source = source;
  checking_.emplace(Checking{.what = what,
                             .trigger = trigger,
                             .text = std::move(text),
                             .source = source,
                             .config = std::move(candidate),
                             .since = std::chrono::steady_clock::now(),
                             .callers = {},
                             .run = nullptr,
                             .etcd_revision = etcd_revision});
  try {
    checking_->run = std::make_unique<supervise::CheckRun>(
        supervisor_, checking_->config, checking_->text,
        [this](supervise::CheckReport report) { on_checks_done(std::move(report)); });
  } catch (const Error& e) {
    checking_.reset();
    change.result = Outcome::failed;
    change.error = std::string("unable to run the workers' checks: ") + e.what();
    return change;
  }
  change.result = Outcome::checking;
  std::string names;
  for (const std::string& name : checking_->run->running()) names += " " + name;
  change.error = "the checks of" + names + " run";
  log_info(std::string(change_kind_name(what)) + " checking: generation " +
           std::to_string(generation_) + " stays published while " + change.error);
  notifier_.status(std::string(change_kind_name(what)) + " checking: " + change.error);
  return change;
}

void Daemon::on_checks_done(supervise::CheckReport report) {
  Checking done = std::move(*checking_);
  checking_.reset();
  done.run.reset();  // the candidate's copies go now
  Change change;
  change.source = done.source;
  if (report.outcome == supervise::CheckOutcome::refused) {
    change.result = Outcome::failed;
    change.error = report.errors.joined("\n");
  } else {
    sync_live();
    if (done.text == published_text_) {
      config_.emplace(std::move(done.config));
      change.result = Outcome::unchanged;
      note_unchanged(done.etcd_revision);
    } else {
      change = publish_candidate(done.what, done.trigger, std::move(done.text), done.source,
                                 std::move(done.config), done.etcd_revision);
    }
  }
  finish_change(change, done.what, done.trigger);
  answer(done.callers, change);
  if (etcd_) after_etcd_checks(done.what, change);
  if (stopping_) return;
  if (reload_after_checks_) {
    // The reload merges etcd's latest snapshot too: one waiting snapshot is covered by it.
    if (etcd_) etcd_->snapshot_after_checks = false;
    const std::string trigger = *std::exchange(reload_after_checks_, std::nullopt);
    request_reload(trigger, std::exchange(callers_after_checks_, {}));
  } else if (etcd_ && std::exchange(etcd_->snapshot_after_checks, false) && etcd_->snapshot) {
    on_etcd_snapshot(*etcd_->snapshot);
  }
}

// SIGTERM: the checks are killed, and whoever waits for them is told.
void Daemon::abandon_checks(const std::string& why) {
  if (!checking_) return;
  log_info(std::string("the ") + change_kind_name(checking_->what) + " from " + checking_->source +
           " is dropped while its checks run (" + why + "): generation " +
           std::to_string(generation_) + " stays published");
  Checking dropped = std::move(*checking_);
  checking_.reset();
  dropped.run.reset();
  Change change;
  change.result = Outcome::failed;
  change.error = "dropped while its checks ran: " + why;
  answer(dropped.callers, change);
  reload_after_checks_.reset();
  answer(callers_after_checks_, change);
}

// Makes one attempt on the loop, never waiting. The outcome is ok when it published (the
// caller then reconciles the workers), waiting when another process holds the writer lock
// (a retry is scheduled), or failed (the pending publish is dropped).
Change Daemon::publish_pending() {
  PendingPublish& p = *pending_;
  Change change;
  change.source = p.source;
  try {
    if (p.config) apply_settings(p.config->settings);
    generation_ =
        publisher_.publish_serialized(p.text, p.source, p.promoting.value_or(next_generation()));
  } catch (const WriterLockBusy& busy) {
    change.result = Outcome::waiting;
    change.error = busy.what();
    lock_wait_reason_ = busy.what();
    retry_lock_later();
    return change;
  } catch (const Error& e) {
    pending_.reset();
    lock_retry_.cancel();
    change.result = Outcome::failed;
    change.error = e.what();
    return change;
  }
  if (p.config) config_.emplace(std::move(*p.config));
  published_text_ = std::move(p.text);
  sync_canary_segment(p.source);
  tell_rollout(p);
  if (etcd_) {
    etcd_->last_good_written = false;
    if (p.etcd_revision) {
      etcd_->applied_revision = *p.etcd_revision;
      etcd_->from_cache = false;
    }
    // The file keeps only what is good: a generation in its verify window is written once it
    // passes (on_rollout_passed), and a rollback's document at once.
    if ((p.etcd_revision || p.what == ChangeKind::rollback) && !rollout_.verifying()) {
      keep_last_good();
    }
  }
  pending_.reset();
  lock_retry_.cancel();
  lock_retry_delay_ = std::chrono::milliseconds(0);
  lock_wait_reason_.clear();
  change.result = Outcome::ok;
  return change;
}

void Daemon::retry_lock_later() {
  lock_retry_delay_ = lock_retry_delay_.count() == 0
                          ? kFirstLockRetry
                          : std::min(2 * lock_retry_delay_, kLastLockRetry);
  lock_retry_.expires_after(lock_retry_delay_);  // replaces an earlier wait
  lock_retry_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) on_lock_retry();
  });
}

void Daemon::on_lock_retry() {
  if (!pending_ || stopping_) return;
  const ChangeKind what = pending_->what;
  const std::string trigger = pending_->trigger;
  const std::string waited = seconds_since(pending_->since);
  Change change = publish_pending();
  if (change.result == Outcome::waiting) return;
  if (!workers_started_ && change.result == Outcome::failed) return fail_start(change.error);
  log_info("writer lock free after " + waited + ": the waiting " + change_kind_name(what) +
           " went on");
  if (change.result == Outcome::ok) went_live();
  if (what == ChangeKind::start) {
    log_info("publish ok: generation " + std::to_string(generation_) + ", " +
             human_size(published_text_.size()) + ", from " + change.source);
  } else {
    finish_change(change, what, trigger);
  }
}

// The first publish waited for the writer lock, then failed: the daemon ends as it would have
// had the publish failed at once, with nothing started.
void Daemon::fail_start(const std::string& why) {
  log_error("unable to start: " + why);
  exit_code_ = 1;
  stopping_ = true;
  control_->close();
  if (http_) http_->close();
  io_.stop();
}

// After a publish: a worker started, restarted or signalled now reads the new generation.
void Daemon::went_live() {
  if (!workers_started_) {
    start_workers();
  } else {
    supervisor_.apply(config_->settings.workers, true);
  }
}

// With "rollout", a reload or an etcd snapshot opens a verify window on what it published
// once the workers run; anything else that goes live (the first publish, even when etcd's
// first snapshot makes it, a change without "rollout", a rollback) is the good document at
// once.
void Daemon::tell_rollout(const PendingPublish& published) {
  if (rollout_verifies(published.what) && workers_started_ && config_->settings.rollout) {
    rollout_.verify(generation_, published_text_, published.source, *config_->settings.rollout);
  } else {
    rollout_.accept(generation_, published_text_, published.source,
                    rollout_verifies(published.what));
  }
  if (published.rollback_of) {
    rollout_.rolled_back(*published.rollback_of, generation_);
    log_error(rollout_failure_line(*published.rollback_of));
  }
}

// With etcd, the last good file takes a verified generation once its window passes: a start
// while etcd is away then publishes it, never content still on trial.
void Daemon::on_rollout_passed(std::uint64_t generation) {
  if (etcd_ && generation == generation_ && !etcd_->last_good_written) keep_last_good();
}

// "rollout failed: generation 5, worker api[0] crashed (exit code 3) 0.4 s into its 2s verify
// window: rolled back as generation 6 (the document of generation 4)": one line with the
// worker, the instance and every generation involved.
std::string Daemon::rollout_failure_line(std::uint64_t failed) const {
  const std::optional<VerifyRecord> r = rollout_.record(failed);
  if (!r || !r->failure) return "rollout failed: generation " + std::to_string(failed);
  const bool on_canary = r->stage != Stage::all;
  std::string line = "rollout failed: generation " + std::to_string(r->generation) +
                     (on_canary ? " on the canary" : "") + ", " + r->failure->describe() + " " +
                     seconds_text(r->failed_after) + " into its " +
                     format_duration(r->settings.verify) + " verify window: ";
  if (on_canary) {
    line += "the other instances never read it, generation " + std::to_string(generation_) +
            " stays published in /dev/shm/confvisor." + config_->settings.segment + "; ";
  }
  if (r->settings.on_failure == config::RolloutAction::keep) {
    return line + "kept (on_failure keep), generation " + std::to_string(generation_) +
           " stays published";
  }
  if (r->rolled_back_as) {
    return line + "rolled back as generation " + std::to_string(*r->rolled_back_as) +
           (on_canary ? " in /dev/shm/confvisor." + canary_name() : std::string()) +
           " (the document of generation " + std::to_string(r->good_generation) + ")";
  }
  return line + "rolling back to the document of generation " + std::to_string(r->good_generation) +
         " failed: " + r->rollback_error;
}

// The rollback is not checked by the workers' check commands again: the good document passed
// them (or was live) before. It is validated as any kept generation is, and published as a
// rollback, which no window verifies. A publish waiting for the writer lock is replaced by it.
void Daemon::on_rollout_failed(const VerifyRecord& record, const std::string& good_text,
                               const std::string& good_source) {
  if (record.settings.on_failure == config::RolloutAction::rollback) save_bad_marks();
  if (stopping_) return;
  if (record.stage != Stage::all) return on_canary_failed(record, good_text, good_source);
  if (record.settings.on_failure == config::RolloutAction::keep) {
    log_error(rollout_failure_line(record.generation));
    notifier_.status(status());
    return;
  }
  const std::string trigger = "rollout of generation " + std::to_string(record.generation);
  const std::string source = "rollback of generation " + std::to_string(record.generation) + " (" +
                             record.failure->describe() + ") to generation " +
                             std::to_string(record.good_generation) + " from " + good_source;
  notifier_.reloading("rolling back generation " + std::to_string(record.generation) + ": " +
                      record.failure->describe());
  Change change;
  change.source = source;
  auto fail = [&](std::string why) {
    change.result = Outcome::failed;
    change.error = std::move(why);
    rollout_.rollback_failed(record.generation, change.error);
    log_error(rollout_failure_line(record.generation));
  };
  config::LoadResult loaded = load_generation(good_text, record.good_generation);
  if (good_text.empty()) {
    fail("no good document is known");
  } else if (!loaded.config) {
    fail(loaded.errors.joined("; "));
  } else {
    try {
      refuse_setting_changes(loaded.config->settings);
      std::string text = boost::json::serialize(loaded.config->document);
      sync_live();
      if (text == published_text_) {
        config_.emplace(std::move(*loaded.config));
        change.result = Outcome::unchanged;
      } else {
        change = publish_candidate(ChangeKind::rollback, trigger, std::move(text), source,
                                   std::move(*loaded.config), std::nullopt, record.generation);
        if (change.result == Outcome::failed) fail(change.error);
      }
    } catch (const Error& e) {
      fail(e.what());
    }
  }
  finish_change(change, ChangeKind::rollback, trigger);
}

void Daemon::abandon_pending(const std::string& why) {
  if (!pending_) return;
  log_info(std::string("the ") + change_kind_name(pending_->what) + " waiting " +
           seconds_since(pending_->since) + " for the writer lock is dropped (" + why +
           "): generation " + std::to_string(generation_) + " stays published");
  pending_.reset();
  lock_retry_.cancel();
  lock_retry_delay_ = std::chrono::milliseconds(0);
  lock_wait_reason_.clear();
}

std::optional<LiveGeneration> Daemon::sync_live() {
  std::optional<LiveGeneration> live;
  try {
    live = read_live_generation(config_->settings.segment);
  } catch (const Error& e) {
    log_warning(std::string("unable to read the live generation: ") + e.what());
    return std::nullopt;
  }
  if (live && live->generation != generation_) {
    log_warning("generation " + std::to_string(live->generation) + " of /dev/shm/confvisor." +
                config_->settings.segment + " was published by pid " +
                std::to_string(live->publisher_pid) + " from " + live->source +
                ", not by this daemon (which published generation " + std::to_string(generation_) +
                "): status and reloads compare with it");
    generation_ = live->generation;
    published_text_ = live->text;
  }
  return live;
}

// Logs the outcome in one line, remembers it for status, and tells the service manager.
void Daemon::finish_change(Change& change, ChangeKind kind, const std::string& trigger) {
  change.trigger = trigger;
  change.at = std::chrono::system_clock::now();
  change.generation = change.canary ? canary_generation_ : generation_;
  // "reload failed: generation 3", "rollback ok: generation 5", ...
  const std::string head = std::string(change_kind_name(kind)) + " " + outcome_name(change.result) +
                           ": generation " + std::to_string(change.generation);
  switch (change.result) {
    case Outcome::failed: {
      std::string one_line = change.error;
      std::replace(one_line.begin(), one_line.end(), '\n', ';');
      log_error(head + " stays published: " + one_line);
      break;
    }
    case Outcome::waiting:
      log_warning(head + " stays published until the writer lock is free: " + change.error);
      break;
    case Outcome::unchanged:
      log_info(head + " stays published, " + change.source + " holds the same config");
      break;
    case Outcome::ok:
      if (change.canary) {
        log_info(head + " on the canary only (/dev/shm/confvisor." + canary_name() + "), from " +
                 change.source + "; generation " + std::to_string(generation_) +
                 " stays published to the other instances until the canary passes");
        break;
      }
      [[fallthrough]];
    case Outcome::checking:  // not finished yet: on_checks_done finishes it
    case Outcome::none:      // adopt always decides; kept for the switch to be whole
      log_info(head + ", " + human_size(published_text_.size()) + ", from " + change.source);
      break;
  }
  last_change_ = change;
  reload_counts_.record(change);
  // READY=1 answers the RELOADING=1 of a reload or rollback; a publish from etcd only says it
  // once the workers' first start is done (start_workers).
  if (kind == ChangeKind::reload || kind == ChangeKind::rollback || workers_ready_) {
    notifier_.ready(status());
  }
}

// Settings that name or shape the segment cannot change under running readers.
void Daemon::refuse_setting_changes(const config::Settings& next) const {
  const config::Settings& cur = config_->settings;
  auto refuse = [](std::string_view key, const std::string& from, const std::string& to) {
    throw Error(std::string("/confvisor/") + std::string(key) + " changed from " + from + " to " +
                to + ": restart confvisord to apply it");
  };
  if (next.segment != cur.segment)
    refuse("segment", "\"" + cur.segment + "\"", "\"" + next.segment + "\"");
  if (next.mode != cur.mode) {
    char from[8], to[8];
    std::snprintf(from, sizeof from, "%04o", cur.mode);
    std::snprintf(to, sizeof to, "%04o", next.mode);
    refuse("mode", from, to);
  }
  if (next.group != cur.group) {
    refuse("group", cur.group.value_or("(none)"), next.group.value_or("(none)"));
  }
  if (next.socket != cur.socket) refuse("socket", cur.socket, next.socket);
  // The source is followed from the start: a new one would begin with a document of its own,
  // which the workers must not see half-way. A changed password file counts as a change.
  if (next.etcd != cur.etcd) {
    throw Error(
        "/confvisor/source changed (its endpoints, prefix, tls, auth or the password in its "
        "password_file): restart confvisord to apply it");
  }
  if (next.state_dir != cur.state_dir) refuse("state_dir", cur.state_dir, next.state_dir);
  if (next.http != cur.http) {
    auto listen = [](const std::optional<config::HttpSettings>& http) {
      return http ? "\"" + http->listen + "\"" : std::string("(none)");
    };
    refuse("http", listen(cur.http), listen(next.http));
  }
}

void Daemon::apply_settings(const config::Settings& next) {
  publisher_.set_history(next.history);
}

std::string Daemon::status() const {
  std::string last = outcome_name(last_change_.result);
  if (last_change_.result == Outcome::failed || last_change_.result == Outcome::waiting)
    last += ": " + last_change_.error.substr(0, last_change_.error.find('\n'));
  std::string etcd;
  if (etcd_) {
    etcd = "; etcd " + std::string(etcd::connection_name(etcd_->state.connection)) +
           (etcd_->from_cache ? ", serving the last good file"
                              : ", revision " + std::to_string(etcd_->applied_revision));
  }
  std::string rollout = rollout_.summary();
  if (trial_) {
    rollout = "generation " + std::to_string(trial_->generation) + " on trial on the canary" +
              (rollout.empty() ? "" : "; " + rollout);
  }
  return "generation " + std::to_string(generation_) + " published; " + supervisor_.summary() +
         "; last reload: " + last + etcd + (rollout.empty() ? "" : "; " + rollout);
}

void Daemon::wait_for_watchdog() {
  auto period = notifier_.watchdog_period();
  if (!period) return;  // no timer at all: an idle daemon makes no wakeups
  watchdog_timer_.expires_after(*period);
  watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    notifier_.watchdog();
    wait_for_watchdog();
  });
}

}  // namespace confvisor::daemon
