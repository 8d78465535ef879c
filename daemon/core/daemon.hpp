// confvisord's core: owns the config, the segment it publishes, the workers it supervises,
// and the event loop that turns signals into reloads, reaped children and a clean exit.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/base/error.hpp"
#include "common/base/errors.hpp"
#include "common/os/signal_fd.hpp"
#include "common/publish/owner_lock.hpp"
#include "common/publish/publisher.hpp"
#include "daemon/config/model.hpp"
#include "daemon/config/on_disk.hpp"
#include "daemon/control/server.hpp"
#include "daemon/core/change.hpp"
#include "daemon/core/live_generation.hpp"
#include "daemon/core/reload_counts.hpp"
#include "daemon/core/reload_wait.hpp"
#include "daemon/core/rollout_verify.hpp"
#include "daemon/core/service_notifier.hpp"
#include "daemon/core/state_file.hpp"
#include "daemon/etcd/source.hpp"
#include "daemon/http/endpoints.hpp"
#include "daemon/http/server.hpp"
#include "daemon/supervise/check_run.hpp"
#include "daemon/supervise/supervisor.hpp"

namespace confvisor::daemon {

// confvisord's exit code when a worker whose on_fatal is "exit" became FATAL and the daemon
// stopped every worker and exited for it (main.cc lists every exit code).
constexpr int kExitWorkerFatal = 3;

// The config could not be loaded at startup; `errors` has every problem, one per line.
class ConfigRejected : public Error {
 public:
  explicit ConfigRejected(Errors errors);
  Errors errors;
};

class Daemon {
 public:
  // Blocks the signals it handles, loads and validates the config, takes the segment's
  // owner lock, and publishes the config (unless the segment already holds exactly it).
  // Throws ConfigRejected or Error; nothing is published then.
  explicit Daemon(const std::string& config_path);
  ~Daemon();

  // Serves until SIGTERM or SIGINT; returns the exit code.
  int run();

 private:
  // A config waiting to be published while another process holds the segment's writer
  // lock. The loop goes on meanwhile; a later reload or rollback replaces it (coalesces into
  // it), SIGTERM abandons it.
  struct PendingPublish {
    ChangeKind what;
    std::string trigger;  // as in Change
    std::string text;     // minified JSON
    std::string source;
    // Goes live with the text; unset for the first publish, whose config is config_ already.
    std::optional<config::Config> config;
    std::chrono::steady_clock::time_point since;  // when it began to wait
    // Set for a rollback that republishes the good document because this generation failed
    // its verify window (daemon/core/rollout_verify.hpp).
    std::optional<std::uint64_t> rollback_of{};
    // Set for a document merged from etcd: the revision it is current at, for status and
    // the last good file once it is live.
    std::optional<std::int64_t> etcd_revision;
    // Set for a generation that passed its canary window: the number it keeps.
    std::optional<std::uint64_t> promoting{};
  };

  // A generation on trial in the canary segment: what is published to every instance once
  // its canary window passes (Daemon::promote). Emplaced, never assigned (it holds a Config).
  struct Trial {
    ChangeKind what;
    std::string trigger;
    std::string text;  // minified JSON
    std::string source;
    config::Config config;
    std::optional<std::int64_t> etcd_revision;
    std::uint64_t generation = 0;
  };

  // With /confvisor/source/etcd: the file's document is the base, each snapshot of the
  // prefix is merged over it (daemon/core/etcd_overlay.hpp) and published as one generation.
  struct EtcdFeed {
    config::EtcdSettings settings;
    boost::json::value base;  // the file's document, as last loaded
    StateFile last_good;
    std::unique_ptr<etcd::Source> source;
    etcd::SourceState state;
    std::optional<etcd::Snapshot> snapshot;  // the latest one received
    std::int64_t applied_revision = 0;       // of the live generation, 0 before one
    bool settled = false;                    // a snapshot or the last good file was published
    bool from_cache = false;                 // the live generation is the last good file's
    std::string last_error;                  // the latest refusal or connection error
    std::string last_good_error;             // why the last good file could not be written
    bool last_good_written = false;          // the file holds the live generation's text
    bool fell_back = false;                  // the start has tried the last good file
    // A snapshot came while a candidate's checks ran: `snapshot` goes on once they end.
    bool snapshot_after_checks = false;
    bool first_in_checks = false;  // the candidate whose checks run is the first snapshot
  };

  // A control request that changes the config, answered once its change has ended.
  struct Caller {
    std::string command;  // "reload", "rollback"
    ControlServer::Reply reply;
    // `reload --wait`: once published, the reply is a stream that ends when every reporting
    // instance has applied the generation (Daemon::begin_wait), within `wait_timeout`.
    bool wait = false;
    std::chrono::milliseconds wait_timeout{0};
  };

  // A `reload --wait` under way. Its stream keeps it (a client that hangs up drops it, timer
  // and all); the daemon holds it weakly, to pass it reports and lost runs.
  struct Waiter {
    Waiter(boost::asio::io_context& io, std::uint64_t generation, std::chrono::milliseconds timeout,
           ReloadWait::Instances instances, ReloadWait::Done done, ControlServer::ReplyStream s)
        : wait(io, generation, timeout, std::move(instances), std::move(done)),
          stream(std::move(s)) {}
    ReloadWait wait;
    ControlServer::ReplyStream stream;
  };

  // A candidate whose workers' check commands run (daemon/supervise/check_run.hpp) before it
  // may be published. The loop goes on meanwhile; reloads asked for during the checks
  // coalesce into one that runs once they end; a rollback is refused; SIGTERM kills them.
  struct Checking {
    ChangeKind what;
    std::string trigger;
    std::string text;  // minified JSON
    std::string source;
    config::Config config;
    std::chrono::steady_clock::time_point since;
    std::vector<Caller> callers;
    std::unique_ptr<supervise::CheckRun> run;
    std::optional<std::int64_t> etcd_revision;  // as in PendingPublish
  };

  void wait_for_signals();
  void on_signals(const std::vector<int>& signals);
  void shut_down(int sig);
  // A worker with on_fatal "exit" is FATAL: stop every worker, then exit kExitWorkerFatal.
  void exit_for_fatal(const std::string& instance);
  // Stops every worker, then leaves the loop.
  void stop_workers_and_exit();
  Change reload(const std::string& trigger);
  Change rollback(std::uint64_t generation, const std::string& trigger);
  Change adopt(config::LoadResult loaded, bool from_file, const std::string& source,
               ChangeKind what, const std::string& trigger,
               std::optional<std::int64_t> etcd_revision = std::nullopt);
  void note_unchanged(std::optional<std::int64_t> etcd_revision);
  // A reload now, or once the checks that run end; each caller is answered when it is done.
  void request_reload(const std::string& trigger, std::vector<Caller> callers);
  void answer(std::vector<Caller>& callers, const Change& change);
  // Answers a `reload --wait` whose reload published: the change at once, then the end of
  // the wait (ReloadWait).
  void begin_wait(Caller& caller, const Change& change);
  [[nodiscard]] std::string wait_reply(const Change& change, std::uint64_t generation,
                                       const std::vector<InstanceOutcome>& outcomes);
  // Every report the supervisor accepted (a process of an instance of a worker with "acks":
  // true, well formed, of a published generation). The waiting `reload --wait`s look again;
  // the rollout watch of a reload that verifies its generation decides here too.
  void on_ack_report(const supervise::AckReport& report);
  // A run crashed, failed to start or missed its watchdog (after the rollout watch heard of
  // it): the waiting `reload --wait`s count the instance as crashed.
  void on_run_failed(const supervise::RunFailure& failure);
  void review_waiters();
  void end_waits(const std::string& why);
  Change begin_checks(config::Config candidate, std::string text, const std::string& source,
                      ChangeKind what, const std::string& trigger,
                      std::optional<std::int64_t> etcd_revision);
  void on_checks_done(supervise::CheckReport report);
  void abandon_checks(const std::string& why);
  Change publish_candidate(ChangeKind what, const std::string& trigger, std::string text,
                           const std::string& source, config::Config candidate,
                           std::optional<std::int64_t> etcd_revision,
                           std::optional<std::uint64_t> rollback_of = std::nullopt,
                           std::optional<std::uint64_t> promoting = std::nullopt);
  // The canary (daemon/core/daemon_canary.cc). A reload's or etcd's candidate goes to the
  // canary segment first when the live config has a canary and the candidate a rollout.
  [[nodiscard]] bool tries_on_canary(ChangeKind what, const config::Config& candidate) const;
  Change begin_canary(ChangeKind what, const std::string& trigger, std::string text,
                      const std::string& source, config::Config candidate,
                      std::optional<std::int64_t> etcd_revision);
  // The canary passed: the trial is published to every instance under its number.
  void promote(std::uint64_t generation);
  // A failure at the canary stage: the canary segment takes the good document again (or,
  // with on_failure keep, keeps the generation); the main segment is not touched.
  void on_canary_failed(const VerifyRecord& record, const std::string& good_text,
                        const std::string& good_source);
  // Opens or drops the canary segment as the live config says, and gives it what the main
  // segment holds unless a trial is under way.
  void sync_canary_segment(const std::string& source);
  // Opens the canary segment if the live config has a canary; throws Error.
  void open_canary_segment();
  [[nodiscard]] static PublisherOptions segment_options(const config::Settings& s,
                                                        const std::string& segment);
  // The number the next publish takes: one past the highest either segment holds, so that a
  // number names one document in both.
  [[nodiscard]] std::uint64_t next_generation() const;
  [[nodiscard]] std::string canary_name() const;
  [[nodiscard]] boost::json::value canary_json() const;
  // The marks of bad content in state_dir (daemon/core/daemon_marks.cc): taken at start,
  // written after each failure that marks content.
  void restore_bad_marks();
  void save_bad_marks();
  // At start, the file holds content marked bad: the generation readers see stays, with its
  // own config, if it can; false if the file must be published all the same.
  bool keep_live_over_marked(const std::string& text, const std::string& why);
  // After any publish: the rollout learns what went live (watched, or good at once).
  void tell_rollout(const PendingPublish& published);
  // A verified generation failed: publish the good document again, or only report (keep).
  void on_rollout_passed(std::uint64_t generation);
  void on_rollout_failed(const VerifyRecord& record, const std::string& good_text,
                         const std::string& good_source);
  [[nodiscard]] std::string rollout_failure_line(std::uint64_t failed) const;
  void finish_change(Change& change, ChangeKind what, const std::string& trigger);
  void wait_for_watchdog();
  void publish_initial();
  void start_workers();
  // Publishes pending_ if the writer lock is free, else waits for it (retry_lock_later).
  Change publish_pending();
  void retry_lock_later();
  void on_lock_retry();
  void went_live();
  void fail_start(const std::string& why);
  void abandon_pending(const std::string& why);
  // Follows what readers really see (a publish from outside, with --force); nullopt if it
  // cannot be read.
  std::optional<LiveGeneration> sync_live();
  void apply_settings(const config::Settings& next);

  // The etcd source (daemon/core/daemon_etcd.cc).
  void start_etcd();
  void on_etcd_snapshot(const etcd::Snapshot& snapshot);
  void on_etcd_state(const etcd::SourceState& state);
  // Publishes the last good file if nothing is published yet: etcd is away at start.
  void fall_back_to_last_good(const std::string& why);
  Change reload_with_etcd(config::LoadResult file, const std::string& trigger);
  void keep_last_good();
  // The etcd bookkeeping of the last good file's publish, and of a change whose checks ended.
  void note_cache_adopted(const Change& change);
  void after_etcd_checks(ChangeKind what, const Change& change);
  [[nodiscard]] boost::json::value etcd_json() const;
  // Throws Error naming the first setting `next` changes that needs a restart.
  void refuse_setting_changes(const config::Settings& next) const;
  [[nodiscard]] std::string status() const;

  // The control socket's commands (daemon/core/command_handlers.cc).
  void on_control(const control::Request& request, const PeerCredentials& peer,
                  ControlServer::Reply reply);
  void run_worker_command(supervise::WorkerAction action, const control::Request& request,
                          ControlServer::Reply& reply);
  Change rollback_command(const control::Request& request, const PeerCredentials& peer);
  // A reload request's caller, with its "wait" and "timeout_ms"; throws Failure(bad-request).
  [[nodiscard]] static Caller reload_caller(const control::Request& request,
                                            ControlServer::Reply reply);
  void logs_command(const control::Request& request, ControlServer::Reply& reply);
  [[nodiscard]] std::string change_reply(const std::string& command, const Change& change);
  // What change_reply answers with, as an object; throws control::Failure as it does.
  [[nodiscard]] boost::json::object change_result(const std::string& command, const Change& change);
  [[nodiscard]] boost::json::value status_json();
  [[nodiscard]] boost::json::value pending_json() const;
  [[nodiscard]] boost::json::value checking_json() const;
  [[nodiscard]] boost::json::value rollout_json() const;
  [[nodiscard]] boost::json::value history_json();
  [[nodiscard]] boost::json::value get_json(const std::string& pointer) const;
  [[nodiscard]] static boost::json::value change_json(const Change& change);

  // The HTTP endpoint's view of the daemon (daemon/core/http_handlers.cc).
  [[nodiscard]] std::unique_ptr<http::Server> make_http_server();
  [[nodiscard]] http::MetricsInput metrics_input();
  [[nodiscard]] std::vector<std::string> health_problems() const;

  SignalFd signals_;  // first: the mask must be in place before anything else starts
  std::string config_path_;
  // Always set; replaced by emplace, never assigned: the document's arena moves with it only
  // by construction (daemon/config/load.cc).
  std::optional<config::Config> config_;
  OwnerLock lock_;
  boost::asio::io_context io_;
  // Bound before anything is published: a daemon that cannot listen changes nothing.
  std::unique_ptr<ControlServer> control_;
  // Bound there too, if /confvisor/http asks for it; null otherwise.
  std::unique_ptr<http::Server> http_;
  Publisher publisher_;
  std::uint64_t generation_ = 0;
  // With /confvisor/rollout/canary: the segment its instances read, and its generation.
  std::optional<Publisher> canary_publisher_;
  std::uint64_t canary_generation_ = 0;
  std::optional<Trial> trial_;
  std::string published_text_;           // minified JSON of generation_
  std::string file_text_;                // minified JSON last loaded from config_path_
  config::ConfigOnDisk config_on_disk_;  // what config_path_ holds now, for status
  Change last_change_;
  ReloadCounts reload_counts_;
  RolloutVerify rollout_;
  StateFile bad_marks_;  // state_dir/SEGMENT.bad.json

  ServiceNotifier notifier_;
  boost::asio::posix::stream_descriptor signal_events_;
  boost::asio::steady_timer watchdog_timer_;
  supervise::Supervisor supervisor_;
  bool stopping_ = false;

  std::optional<EtcdFeed> etcd_;          // with /confvisor/source/etcd
  boost::asio::steady_timer etcd_start_;  // bounds the wait for etcd at start

  std::optional<PendingPublish> pending_;  // emplaced, never assigned (it holds a Config)
  boost::asio::steady_timer lock_retry_;
  std::chrono::milliseconds lock_retry_delay_{0};
  std::string lock_wait_reason_;  // WriterLockBusy's message, while pending_ waits
  bool workers_started_ = false;  // the first publish is done and the workers were started
  bool workers_ready_ = false;    // and their first start has come to an end (READY=1)

  std::optional<Checking> checking_;  // emplaced, never assigned (it holds a Config)
  // A reload asked for while checks run: its trigger and callers.
  std::optional<std::string> reload_after_checks_;
  std::vector<Caller> callers_after_checks_;
  std::vector<std::weak_ptr<Waiter>> waiters_;  // `reload --wait`s under way
  int exit_code_ = 0;
};

}  // namespace confvisor::daemon
