#include "daemon/supervise/check_run.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <optional>

#include "common/base/error.hpp"
#include "common/base/log.hpp"
#include "common/json/pointer.hpp"
#include "common/json/units.hpp"
#include "daemon/config/command_path.hpp"
#include "daemon/supervise/candidate_file.hpp"
#include "daemon/supervise/cgroup.hpp"
#include "daemon/supervise/check_host.hpp"
#include "daemon/supervise/output_relay.hpp"
#include "daemon/supervise/spawn.hpp"
#include "daemon/supervise/worker_instance.hpp"

namespace confvisor::supervise {

namespace {

constexpr std::string_view kFilePlaceholder = "{file}";

// Every "{file}" of every argument replaced by `path`.
std::vector<std::string> with_file(std::vector<std::string> argv, const std::string& path) {
  for (std::string& arg : argv) {
    for (std::size_t at = arg.find(kFilePlaceholder); at != std::string::npos;
         at = arg.find(kFilePlaceholder, at + path.size())) {
      arg.replace(at, kFilePlaceholder.size(), path);
    }
  }
  return argv;
}

std::string joined(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& arg : argv) line += (line.empty() ? "" : " ") + arg;
  return line;
}

// What a drained pipe can give at most when its writer goes on writing: the loop is never
// held by a check that floods its output after its exit.
constexpr std::size_t kMaxDrain = 1u << 20;

}  // namespace

const char* check_outcome_name(CheckOutcome outcome) {
  switch (outcome) {
    case CheckOutcome::passed:
      return "passed";
    case CheckOutcome::refused:
      return "refused";
  }
  return "?";
}

// One worker's check: its process, its output pipe and its timer. Shared, so that the loop's
// callbacks can tell that the run is gone (they hold it weakly).
struct CheckRun::Check : std::enable_shared_from_this<Check> {
  Check(boost::asio::io_context& io, std::size_t index, const config::WorkerSpec& spec)
      : index(index), worker(spec.name), timeout(spec.check_timeout), pipe(io), timer(io) {}

  std::size_t index;  // in /confvisor/workers
  std::string worker;
  config::Duration timeout;
  pid_t pid = -1;
  std::optional<Cgroup> cgroup;
  boost::asio::posix::stream_descriptor pipe;
  boost::asio::steady_timer timer;
  std::array<char, 4096> buffer{};
  std::string output;
  std::size_t dropped = 0;  // output bytes past kMaxCheckOutput
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point ended_at = started;
  bool running = false;
  std::optional<std::string> failure;  // how it failed, once it ended; unset: it passed

  void keep(std::string_view data) {
    const std::size_t room = kMaxCheckOutput - std::min(kMaxCheckOutput, output.size());
    output.append(data.substr(0, room));
    dropped += data.size() - std::min(room, data.size());
  }

  void read_more() {
    pipe.async_read_some(
        boost::asio::buffer(buffer),
        [weak = weak_from_this()](const boost::system::error_code& ec, std::size_t n) {
          auto self = weak.lock();
          if (!self || ec || !self->running) return;
          self->keep(std::string_view(self->buffer.data(), n));
          self->read_more();
        });
  }

  // What is still in the pipe when the process has ended, without waiting for more.
  void drain() {
    if (!pipe.is_open()) return;
    for (std::size_t total = 0; total < kMaxDrain;) {
      const ssize_t n = ::read(pipe.native_handle(), buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      keep(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
      total += static_cast<std::size_t>(n);
    }
  }

  // Ends whatever of the check is still alive: its cgroup, else its process group (the main
  // process's pid: no new process gets that number while the group exists).
  void kill_all() const {
    if (cgroup) {
      try {
        cgroup->kill();
      } catch (const Error& e) {
        log_warning("check of " + worker + ": " + e.what());
      }
    }
    if (pid > 0) ::kill(-pid, SIGKILL);
  }

  void end(std::optional<std::string> why) {
    running = false;
    ended_at = std::chrono::steady_clock::now();
    timer.cancel();
    drain();
    kill_all();
    boost::system::error_code ignored;
    pipe.close(ignored);
    failure = std::move(why);
  }
};

bool CheckRun::needed(const config::Config& candidate) {
  for (const config::WorkerSpec& spec : candidate.settings.workers) {
    if (!spec.check.empty()) return true;
  }
  return false;
}

CheckRun::CheckRun(CheckHost& host, const config::Config& candidate, const std::string& text,
                   Done done)
    : host_(host),
      file_(candidate.path),
      files_(std::make_unique<CandidateFiles>()),
      done_(std::move(done)) {
  const auto& workers = candidate.settings.workers;
  for (std::size_t i = 0; i < workers.size(); ++i) {
    if (!workers[i].check.empty()) start(i, workers[i], text);
  }
  // Even when every check failed to start, `done` comes from the loop, as the caller expects.
  boost::asio::post(host_.io(), [this, alive = std::weak_ptr<int>(alive_)] {
    if (alive.lock()) ended();
  });
}

CheckRun::~CheckRun() {
  for (const auto& check : checks_) {
    if (!check->running) continue;
    log_info("check of " + check->worker + ": stopped, pid " + std::to_string(check->pid) +
             " killed");
    host_.forget_child(check->pid);  // reaped later as any unknown child
    check->end("stopped");
  }
}

std::vector<std::string> CheckRun::running() const {
  std::vector<std::string> names;
  for (const auto& check : checks_) {
    if (check->running) names.push_back(check->worker);
  }
  return names;
}

void CheckRun::start(std::size_t index, const config::WorkerSpec& spec, const std::string& text) {
  auto check = std::make_shared<Check>(host_.io(), index, spec);
  checks_.push_back(check);
  config::WorkerSpec as_check = spec;
  try {
    const config::Credentials as = config::credentials_of(spec);
    const auto owner = as.own ? std::nullopt : std::optional(std::pair(as.uid, as.gid));
    as_check.command = with_file(spec.check, files_->write(spec.name, text, owner));
    check->cgroup = host_.check_cgroup(spec.name);
    UniqueFd procs;
    if (check->cgroup) {
      check->cgroup = Cgroup::create(check->cgroup->path());
      procs = check->cgroup->open_procs();
    }
    SpawnRequest request;
    request.spec = &as_check;
    request.cgroup_procs = procs.get();
    if (check->cgroup) request.cgroup = check->cgroup->path();
    request.check = true;
    Spawned spawned = spawn_worker(request);
    check->pid = spawned.pid;
    check->pipe.assign(spawned.out.release());
    check->pipe.non_blocking(true);
  } catch (const std::exception& e) {
    check->failure = std::string("unable to run its check: ") + e.what();
    log_warning("check of " + spec.name + ": " + *check->failure);
    return;
  }
  check->running = true;
  log_info("check of " + spec.name + ": started pid " + std::to_string(check->pid) + ": " +
           joined(as_check.command));
  host_.watch_child(check->pid, [this, weak = std::weak_ptr<Check>(check)](int status) {
    auto self = weak.lock();
    if (!self || !self->running) return;
    const bool passed = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    self->end(passed
                  ? std::nullopt
                  : std::optional<std::string>("check ended with " + describe_wait_status(status)));
    ended();
  });
  check->read_more();
  check->timer.expires_after(check->timeout);
  check->timer.async_wait(
      [this, weak = std::weak_ptr<Check>(check)](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (ec || !self || !self->running) return;
        // Its main process is reaped later, as any unknown child: the run does not wait for a
        // process that SIGKILL may take a moment to end.
        host_.forget_child(self->pid);
        self->end("check timed out after " + format_duration(self->timeout) + " (check_timeout)");
        ended();
      });
}

// After each check's end: once none runs, the report.
void CheckRun::ended() {
  if (finished_ || !running().empty()) return;
  finished_ = true;
  CheckReport report;
  report.checks = checks_.size();
  for (const auto& check : checks_) {
    if (!check->failure) {
      log_info("check of " + check->worker + ": passed in " +
               format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(
                   check->ended_at - check->started)));
      continue;
    }
    report.outcome = CheckOutcome::refused;
    const std::string place =
        file_ + ": " + child_pointer(child_pointer("/confvisor/workers", check->index), "check") +
        ": worker \"" + check->worker + "\"";
    report.errors.add(place + ": " + *check->failure);
    log_warning("check of " + check->worker + ": " + *check->failure);
    std::size_t lines = 0;
    std::string_view rest = check->output;
    while (!rest.empty() && lines < kMaxCheckOutputLines) {
      const std::size_t end = std::min(rest.find('\n'), rest.size());
      report.errors.add(place + " check output: " + escape_output(rest.substr(0, end)));
      rest.remove_prefix(std::min(end + 1, rest.size()));
      ++lines;
    }
    const std::size_t more = rest.size() + check->dropped;
    if (more > 0) {
      report.errors.add(place + " check output: ... (" + std::to_string(more) +
                        " more byte(s) not shown)");
    }
  }
  // From a handler of its own: `done` may destroy this run, which must not happen inside
  // one of the run's own callbacks.
  boost::asio::post(host_.io(), [alive = std::weak_ptr<int>(alive_), done = std::move(done_),
                                 report = std::move(report)]() mutable {
    if (alive.lock()) done(std::move(report));
  });
}

}  // namespace confvisor::supervise
