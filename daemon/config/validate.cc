// The meaning of a config document: the "confvisor" section read into Settings, with every
// mistake reported (not just the first) as "FILE: /json/pointer: message".
//
// Each object of the section is a table of fields below: key, required or not, and where its
// value goes through which reader. The tables are the one list of known keys: unknown keys,
// suggestions and the schema test all come from them.
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <cstdlib>

#include "common/base/error.hpp"
#include "common/json/units.hpp"
#include "common/os/accounts.hpp"
#include "common/os/regular_file.hpp"
#include "common/os/signal_names.hpp"
#include "common/segment/name.hpp"
#include "common/segment/socket_dir.hpp"
#include "daemon/config/command_path.hpp"
#include "daemon/config/credentials.hpp"
#include "daemon/config/json_reader.hpp"
#include "daemon/config/model.hpp"
#include "daemon/config/origins.hpp"
#include "daemon/config/suggest.hpp"
#include "daemon/config/variables.hpp"
#include "daemon/etcd/endpoint.hpp"

namespace confvisor::config {
namespace {

using Value = boost::json::value;

// ---- Values of the config's own kinds.

std::uint64_t size_of(const Value& v) {
  if (v.is_string()) return parse_size(v.get_string());
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
  if (v.is_uint64()) return v.get_uint64();
  expected(kSizeForms, v);
}

Duration duration_of(const Value& v) {
  if (!v.is_string()) expected(kDurationForms, v);
  return parse_duration(v.get_string());
}

Duration positive_duration_of(const Value& v) {
  const Duration duration = duration_of(v);
  if (duration.count() == 0) expected("a duration longer than 0", v);
  return duration;
}

// "0640" or "640": permission bits only (no file type, no setuid/setgid/sticky bits, which
// make no sense for a shm object or a umask). A string, because JSON numbers are decimal.
mode_t octal_mode_of(const Value& v) {
  constexpr std::string_view kForm = R"(an octal string of permission bits like "0640")";
  if (!v.is_string()) expected(kForm, v);
  std::string_view text = v.get_string();
  if (text.size() == 4 && text.front() == '0') text.remove_prefix(1);
  const bool octal = text.size() == 3 && std::all_of(text.begin(), text.end(),
                                                     [](char c) { return c >= '0' && c <= '7'; });
  if (!octal) expected(kForm, v);
  return static_cast<mode_t>(((text[0] - '0') << 6) | ((text[1] - '0') << 3) | (text[2] - '0'));
}

int signal_of(const Value& v) {
  constexpr std::string_view kForm =
      R"(a signal name like "SIGTERM" or "TERM", or a number from 1 to 64)";
  if (v.is_string()) {
    if (const auto number = signal_number(v.get_string())) return *number;
  } else if (v.is_int64() && v.get_int64() >= 1 && v.get_int64() <= kMaxSignal) {
    return static_cast<int>(v.get_int64());
  }
  expected(kForm, v);
}

std::string absolute_path_of(const Value& v) {
  std::string path = os_string(v);
  if (!path.starts_with('/')) expected("an absolute path", v);
  return path;
}

std::string user_of(const Value& v) {
  std::string name = os_string(v);
  if (!find_user(name)) throw Error("no user " + describe_value(v) + " on this machine");
  return name;
}

std::string group_of(const Value& v) {
  std::string name = os_string(v);
  if (!find_group(name)) throw Error("no group " + describe_value(v) + " on this machine");
  return name;
}

// ---- A worker.

constexpr std::array kRestartPolicies{
    Choice<RestartPolicy>{"always", RestartPolicy::always},
    Choice<RestartPolicy>{"on-failure", RestartPolicy::on_failure},
    Choice<RestartPolicy>{"never", RestartPolicy::never},
};
constexpr std::array kReloadActions{
    Choice<ReloadAction>{"signal", ReloadAction::signal},
    Choice<ReloadAction>{"restart", ReloadAction::restart},
    Choice<ReloadAction>{"none", ReloadAction::none},
};
constexpr std::array kReadiness{
    Choice<Readiness>{"started", Readiness::started},
    Choice<Readiness>{"notify", Readiness::notify},
};
constexpr std::array kFatalActions{
    Choice<FatalAction>{"stay", FatalAction::stay},
    Choice<FatalAction>{"exit", FatalAction::exit},
};

// The variables the daemon gives every worker itself (DESIGN.md, "Supervision").
constexpr std::array<std::string_view, 3> kReservedEnv{"CONFVISOR_SEGMENT", "CONFVISOR_WORKER",
                                                       "CONFVISOR_INSTANCE"};

std::string worker_name_of(const Value& v) {
  std::string name = string_of(v);
  const bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
  if (!ok) expected("a name of A-Z a-z 0-9 _ . - characters", v);
  return name;
}

// supervisord's command is one string that it splits; here it is the argv itself, so a
// string gets the array it most likely means: its words, or a shell running it when it uses
// the shell's syntax.
[[noreturn]] void command_string(const Value& v) {
  const std::string_view line = v.get_string();
  std::string argv = "[";
  if (line.find_first_of("'\"\\$|&;<>()*?~`!{}[]#") != std::string_view::npos) {
    argv += "\"/bin/sh\", \"-c\", " + quote_text(line, 200);
  } else {
    for (std::size_t begin = line.find_first_not_of(" \t"); begin != std::string_view::npos;) {
      const std::size_t end = std::min(line.find_first_of(" \t", begin), line.size());
      argv += (argv.size() > 1 ? ", " : "") + quote_text(line.substr(begin, end - begin), 200);
      begin = line.find_first_not_of(" \t", end);
    }
  }
  throw Error(
      "expected an array of strings (the program and its arguments, run without a "
      "shell), got " +
      describe_value(v) + ": write " + argv + "]");
}

// A string of a worker's definition with its ${VAR} references expanded
// (daemon/config/variables.hpp).
std::string expanded_string(const Value& v) {
  return expand_variables(os_string(v));
}

std::vector<std::string> command_of(const Value& v, const Place& at) {
  if (v.is_string()) command_string(v);
  const boost::json::array& argv = array_of(v);
  if (argv.empty()) expected("a non-empty array of strings (the program and its arguments)", v);
  std::vector<std::string> command;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    at.child(i).attempt([&] {
      std::string argument = expanded_string(argv[i]);
      if (argv[i].get_string().empty()) expected("a non-empty string", argv[i]);
      if (argument.empty()) throw Error(describe_value(argv[i]) + " expands to an empty string");
      command.push_back(std::move(argument));
    });
  }
  return command;
}

void check_env_name(std::string_view name) {
  if (name.empty() || name.find_first_of(std::string_view("=\0", 2)) != std::string_view::npos) {
    throw Error("invalid variable name " + quote_text(name) +
                ": expected a non-empty name without '=' or NUL");
  }
  if (std::find(kReservedEnv.begin(), kReservedEnv.end(), name) != kReservedEnv.end()) {
    throw Error(quote_text(name) + " is set by confvisord for every worker");
  }
}

std::map<std::string, std::string> env_of(const Value& v, const Place& at) {
  std::map<std::string, std::string> env;
  for (const auto& member : object_of(v)) {
    at.child(member.key()).attempt([&] {
      check_env_name(member.key());
      env.emplace(member.key(), expanded_string(member.value()));
    });
  }
  return env;
}

// The names only; their values are copied in by pass_environment once the worker is read.
std::vector<std::string> pass_env_of(const Value& v, const Place& at) {
  std::vector<std::string> names;
  const boost::json::array& list = array_of(v);
  for (std::size_t i = 0; i < list.size(); ++i) {
    at.child(i).attempt([&] {
      std::string name = os_string(list[i]);
      check_env_name(name);
      names.push_back(std::move(name));
    });
  }
  return names;
}

// Copies the variables named by pass_env from the daemon's environment into the worker's,
// where its env does not set them: env wins. A variable the daemon does not have is skipped,
// as systemd's PassEnvironment= does; a worker that cannot run without it says
// "${NAME}" in its env or command instead, which is an error when NAME is not set.
void pass_environment(WorkerSpec& worker) {
  for (const std::string& name : worker.pass_env) {
    if (const char* value = std::getenv(name.c_str())) worker.env.emplace(name, value);
  }
}

std::string working_directory_of(const Value& v) {
  std::string path = expanded_string(v);
  if (!path.starts_with('/')) {
    if (path == v.get_string()) expected("an absolute path", v);
    throw Error(describe_value(v) + " expands to " + quote_text(path) + ", not an absolute path");
  }
  return path;
}

std::vector<int> exit_codes_of(const Value& v, const Place& at) {
  std::vector<int> codes;
  const boost::json::array& list = array_of(v);
  for (std::size_t i = 0; i < list.size(); ++i) {
    at.child(i).attempt([&] { codes.push_back(static_cast<int>(integer_in(list[i], 0, 255))); });
  }
  return codes;
}

std::optional<Duration> retry_after_of(const Value& v) {
  if (v.is_null()) return std::nullopt;
  return positive_duration_of(v);
}

// "initial": "0ms" means restart at once, every time (doubling 0 stays 0); the restart
// limit still stops a crash loop.
constexpr std::array<Field<Backoff>, 2> kBackoffFields{{
    {"initial", kOptional, set<&Backoff::initial, duration_of>},
    {"max", kOptional, set<&Backoff::max, duration_of>},
}};

constexpr std::array<Field<RestartLimit>, 2> kRestartLimitFields{{
    {"count", kOptional, set<&RestartLimit::count, count_in<1, 1'000'000>>},
    {"period", kOptional, set<&RestartLimit::period, positive_duration_of>},
}};

Backoff backoff_of(const Value& v, const Place& at) {
  const std::size_t errors_before = at.errors.size();
  const auto backoff = object_with<Backoff, kBackoffFields>(v, at);
  // Only values that were read are compared: a bad one was left at its default.
  if (at.errors.size() == errors_before && backoff.initial > backoff.max) {
    at.error("initial (" + format_duration(backoff.initial) + ") is longer than max (" +
             format_duration(backoff.max) + ")");
  }
  return backoff;
}

// The names of "after", one per entry of the array, so that the n-th name is at /after/n. An
// entry that is not a name is reported here and kept as "", which the order checks skip.
std::vector<std::string> after_of(const Value& v, const Place& at) {
  const boost::json::array& list = array_of(v);
  std::vector<std::string> names(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    at.child(i).attempt([&] {
      std::string name = worker_name_of(list[i]);
      const auto first =
          std::find(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(i), name);
      if (first != names.begin() + static_cast<std::ptrdiff_t>(i)) {
        throw Error(quote_text(name) + " is listed twice: " +
                    at.child(static_cast<std::size_t>(first - names.begin())).pointer +
                    " has it too");
      }
      names[i] = std::move(name);
    });
  }
  return names;
}

std::optional<Duration> watchdog_of(const Value& v) {
  return positive_duration_of(v);
}

// ---- A worker's cgroup limits. Only their values are checked here; whether this host can
// apply them is the supervisor's to say (refuse_unavailable_limits in
// daemon/supervise/process_tracking.hpp).

std::optional<std::uint64_t> memory_max_of(const Value& v) {
  const std::uint64_t size = size_of(v);
  if (size < 4096) expected("a size of at least 4KiB", v);
  return size;
}

constexpr std::array<Field<Limits>, 3> kLimitsFields{{
    {"memory_max", kOptional, set<&Limits::memory_max, memory_max_of>},
    {"tasks_max", kOptional, set<&Limits::tasks_max, count_in<1, 4'194'304>>},
    {"cpu_weight", kOptional, set<&Limits::cpu_weight, count_in<1, 10'000>>},
}};

Limits limits_of(const Value& v, const Place& at) {
  return object_with<Limits, kLimitsFields>(v, at);
}

// ---- What a worker's output leaves behind ("log").

std::size_t log_bytes_of(const Value& v) {
  constexpr std::uint64_t kMaximum = 64u << 20;
  const std::uint64_t size = size_of(v);
  if (size > kMaximum) expected("a size of at most 64MiB", v);
  return static_cast<std::size_t>(size);
}

std::optional<std::string> log_file_of(const Value& v) {
  if (v.is_null()) return std::nullopt;
  return absolute_path_of(v);
}

std::optional<std::uint64_t> max_size_of(const Value& v) {
  if (v.is_null()) return std::nullopt;
  const std::uint64_t size = size_of(v);
  if (size < 4096) expected("a size of at least 4KiB, or null (never rotated by size)", v);
  return size;
}

constexpr std::array<Field<LogSettings>, 5> kLogFields{{
    {"lines", kOptional, set<&LogSettings::lines, count_in<0, 1'000'000>>},
    {"bytes", kOptional, set<&LogSettings::bytes, log_bytes_of>},
    {"file", kOptional, set<&LogSettings::file, log_file_of>},
    {"max_size", kOptional, set<&LogSettings::max_size, max_size_of>},
    {"keep", kOptional, set<&LogSettings::keep, count_in<0, 1000>>},
}};

LogSettings log_of(const Value& v, const Place& at) {
  return object_with<LogSettings, kLogFields>(v, at);
}

// The log file can be written: it is a regular file or missing, in a directory that exists.
// A FIFO, a device or a directory is refused here as the daemon refuses to open one (its
// writes could block on whoever reads it); the daemon checks again at every open.
void check_log_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) {
      throw Error(quote_text(path) + " is " + std::string(file_type_name(st.st_mode)) +
                  ", not a regular file");
    }
    return;
  }
  if (errno != ENOENT) throw_sys("stat the log file " + path);
  const std::string dir = path.substr(0, std::max<std::size_t>(path.rfind('/'), 1));
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw Error("the directory of " + quote_text(path) + " (" + dir +
                ") does not exist: create it, or log elsewhere");
  }
}

// A check has the same form as a command, and is run with the worker's own argv rules.
std::vector<std::string> check_of(const Value& v, const Place& at) {
  return command_of(v, at);
}

// Long enough for a program that parses a large config, short enough that a hung check
// never holds a reload for long.
Duration check_timeout_of(const Value& v) {
  const Duration timeout = positive_duration_of(v);
  if (timeout > std::chrono::minutes(10)) expected("a duration of at most 10min", v);
  return timeout;
}

bool boolean_of(const Value& v) {
  if (!v.is_bool()) expected("true or false", v);
  return v.get_bool();
}

constexpr std::array<Field<WorkerSpec>, 28> kWorkerFields{{
    {"name", kRequired, set<&WorkerSpec::name, worker_name_of>},
    {"command", kRequired, set_nested<&WorkerSpec::command, command_of>},
    {"instances", kOptional, set<&WorkerSpec::instances, count_in<1, 1000>>},
    {"env", kOptional, set_nested<&WorkerSpec::env, env_of>},
    {"pass_env", kOptional, set_nested<&WorkerSpec::pass_env, pass_env_of>},
    {"cwd", kOptional, set<&WorkerSpec::cwd, working_directory_of>},
    {"user", kOptional, set<&WorkerSpec::user, user_of>},
    {"group", kOptional, set<&WorkerSpec::group, group_of>},
    {"umask", kOptional, set<&WorkerSpec::umask, octal_mode_of>},
    {"restart", kOptional, set<&WorkerSpec::restart, one_of<kRestartPolicies>>},
    {"success_exit_codes", kOptional, set_nested<&WorkerSpec::success_exit_codes, exit_codes_of>},
    {"backoff", kOptional, set_nested<&WorkerSpec::backoff, backoff_of>},
    {"start_window", kOptional, set<&WorkerSpec::start_window, duration_of>},
    {"restart_limit", kOptional,
     set_nested<&WorkerSpec::restart_limit, object_with<RestartLimit, kRestartLimitFields>>},
    {"fatal_retry_after", kOptional, set<&WorkerSpec::fatal_retry_after, retry_after_of>},
    {"on_fatal", kOptional, set<&WorkerSpec::on_fatal, one_of<kFatalActions>>},
    {"stop_signal", kOptional, set<&WorkerSpec::stop_signal, signal_of>},
    {"stop_timeout", kOptional, set<&WorkerSpec::stop_timeout, duration_of>},
    {"on_reload", kOptional, set<&WorkerSpec::on_reload, one_of<kReloadActions>>},
    {"reload_signal", kOptional, set<&WorkerSpec::reload_signal, signal_of>},
    {"ready", kOptional, set<&WorkerSpec::ready, one_of<kReadiness>>},
    {"after", kOptional, set_nested<&WorkerSpec::after, after_of>},
    {"watchdog", kOptional, set<&WorkerSpec::watchdog, watchdog_of>},
    {"limits", kOptional, set_nested<&WorkerSpec::limits, limits_of>},
    {"log", kOptional, set_nested<&WorkerSpec::log, log_of>},
    {"check", kOptional, set_nested<&WorkerSpec::check, check_of>},
    {"check_timeout", kOptional, set<&WorkerSpec::check_timeout, check_timeout_of>},
    {"acks", kOptional, set<&WorkerSpec::acks, boolean_of>},
}};

// A worker that reads well but can never start is refused too: its program must be found
// and executable, its cwd a directory it may enter, both as the user it runs as (see
// daemon/config/command_path.hpp for how). Checked again before every start, since files change.
void check_can_start(const WorkerSpec& worker, const Place& at) {
  Credentials as;
  at.attempt([&] { as = credentials_of(worker); });
  at.child("command").child(std::size_t{0}).attempt([&] {
    (void)resolve_program(worker, search_path_of(worker), as);
  });
  at.child("cwd").attempt([&] { check_working_directory(worker, as); });
  if (worker.log.file)
    at.child("log").child("file").attempt([&] { check_log_file(*worker.log.file); });
  if (worker.check.empty()) return;
  WorkerSpec check = worker;
  check.command = worker.check;
  at.child("check").child(std::size_t{0}).attempt([&] {
    (void)resolve_program(check, search_path_of(check), as);
  });
}

// ---- The start order: "after" names workers of the list, not the worker itself, and
// makes no cycle. Each error is at the entry of "after" that is wrong.

// The workers that were read, each with its index in /confvisor/workers.
struct ReadWorker {
  std::size_t index;
  const WorkerSpec* spec;
};

std::string unknown_worker_message(const std::string& name, const std::vector<ReadWorker>& all) {
  std::vector<std::string_view> names;
  for (const ReadWorker& w : all) names.push_back(w.spec->name);
  std::string message = "no worker named " + quote_text(name) + " in /confvisor/workers";
  if (const auto near = nearest_word(name, names)) {
    return message + " (did you mean " + quote_text(*near) + "?)";
  }
  std::string list;
  for (std::string_view n : names) list += (list.empty() ? "" : ", ") + std::string(n);
  return message + " (workers: " + list + ")";
}

// Refuses a cycle once, at the entry that closes it, naming every worker on it. An iterative
// depth-first walk: a list of thousands of workers must not exhaust the stack.
void check_order_cycles(const std::vector<ReadWorker>& all,
                        const std::map<std::string, std::size_t>& position, const Place& at) {
  enum class Mark { unseen, on_path, done };
  std::vector<Mark> mark(all.size(), Mark::unseen);
  struct Step {
    std::size_t worker;
    std::size_t next_entry;
  };
  for (std::size_t root = 0; root < all.size(); ++root) {
    if (mark[root] != Mark::unseen) continue;
    std::vector<Step> path{{root, 0}};
    mark[root] = Mark::on_path;
    while (!path.empty()) {
      Step& step = path.back();
      const std::vector<std::string>& after = all[step.worker].spec->after;
      if (step.next_entry == after.size()) {
        mark[step.worker] = Mark::done;
        path.pop_back();
        continue;
      }
      const std::size_t entry = step.next_entry++;
      const auto target = position.find(after[entry]);
      if (target == position.end() || target->second == step.worker) continue;  // reported
      const std::size_t next = target->second;
      if (mark[next] == Mark::unseen) {
        mark[next] = Mark::on_path;
        path.push_back({next, 0});
      } else if (mark[next] == Mark::on_path) {
        std::string cycle;
        bool on = false;
        for (const Step& s : path) {
          on = on || s.worker == next;
          if (on) cycle += all[s.worker].spec->name + " -> ";
        }
        at.child(all[step.worker].index)
            .child("after")
            .child(entry)
            .error("the start order makes a cycle: " + cycle + all[next].spec->name +
                   " (each starts after the next): no worker of it could ever start");
      }
    }
  }
}

void check_start_order(const std::vector<ReadWorker>& all, const Place& at) {
  std::map<std::string, std::size_t> position;
  for (std::size_t i = 0; i < all.size(); ++i) position.emplace(all[i].spec->name, i);
  for (const ReadWorker& w : all) {
    for (std::size_t entry = 0; entry < w.spec->after.size(); ++entry) {
      const std::string& name = w.spec->after[entry];
      if (name.empty()) continue;  // not a name: reported
      const Place place = at.child(w.index).child("after").child(entry);
      if (name == w.spec->name) {
        place.error(quote_text(name) +
                    " is this worker itself: a worker cannot start after itself");
      } else if (!position.contains(name)) {
        place.error(unknown_worker_message(name, all));
      }
    }
  }
  check_order_cycles(all, position, at);
}

// ---- The section.

// How the error at `here`, the name of a worker, names `other`, the same name earlier: by
// its pointer, and when it is in another file (a fragment merged from conf.d) by that file
// too, with the FILE:LINE:COL of both names.
std::string other_place(const Place& here, const Place& other) {
  if (here.origins == nullptr) return other.pointer + " has it too";
  const Origins::Place mine = here.origins->locate(here.pointer);
  const Origins::Place theirs = here.origins->locate(other.pointer);
  if (mine.file == theirs.file) return theirs.pointer + " has it too";
  std::string text = other.where() + " has it too";
  const auto at_theirs = here.origins->position(other.pointer + "/name");
  const auto at_mine = here.origins->position(here.pointer + "/name");
  if (at_theirs && at_mine) text += " (at " + *at_theirs + "; this one at " + *at_mine + ")";
  return text;
}

std::vector<WorkerSpec> workers_of(const Value& v, const Place& at) {
  const boost::json::array& list = array_of(v);
  std::vector<WorkerSpec> workers;
  std::vector<std::size_t> indexes;  // of each one read, in /confvisor/workers
  std::map<std::string, std::size_t> first_with_name;
  std::map<std::string, std::size_t> first_with_log_file;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const Place place = at.child(i);
    WorkerSpec worker;
    const std::size_t errors_before = at.errors.size();
    place.attempt([&] { worker = object_with<WorkerSpec, kWorkerFields>(list[i], place); });
    if (worker.name.empty()) continue;  // missing or invalid: already reported
    pass_environment(worker);
    if (at.errors.size() == errors_before) check_can_start(worker, place);
    if (worker.watchdog && worker.ready != Readiness::notify) {
      place.child("watchdog")
          .error("needs \"ready\": \"notify\": pings come over the notify socket");
    }
    if (worker.on_fatal == FatalAction::exit && worker.fatal_retry_after) {
      place.child("on_fatal")
          .error(
              "\"exit\" ends the daemon once the worker is FATAL, so its fatal_retry_after "
              "would never come: set one or the other");
    }
    const auto [first, inserted] = first_with_name.emplace(worker.name, i);
    if (!inserted) {
      // Named by file and pointer when the other one is in another file (a fragment).
      place.child("name").error("duplicate worker name " + quote_text(worker.name) + ": " +
                                other_place(place, at.child(first->second)));
    }
    if (worker.log.file) {
      const auto [other, fresh] = first_with_log_file.emplace(*worker.log.file, i);
      if (!fresh) {
        place.child("log").child("file").error(
            quote_text(*worker.log.file) + " is the log file of " +
            at.child(other->second).pointer + " too: give each worker a file of its own");
      }
    }
    workers.push_back(std::move(worker));
    indexes.push_back(i);
  }
  std::vector<ReadWorker> read;
  for (std::size_t n = 0; n < workers.size(); ++n) read.push_back({indexes[n], &workers[n]});
  check_start_order(read, at);
  return workers;
}

std::string segment_of(const Value& v) {
  std::string name = string_of(v);
  validate_segment_name(name);
  if (is_canary_segment(name)) {
    throw Error(quote_text(name) + " is the name of a canary segment (" +
                quote_text(owning_segment(name)) + "'s): choose a name without \".canary\"");
  }
  return name;
}

std::size_t segment_size_of(const Value& v) {
  constexpr std::uint64_t kMinimum = 64u << 10;
  const std::uint64_t size = size_of(v);
  if (size < kMinimum) expected("a size of at least 64KiB", v);
  return static_cast<std::size_t>(size);
}

// sockaddr_un::sun_path holds 108 bytes with the terminating NUL.
constexpr std::size_t kMaxSocketPath = sizeof(sockaddr_un::sun_path) - 1;

std::string socket_of(const Value& v) {
  std::string path = absolute_path_of(v);
  if (path.size() > kMaxSocketPath) {
    throw Error("socket path is " + std::to_string(path.size()) + " bytes, longer than the " +
                std::to_string(kMaxSocketPath) + " a Unix socket address holds");
  }
  return path;
}

// ---- /confvisor/source/etcd.

std::string credential_path_of(const Value& v) {
  std::string path = absolute_path_of(v);
  check_credential_file(path);
  return path;
}

void tls_file(const Value& v, const Place&, EtcdTls& out, std::string EtcdTls::*member) {
  out.*member = credential_path_of(v);
}

constexpr std::array<Field<EtcdTls>, 3> kEtcdTlsFields{{
    {"ca", kOptional,
     [](const Value& v, const Place& at, EtcdTls& out) { tls_file(v, at, out, &EtcdTls::ca); }},
    {"cert", kOptional,
     [](const Value& v, const Place& at, EtcdTls& out) { tls_file(v, at, out, &EtcdTls::cert); }},
    {"key", kOptional,
     [](const Value& v, const Place& at, EtcdTls& out) { tls_file(v, at, out, &EtcdTls::key); }},
}};

std::optional<EtcdTls> tls_of(const Value& v, const Place& at) {
  EtcdTls tls = object_with<EtcdTls, kEtcdTlsFields>(v, at);
  const bool has_cert = object_of(v).contains("cert"), has_key = object_of(v).contains("key");
  if (has_cert != has_key) {
    at.error("a client certificate needs both \"cert\" and \"key\"");
  }
  return tls;
}

std::string user_name_of(const Value& v) {
  std::string user = os_string(v);
  if (user.empty()) expected("a non-empty user name", v);
  return user;
}

constexpr std::array<Field<EtcdAuth>, 2> kEtcdAuthFields{{
    {"user", kRequired, set<&EtcdAuth::user, user_name_of>},
    {"password_file", kRequired,
     [](const Value& v, const Place&, EtcdAuth& out) {
       out.password_file = absolute_path_of(v);
       out.password = read_password_file(out.password_file);
     }},
}};

std::optional<EtcdAuth> auth_of(const Value& v, const Place& at) {
  return object_with<EtcdAuth, kEtcdAuthFields>(v, at);
}

std::vector<std::string> endpoints_of(const Value& v, const Place& at) {
  const boost::json::array& list = array_of(v);
  if (list.empty()) expected("a non-empty array of URLs like \"http://10.0.0.1:2379\"", v);
  std::vector<std::string> endpoints;
  for (std::size_t i = 0; i < list.size(); ++i) {
    at.child(i).attempt([&] {
      std::string url = os_string(list[i]);
      (void)etcd::parse_endpoint(url);
      endpoints.push_back(std::move(url));
    });
  }
  return endpoints;
}

// The keys under the prefix are read as JSON pointers: a prefix ending in '/' keeps
// "/config/shop" from also taking in "/config/shopping/...".
std::string prefix_of(const Value& v) {
  std::string prefix = os_string(v);
  if (prefix.empty()) expected("a non-empty key prefix like \"/config/shop/\"", v);
  if (!prefix.ends_with('/')) {
    throw Error("expected a prefix ending in '/', got " + describe_value(v) + ": write " +
                quote_text(prefix + "/"));
  }
  return prefix;
}

// Shorter than a second would replace every watch between two progress notifications of any
// cluster that sends them at all, and call it a liveness check.
Duration watch_liveness_of(const Value& v) {
  const Duration liveness = duration_of(v);
  if (liveness < std::chrono::seconds(1)) expected("a duration of at least 1s", v);
  return liveness;
}

constexpr std::array<Field<EtcdSettings>, 5> kEtcdFields{{
    {"endpoints", kRequired, set_nested<&EtcdSettings::endpoints, endpoints_of>},
    {"prefix", kRequired, set<&EtcdSettings::prefix, prefix_of>},
    {"tls", kOptional, set_nested<&EtcdSettings::tls, tls_of>},
    {"auth", kOptional, set_nested<&EtcdSettings::auth, auth_of>},
    {"watch_liveness", kOptional, set<&EtcdSettings::watch_liveness, watch_liveness_of>},
}};

// One scheme for all endpoints: TLS is a property of the cluster, not of one member.
void check_schemes(const EtcdSettings& etcd, const Place& at) {
  std::optional<std::string> scheme;
  for (std::size_t i = 0; i < etcd.endpoints.size(); ++i) {
    const std::string next = etcd::parse_endpoint(etcd.endpoints[i]).scheme;
    if (scheme && next != *scheme) {
      at.child("endpoints")
          .child(i)
          .error("is " + next + " where " + at.child("endpoints").child(std::size_t{0}).pointer +
                 " is " + *scheme + ": use one scheme for the cluster");
      return;
    }
    scheme = next;
  }
  if (etcd.tls && scheme == "http") {
    at.child("tls").error("applies to https:// endpoints; these are http://");
  }
}

std::optional<EtcdSettings> etcd_of(const Value& v, const Place& at) {
  const std::size_t errors_before = at.errors.size();
  EtcdSettings etcd = object_with<EtcdSettings, kEtcdFields>(v, at);
  if (at.errors.size() == errors_before) check_schemes(etcd, at);
  return etcd;
}

struct SourceSection {
  std::optional<EtcdSettings> etcd;
};

constexpr std::array<Field<SourceSection>, 1> kSourceFields{{
    {"etcd", kOptional, set_nested<&SourceSection::etcd, etcd_of>},
}};

std::optional<EtcdSettings> source_of(const Value& v, const Place& at) {
  return object_with<SourceSection, kSourceFields>(v, at).etcd;
}

// The files to merge into the document: what they name is read by load_config
// (daemon/config/include.hpp); here the list is only checked.
std::vector<std::string> include_of(const Value& v, const Place& at) {
  std::vector<std::string> patterns;
  const boost::json::array& list = array_of(v);
  for (std::size_t i = 0; i < list.size(); ++i) {
    at.child(i).attempt([&] {
      std::string pattern = os_string(list[i]);
      if (pattern.empty()) expected("a non-empty path or glob pattern", list[i]);
      patterns.push_back(std::move(pattern));
    });
  }
  return patterns;
}

// ---- The HTTP endpoint.

// "ADDRESS:PORT", the address a literal (IPv6 in brackets), so that what it listens on is
// exactly what the file says: no name to resolve, no "every interface" by omission.
HttpSettings http_listen_of(const Value& v) {
  constexpr std::string_view kForm =
      R"(an address and a port like "127.0.0.1:9187" or "[::1]:9187")";
  HttpSettings http;
  http.listen = os_string(v);
  const std::string_view text = http.listen;
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) expected(kForm, v);
  std::string_view host = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  if (host.empty()) {
    throw Error("no address in " + quote_text(text) +
                R"(: write "0.0.0.0:PORT" or "[::]:PORT" to listen on every interface)");
  }
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(std::string(host), ec);
  if (ec || address.is_v6() != bracketed) {
    expected(std::string(kForm) + ", the address a literal (IPv6 in brackets)", v);
  }
  unsigned number = 0;
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (port.empty() || error != std::errc{} || end != port.data() + port.size() || number > 65535) {
    throw Error("port " + quote_text(port) + " in " + quote_text(text) +
                ": expected a number from 0 to 65535");
  }
  http.address = address.to_string();
  http.port = static_cast<std::uint16_t>(number);
  return http;
}

constexpr std::array<Field<HttpSettings>, 1> kHttpFields{{
    {"listen", kRequired,
     [](const Value& v, const Place&, HttpSettings& out) { out = http_listen_of(v); }},
}};

std::optional<HttpSettings> http_of(const Value& v, const Place& at) {
  return object_with<HttpSettings, kHttpFields>(v, at);
}

// ---- The verified rollout.

constexpr std::array kRolloutActions{
    Choice<RolloutAction>{"rollback", RolloutAction::rollback},
    Choice<RolloutAction>{"keep", RolloutAction::keep},
};

constexpr std::array<Field<CanarySettings>, 2> kCanaryFields{{
    {"worker", kRequired, set<&CanarySettings::worker, worker_name_of>},
    {"instances", kOptional, set<&CanarySettings::instances, count_in<1, 1000>>},
}};

std::optional<CanarySettings> canary_of(const Value& v, const Place& at) {
  return object_with<CanarySettings, kCanaryFields>(v, at);
}

constexpr std::array<Field<RolloutSettings>, 3> kRolloutFields{{
    {"verify", kRequired, set<&RolloutSettings::verify, positive_duration_of>},
    {"on_failure", kOptional, set<&RolloutSettings::on_failure, one_of<kRolloutActions>>},
    {"canary", kOptional, set_nested<&RolloutSettings::canary, canary_of>},
}};

std::optional<RolloutSettings> rollout_of(const Value& v, const Place& at) {
  return object_with<RolloutSettings, kRolloutFields>(v, at);
}

constexpr std::array<Field<Settings>, 15> kSettingsFields{{
    {"segment", kRequired, set<&Settings::segment, segment_of>},
    {"segment_size", kOptional, set<&Settings::segment_size, segment_size_of>},
    {"mode", kOptional, set<&Settings::mode, octal_mode_of>},
    {"group", kOptional, set<&Settings::group, group_of>},
    {"socket", kOptional, set<&Settings::socket, socket_of>},
    {"history", kOptional, set<&Settings::history, count_in<1, 64>>},
    {"max_config_size", kOptional, set<&Settings::max_config_size, size_of>},
    {"max_instances", kOptional, set<&Settings::max_instances, count_in<1, 65536>>},
    {"http", kOptional, set_nested<&Settings::http, http_of>},
    {"rollout", kOptional, set_nested<&Settings::rollout, rollout_of>},
    {"workers", kOptional, set_nested<&Settings::workers, workers_of>},
    {"schema", kOptional, set<&Settings::schema, absolute_path_of>},
    {"include", kOptional, set_nested<&Settings::include, include_of>},
    {"source", kOptional, set_nested<&Settings::etcd, source_of>},
    {"state_dir", kOptional, set<&Settings::state_dir, absolute_path_of>},
}};

// Every instance is a process, two pipes and timers on the daemon's one loop: thousands of
// them make the daemon itself unresponsive, so their total is bounded. The error names the
// worker that goes past the bound.
void check_total_instances(const Settings& settings, const Place& at) {
  if (at.errors.size() != 0) return;  // the workers' indexes may not match the array
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < settings.workers.size(); ++i) {
    total += settings.workers[i].instances;
    if (total <= settings.max_instances) continue;
    at.child("workers").child(i).error("its " + std::to_string(settings.workers[i].instances) +
                                       " instance(s) bring the total to " + std::to_string(total) +
                                       ", more than " + "/confvisor/max_instances (" +
                                       std::to_string(settings.max_instances) +
                                       "): run fewer, or raise the limit");
    return;
  }
}

// The canary names a worker of the list and no more instances than it runs; its instances
// are marked in their spec, which is what gives them the canary segment.
void apply_canary(Settings& settings, const Place& at) {
  if (at.errors.size() != 0 || !settings.rollout || !settings.rollout->canary) return;
  const CanarySettings& canary = *settings.rollout->canary;
  const Place place = at.child("rollout").child("canary");
  std::vector<ReadWorker> all;
  for (std::size_t i = 0; i < settings.workers.size(); ++i)
    all.push_back({i, &settings.workers[i]});
  for (WorkerSpec& worker : settings.workers) {
    if (worker.name != canary.worker) continue;
    if (canary.instances > worker.instances) {
      place.child("instances")
          .error(std::to_string(canary.instances) + " canary instance(s) of " +
                 quote_text(worker.name) + ", which runs " + std::to_string(worker.instances) +
                 ": at most that many");
      return;
    }
    worker.canary_instances = canary.instances;
    return;
  }
  place.child("worker").error(unknown_worker_message(canary.worker, all));
}

Settings settings_of(const Value& v, const Place& at) {
  auto settings = object_with<Settings, kSettingsFields>(v, at);
  check_total_instances(settings, at);
  apply_canary(settings, at);
  if (settings.state_dir.empty()) settings.state_dir = default_state_dir();
  if (settings.socket.empty() && !settings.segment.empty()) {
    settings.socket = default_socket_path(settings.segment);
    if (settings.socket.size() > kMaxSocketPath) {
      at.child("socket").error("the default " + quote_text(settings.socket, 256) +
                               " is too long for a Unix socket address: set a shorter one");
    }
  }
  return settings;
}

}  // namespace

LoadResult validate_config(const std::string& file, boost::json::value document,
                           const Origins* origins) {
  if (!document.is_object()) {
    return {
        std::nullopt,
        {file + ": the top level must be a JSON object, found " + std::string(kind_name(document))},
        {}};
  }
  Errors errors;
  const Place at{errors, file, "/confvisor", origins};
  Settings settings;
  if (const Value* section = document.get_object().if_contains("confvisor")) {
    at.attempt([&] { settings = settings_of(*section, at); });
  } else {
    at.error("missing: the daemon's settings live under this key");
  }
  if (!errors.empty()) return {std::nullopt, std::move(errors), {}};
  Origins kept = origins != nullptr ? *origins : Origins(file);
  kept.attach_texts(nullptr);  // they live as long as the load
  return {Config{file, std::move(document), std::move(settings), std::move(kept)}, {}, {}};
}

std::vector<std::string_view> settings_keys() {
  return keys_of<Settings>(kSettingsFields);
}
std::vector<std::string_view> http_keys() {
  return keys_of<HttpSettings>(kHttpFields);
}
std::vector<std::string_view> worker_keys() {
  return keys_of<WorkerSpec>(kWorkerFields);
}
std::vector<std::string_view> backoff_keys() {
  return keys_of<Backoff>(kBackoffFields);
}
std::vector<std::string_view> restart_limit_keys() {
  return keys_of<RestartLimit>(kRestartLimitFields);
}
std::vector<std::string_view> limits_keys() {
  return keys_of<Limits>(kLimitsFields);
}
std::vector<std::string_view> source_keys() {
  return keys_of<SourceSection>(kSourceFields);
}
std::vector<std::string_view> etcd_keys() {
  return keys_of<EtcdSettings>(kEtcdFields);
}
std::vector<std::string_view> etcd_tls_keys() {
  return keys_of<EtcdTls>(kEtcdTlsFields);
}
std::vector<std::string_view> etcd_auth_keys() {
  return keys_of<EtcdAuth>(kEtcdAuthFields);
}

std::string default_state_dir() {
  if (::geteuid() != 0) {
    const char* state = std::getenv("XDG_STATE_HOME");
    if (state != nullptr && state[0] == '/') return std::string(state) + "/confvisor";
    const char* home = std::getenv("HOME");
    if (home != nullptr && home[0] == '/') return std::string(home) + "/.local/state/confvisor";
  }
  return "/var/lib/confvisor";
}

std::vector<std::string_view> log_keys() {
  return keys_of<LogSettings>(kLogFields);
}
std::vector<std::string_view> rollout_keys() {
  return keys_of<RolloutSettings>(kRolloutFields);
}
std::vector<std::string_view> canary_keys() {
  return keys_of<CanarySettings>(kCanaryFields);
}

}  // namespace confvisor::config
