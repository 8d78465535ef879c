// The daemon's side of the control socket: each command of daemon/control/protocol.hpp, answered
// from the loop. Commands that change something are refused while the daemon stops.
#include <unistd.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "common/base/log.hpp"
#include "common/base/time_format.hpp"
#include "common/json/nullable.hpp"
#include "common/json/pointer.hpp"
#include "common/json/units.hpp"
#include "daemon/core/daemon.hpp"

namespace confvisor::daemon {

namespace json = boost::json;
using control::Failure;

namespace {

json::array waiting_for_json(const supervise::InstanceStatus& s) {
  json::array names;
  for (const std::string& name : s.waiting_for) names.push_back(json::value(name));
  return names;
}

// What the instance reported: null for a worker without "acks", else its last applied and
// rejected generations since its start (null until it reports).
json::value acks_json(const supervise::InstanceStatus& s) {
  if (!s.acks) return nullptr;
  json::value rejected = nullptr;
  if (s.rejected) {
    rejected = json::object{{"generation", *s.rejected}, {"reason", s.rejected_reason}};
  }
  return json::object{{"applied", s.applied ? json::value(*s.applied) : json::value(nullptr)},
                      {"rejected", std::move(rejected)}};
}

json::object instance_json(const supervise::InstanceStatus& s) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  return json::object{
      {"name", s.name},
      {"instance", s.instance},
      {"pid", s.pid > 0 ? json::value(s.pid) : json::value(nullptr)},
      {"state", supervise::state_name(s.state)},
      {"uptime_ms", duration_cast<milliseconds>(s.uptime).count()},
      {"restarts", s.restarts},
      {"last_exit", text_or_null(s.last_exit)},
      {"status", text_or_null(s.status_text)},
      {"program", text_or_null(s.program)},
      {"cgroup", text_or_null(s.cgroup)},
      {"memory_current", s.memory_current ? json::value(*s.memory_current) : json::value(nullptr)},
      {"waiting_for", waiting_for_json(s)},
      {"acks", acks_json(s)}};
}

json::array instances_json(const std::vector<supervise::InstanceStatus>& statuses) {
  json::array out;
  for (const auto& s : statuses) out.push_back(instance_json(s));
  return out;
}

// The instances a request names: every instance of the worker, or the one numbered. An
// unknown worker or instance is the reply code unknown-worker.
std::vector<std::shared_ptr<supervise::WorkerInstance>> instances_named(
    supervise::Supervisor& supervisor, const std::string& name,
    std::optional<std::uint64_t> instance) {
  try {
    return supervisor.instances_of(
        name, instance ? std::optional<unsigned>(
                             static_cast<unsigned>(std::min<std::uint64_t>(*instance, UINT32_MAX)))
                       : std::nullopt);
  } catch (const Error& e) {
    throw Failure(control::kUnknownWorker, e.what());
  }
}

}  // namespace

// The one dispatcher: a switch on the request's row of control::kCommands (parse_request
// refused every other name). It has no default, so a row without a handler does not compile.
void Daemon::on_control(const control::Request& request, const PeerCredentials& peer,
                        ControlServer::Reply reply) {
  using control::Command;
  try {
    const control::CommandSpec& spec = *request.spec;
    if (spec.effect == control::Effect::changes) {
      if (stopping_)
        throw Failure(control::kStopping,
                      "confvisord is stopping: " + request.command + " refused");
      log_info("control: " + request.command + " requested by " + peer.describe());
    }
    switch (spec.command) {
      case Command::status:
        return reply(control::ok_reply(status_json()));
      case Command::history:
        return reply(control::ok_reply(history_json()));
      case Command::get:
        return reply(control::ok_reply(get_json(request.string_field("pointer"))));
      case Command::reload: {
        std::vector<Caller> callers;
        callers.push_back(reload_caller(request, std::move(reply)));
        return request_reload("confvisorctl, " + peer.describe(), std::move(callers));
      }
      case Command::rollback: {
        const Change change = rollback_command(request, peer);
        if (change.result == Outcome::checking) {
          checking_->callers.push_back(Caller{request.command, std::move(reply)});
          return;
        }
        return reply(change_reply(request.command, change));
      }
      case Command::start:
        return run_worker_command(supervise::WorkerAction::start, request, reply);
      case Command::stop:
        return run_worker_command(supervise::WorkerAction::stop, request, reply);
      case Command::restart:
        return run_worker_command(supervise::WorkerAction::restart, request, reply);
      case Command::logs:
        return logs_command(request, reply);
    }
  } catch (const Failure& f) {
    reply(control::error_reply(f.code, f.what()));
  } catch (const WriterLockBusy& busy) {
    reply(control::error_reply(control::kBusy, busy.what()));
  } catch (const std::exception& e) {
    reply(control::error_reply(control::kFailed, e.what()));
  }
}

// `reload --wait` waits 30 s unless told otherwise, an hour at most: a wait is for an
// operator or a deploy script, and a forgotten one must not hold a connection for ever.
constexpr std::chrono::milliseconds kDefaultWaitTimeout{30'000};
constexpr std::chrono::milliseconds kMaxWaitTimeout{3'600'000};

Daemon::Caller Daemon::reload_caller(const control::Request& request, ControlServer::Reply reply) {
  Caller caller{request.command, std::move(reply), false, kDefaultWaitTimeout};
  caller.wait = request.optional_bool("wait").value_or(false);
  if (const auto ms = request.optional_count("timeout_ms")) {
    if (*ms == 0 || *ms > static_cast<std::uint64_t>(kMaxWaitTimeout.count())) {
      throw Failure(control::kBadRequest, "reload: \"timeout_ms\" must be from 1 to " +
                                              std::to_string(kMaxWaitTimeout.count()));
    }
    caller.wait_timeout = std::chrono::milliseconds(*ms);
  }
  return caller;
}

Change Daemon::rollback_command(const control::Request& request, const PeerCredentials& peer) {
  const std::uint64_t generation = request.count("generation");
  if (checking_) {
    throw Failure(control::kBusy, "the checks of the " +
                                      std::string(change_kind_name(checking_->what)) + " from " +
                                      checking_->source + " run: try the rollback once they end");
  }
  bool kept = false;
  for (const auto& info : publisher_.history()) kept = kept || info.generation == generation;
  if (!kept) {
    throw Failure(control::kUnknownGeneration, "generation " + std::to_string(generation) +
                                                   " is not kept (see confvisorctl history)");
  }
  return rollback(generation, "confvisorctl, " + peer.describe());
}

// A reload's or rollback's reply: its Change, or the Failure that says why it did not go live.
std::string Daemon::change_reply(const std::string& command, const Change& change) {
  return control::ok_reply(change_result(command, change));
}

json::object Daemon::change_result(const std::string& command, const Change& change) {
  if (change.result == Outcome::failed) {
    throw Failure(control::kFailed, "generation " + std::to_string(generation_) +
                                        " stays published: " + change.error);
  }
  if (change.result == Outcome::waiting) {
    throw Failure(control::kBusy, command + " waits: " + change.error + "; generation " +
                                      std::to_string(generation_) +
                                      " stays published until the lock is free");
  }
  json::object result = change_json(change).as_object();
  // Rolling restarts go on after the reply: say which, rather than let "ok" read as done.
  json::array restarting;
  for (const std::string& name : supervisor_.restarting()) restarting.push_back(json::value(name));
  result["restarting"] = std::move(restarting);
  return result;
}

// The last line of a `reload --wait`: the change as it was answered, and how each reporting
// instance came out. "applied" is true only when every one of them applied the generation.
std::string Daemon::wait_reply(const Change& change, std::uint64_t generation,
                               const std::vector<InstanceOutcome>& outcomes) {
  json::array instances;
  bool all_applied = true;
  for (const InstanceOutcome& o : outcomes) {
    all_applied = all_applied && o.outcome == WaitOutcome::applied;
    instances.push_back(json::object{
        {"name", o.worker},
        {"instance", o.instance},
        {"outcome", wait_outcome_name(o.outcome)},
        {"generation", o.generation > 0 ? json::value(o.generation) : json::value(nullptr)},
        {"detail", text_or_null(o.detail)}});
  }
  json::array not_reporting;
  for (const config::WorkerSpec& spec : config_->settings.workers) {
    if (!spec.acks) not_reporting.push_back(json::value(spec.name));
  }
  // A generation that failed its verify window: what failed it, and what was published again.
  json::value rollout = nullptr;
  if (const auto record = rollout_.record(generation);
      record && record->verdict == Verdict::failed && record->failure) {
    rollout = json::object{
        {"failure", record->failure->describe()},
        {"on_failure", config::rollout_action_name(record->settings.on_failure)},
        {"rolled_back_as",
         record->rolled_back_as ? json::value(*record->rolled_back_as) : json::value(nullptr)}};
  }
  json::object result = change_result("reload", change);
  result["wait"] = json::object{{"generation", generation},
                                {"applied", all_applied && rollout.is_null()},
                                {"instances", std::move(instances)},
                                {"not_reporting", std::move(not_reporting)},
                                {"rollout", std::move(rollout)}};
  return control::ok_reply(std::move(result));
}

// `reply` is taken only once the command has begun: until then, a Failure thrown here is
// answered by on_control with it.
void Daemon::run_worker_command(supervise::WorkerAction action, const control::Request& request,
                                ControlServer::Reply& reply) {
  const std::string name = request.string_field("worker");
  const auto instance = request.optional_count("instance");
  auto targets = instances_named(supervisor_, name, instance);
  const std::string what = request.command;
  supervisor_.run(std::make_unique<supervise::WorkerCommand>(
      action, std::move(targets),
      [reply = std::move(reply), what](bool ok, std::vector<supervise::InstanceStatus> done) {
        json::object result{{"instances", instances_json(done)}};
        if (ok) return reply(control::ok_reply(std::move(result)));
        std::string why;
        for (const auto& s : done) {
          why += (why.empty() ? "" : "\n") + s.name + ":" + std::to_string(s.instance) + " is " +
                 supervise::state_name(s.state);
          for (std::size_t n = 0; n < s.waiting_for.size(); ++n)
            why += (n == 0 ? " for " : ", ") + s.waiting_for[n];
          if (!s.last_exit.empty()) why += " (last exit: " + s.last_exit + ")";
        }
        reply(control::error_reply(control::kFailed, what + " did not complete: " + why));
      }));
}

namespace {

json::object line_json(const supervise::InstanceOutput& output, const supervise::OutputLine& line) {
  return json::object{{"worker", output.worker()},
                      {"instance", output.instance()},
                      {"seq", line.seq},
                      {"time", format_utc(line.time)},
                      {"stream", supervise::stream_name(line.stream)},
                      {"text", line.text},
                      {"cut", line.cut}};
}

// The last `count` lines (all without a count) of the instances' outputs, merged in the order
// they came.
json::array recent_lines(const std::vector<std::shared_ptr<supervise::WorkerInstance>>& targets,
                         std::optional<std::uint64_t> count) {
  std::vector<std::pair<const supervise::InstanceOutput*, const supervise::OutputLine*>> lines;
  for (const auto& target : targets) {
    for (const supervise::OutputLine& line : target->output()->recent()) {
      lines.emplace_back(target->output().get(), &line);
    }
  }
  std::sort(lines.begin(), lines.end(),
            [](const auto& a, const auto& b) { return a.second->seq < b.second->seq; });
  const std::size_t skip =
      count && *count < lines.size() ? lines.size() - static_cast<std::size_t>(*count) : 0;
  json::array out;
  for (std::size_t i = skip; i < lines.size(); ++i) {
    out.push_back(line_json(*lines[i].first, *lines[i].second));
  }
  return out;
}

}  // namespace

// The recent lines of a worker's instances, then with "follow" every new one as it comes,
// until the client hangs up. A follower follows the instances there are when it begins,
// through their restarts (each start and exit is a line of stream "event").
void Daemon::logs_command(const control::Request& request, ControlServer::Reply& reply) {
  const std::string name = request.string_field("worker");
  const auto instance = request.optional_count("instance");
  const auto count = request.optional_count("lines");
  const bool follow = request.optional_bool("follow").value_or(false);
  auto targets = instances_named(supervisor_, name, instance);
  json::object result{{"lines", recent_lines(targets, count)}};
  if (!follow) return reply(control::ok_reply(std::move(result)));
  const ControlServer::ReplyStream stream = reply.stream(control::stream_reply(std::move(result)));
  if (!stream.open()) return;
  for (const auto& target : targets) {
    const std::shared_ptr<supervise::InstanceOutput>& output = target->output();
    stream.keep(output->follow([stream, source = output.get()](const supervise::OutputLine& line) {
      stream.push(
          control::stream_reply(json::object{{"lines", json::array{line_json(*source, line)}}}));
    }));
  }
}

json::value Daemon::change_json(const Change& change) {
  return json::object{{"result", outcome_name(change.result)},
                      {"generation", change.generation},
                      {"source", change.source},
                      {"error", text_or_null(change.error)},
                      {"trigger", change.trigger},
                      {"canary", change.canary},
                      {"at", change.at == std::chrono::system_clock::time_point{}
                                 ? json::value(nullptr)
                                 : json::value(format_utc(change.at))}};
}

// What readers really see, read without the writer lock: status answers whoever holds it.
json::value Daemon::status_json() {
  json::value source = nullptr, published_at = nullptr, lock_holder = nullptr;
  if (const std::optional<LiveGeneration> live = sync_live()) {
    source = json::value(live->source);
    published_at = json::value(format_utc(live->published_at));
    if (live->writer_lock_holder > 0) lock_holder = json::value(live->writer_lock_holder);
  }
  // The file as it is now, not as it was at the last reload: an edit waiting for a reload, a
  // broken or a deleted file are what an operator asking for status needs to know.
  const config::ConfigOnDisk::Reading& on_disk =
      config_on_disk_.read(config_path_, config_->settings.max_config_size);
  json::object out{{"generation", generation_},
                   {"source", source},
                   {"published_at", published_at},
                   {"segment", config_->settings.segment},
                   {"config", config_path_},
                   {"live_matches_file", on_disk.text && *on_disk.text == published_text_},
                   {"file_changed", !on_disk.text || *on_disk.text != file_text_},
                   {"file_error", text_or_null(on_disk.error)},
                   {"pid", ::getpid()},
                   {"stopping", stopping_},
                   {"last_reload", change_json(last_change_)},
                   {"process_tracking", supervisor_.tracking()},
                   {"http", http_ ? json::value(http_->address()) : json::value(nullptr)},
                   {"writer_lock_holder", lock_holder},
                   {"waiting_publish", pending_json()},
                   {"etcd", etcd_json()},
                   {"checking", checking_json()},
                   {"rollout", rollout_json()},
                   {"workers", instances_json(supervisor_.status())}};
  return out;
}

// The section's "rollout" settings (null without them) and where verification stands.
json::value Daemon::rollout_json() const {
  json::object out = rollout_.status_json().as_object();
  const std::optional<config::RolloutSettings>& settings = config_->settings.rollout;
  out["verify"] = settings ? json::value(format_duration(settings->verify)) : json::value(nullptr);
  out["on_failure"] = settings ? json::value(config::rollout_action_name(settings->on_failure))
                               : json::value(nullptr);
  out["canary"] = canary_json();
  return out;
}

json::value Daemon::pending_json() const {
  if (!pending_) return nullptr;
  return json::object{{"what", change_kind_name(pending_->what)},
                      {"source", pending_->source},
                      {"trigger", pending_->trigger},
                      {"waiting_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - pending_->since)
                                         .count()},
                      {"reason", lock_wait_reason_}};
}

// The candidate whose workers' checks run, or null.
json::value Daemon::checking_json() const {
  if (!checking_) return nullptr;
  json::array running;
  for (const std::string& name : checking_->run->running()) running.push_back(json::value(name));
  return json::object{{"what", change_kind_name(checking_->what)},
                      {"source", checking_->source},
                      {"trigger", checking_->trigger},
                      {"checking_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - checking_->since)
                                          .count()},
                      {"running", std::move(running)}};
}

json::value Daemon::history_json() {
  sync_live();
  json::array out;
  for (const GenerationInfo& info : publisher_.history()) {
    out.push_back(json::object{{"generation", info.generation},
                               {"published_at", format_utc(info.published_at)},
                               {"size", info.size},
                               {"source", info.source},
                               {"live", info.generation == generation_},
                               {"rollout", rollout_.history_json(info.generation)}});
  }
  return out;
}

json::value Daemon::get_json(const std::string& pointer) const {
  json::error_code ec;  // find_pointer throws without one
  const json::value* v = config_->document.find_pointer(pointer, ec);
  if (v == nullptr) {
    if (pointer_is_malformed(config_->document, pointer)) {
      throw Failure(control::kBadRequest, pointer_miss(config_->document, pointer));
    }
    throw Failure(control::kFailed, pointer_miss(config_->document, pointer) + " in generation " +
                                        std::to_string(generation_));
  }
  return json::object{{"generation", generation_}, {"pointer", pointer}, {"value", *v}};
}

}  // namespace confvisor::daemon
