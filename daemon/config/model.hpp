// The daemon's model of its config file: the whole JSON document (what workers see) plus
// the validated "confvisor" section (what the daemon itself does).
#pragma once

#include <sys/types.h>

#include <boost/json/parse_options.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/errors.hpp"
#include "common/json/depth_limit.hpp"
#include "daemon/config/origins.hpp"

namespace confvisor {
struct RegularFile;
}  // namespace confvisor

namespace confvisor::config {

using Duration = std::chrono::milliseconds;

enum class RestartPolicy { always, on_failure, never };
enum class ReloadAction { signal, restart, none };
enum class Readiness { started, notify };
// What a worker instance becoming FATAL does to the daemon: nothing more (it stays FATAL,
// the others run on), or stop every worker and exit (for a container runtime or systemd's
// Restart= to take over).
enum class FatalAction { stay, exit };

struct Backoff {
  Duration initial{100};
  Duration max{30'000};

  bool operator==(const Backoff&) const = default;
};

struct RestartLimit {
  unsigned count = 5;
  Duration period{10'000};

  bool operator==(const RestartLimit&) const = default;
};

// Per-instance cgroup v2 limits, as systemd's MemoryMax, TasksMax and CPUWeight. Each needs
// its controller (memory, pids, cpu) delegated to the daemon's cgroup tree; a config that
// sets one where it is not is refused.
struct Limits {
  std::optional<std::uint64_t> memory_max;  // bytes, memory.max (and memory.oom.group 1)
  std::optional<unsigned> tasks_max;        // pids.max
  std::optional<unsigned> cpu_weight;       // cpu.weight, 1 to 10000

  bool operator==(const Limits&) const = default;
};

// What the daemon keeps of a worker's output ("log"): the recent lines of each instance in
// memory, for `confvisorctl logs`, and optionally every line in a file of its own. Changing it
// restarts nothing: a reload applies it to the running instances.
struct LogSettings {
  unsigned lines = 1000;            // kept per instance; 0 keeps none (-f still follows)
  std::size_t bytes = 256u << 10;   // of line text kept per instance, "256KiB"
  std::optional<std::string> file;  // absolute path; every instance's lines, appended
  // Rotated (PATH to PATH.1, ..., PATH.keep) before a line would take it past this; unset:
  // never by size (logrotate and SIGUSR1 do it).
  std::optional<std::uint64_t> max_size = 10u << 20;
  unsigned keep = 5;  // rotated files kept; 0: the full file is removed

  bool operator==(const LogSettings&) const = default;
};

// One entry of /confvisor/workers. Defaults follow DESIGN.md ("Supervision").
struct WorkerSpec {
  std::string name;
  std::vector<std::string> command;  // argv; command[0] is run without a shell
  unsigned instances = 1;
  // Its env values, command and cwd have their ${VAR} references expanded
  // (daemon/config/variables.hpp), and env holds the pass_env variables the daemon has.
  std::map<std::string, std::string> env;
  std::vector<std::string> pass_env;  // names copied from the daemon's environment
  std::optional<std::string> cwd;
  std::optional<std::string> user;
  std::optional<std::string> group;
  std::optional<mode_t> umask;
  RestartPolicy restart = RestartPolicy::on_failure;
  std::vector<int> success_exit_codes{0};
  Backoff backoff;
  Duration start_window{1'000};
  RestartLimit restart_limit;
  std::optional<Duration> fatal_retry_after;
  FatalAction on_fatal = FatalAction::stay;
  int stop_signal = 15;  // SIGTERM
  Duration stop_timeout{10'000};
  ReloadAction on_reload = ReloadAction::none;
  int reload_signal = 1;  // SIGHUP
  Readiness ready = Readiness::started;
  // The workers whose every instance must be ready (Running, or done after a run that
  // succeeded and is not restarted) before an instance of this one starts; this one's
  // instances stop before theirs when both stop together. Only starts wait: a running
  // instance keeps running when one of them stops, restarts or fails.
  std::vector<std::string> after;
  // With "ready": "notify" only, the worker is restarted if its WATCHDOG=1 pings stop for
  // this long.
  std::optional<Duration> watchdog;
  Limits limits;
  LogSettings log;
  // Run before a new config is published, on a private copy of it ("{file}" in any argument
  // is its path), as the worker's user; a failure refuses the config. Empty: no check.
  // Changing only these two keys does not restart the worker.
  std::vector<std::string> check;
  Duration check_timeout{5'000};
  // Its instances report each generation they apply or reject (libconfvisor's
  // report_applied / report_rejected): status shows it and `reload --wait` waits for it.
  // Every worker may report (each gets CONFVISOR_ACK_SOCKET), so changing this restarts
  // nothing.
  bool acks = false;
  // Not a key of the worker: /confvisor/rollout/canary sets it. This worker's first
  // `canary_instances` instances read the canary segment (CONFVISOR_SEGMENT=NAME.canary), so
  // changing it restarts them.
  unsigned canary_instances = 0;

  bool operator==(const WorkerSpec&) const = default;
};

// /confvisor/source/etcd: where the document's overlay comes from (daemon/config/overlay.hpp
// places it). Paths are absolute; the password is read from password_file at validation, so a
// reload reads it again.
struct EtcdTls {
  std::string ca;    // PEM file of the CAs to trust; empty: the system's
  std::string cert;  // client certificate and its key, both or neither
  std::string key;

  bool operator==(const EtcdTls&) const = default;
};

struct EtcdAuth {
  std::string user;
  std::string password_file;
  std::string password;  // the file's first line

  bool operator==(const EtcdAuth&) const = default;
};

struct EtcdSettings {
  std::vector<std::string> endpoints;  // URLs as written: "http://10.0.0.1:2379"
  std::string prefix;                  // ends with '/'
  std::optional<EtcdTls> tls;
  std::optional<EtcdAuth> auth;
  // A watch with no event and no progress notification for this long is replaced on the next
  // endpoint. Longer than the cluster's --experimental-watch-progress-notify-interval (10 min
  // by default in etcd 3.4).
  Duration watch_liveness{std::chrono::minutes(11)};

  bool operator==(const EtcdSettings&) const = default;
};

// Whether `a` and `b` run the same process, so that a running instance can take one for the
// other without a restart: they differ at most in the keys that only the supervisor reads
// when it starts or stops instances (instances, after, on_fatal), in `log`, which applies to
// running instances, in the check run before a publish (check, check_timeout), which
// the worker's processes never see, and in acks, which only says whether to count on their
// reports.
[[nodiscard]] inline bool same_run(WorkerSpec a, WorkerSpec b) {
  a.instances = b.instances;
  a.log = b.log;
  a.check = b.check;
  a.check_timeout = b.check_timeout;
  a.after = b.after;
  a.on_fatal = b.on_fatal;
  a.acks = b.acks;
  return a == b;
}

// The "http" object of the section: the opt-in HTTP endpoint (daemon/http). `listen` is
// "ADDRESS:PORT" with an address literal, IPv6 in brackets ("127.0.0.1:9187",
// "[::1]:9187"); port 0 asks the kernel for a free one, which the log and status name.
struct HttpSettings {
  std::string listen;   // as written, for messages
  std::string address;  // the address literal, without brackets
  std::uint16_t port = 0;

  bool operator==(const HttpSettings&) const = default;
};

// What a verified rollout does when the generation it watches fails: publish the last good
// document again (rollback), or only report the failure and leave the generation live (keep).
enum class RolloutAction { rollback, keep };
[[nodiscard]] inline const char* rollout_action_name(RolloutAction action) {
  return action == RolloutAction::rollback ? "rollback" : "keep";
}

// The "rollout" object of the section: for `verify` after a reload publishes a generation,
// the daemon watches the workers that read it (daemon/core/rollout_verify.hpp).
// The "canary" object of "rollout": a reload's generation is first published only to the
// canary segment, which the first `instances` instances of `worker` read, and verified on
// them alone; it reaches every instance once that window passes.
struct CanarySettings {
  std::string worker;
  unsigned instances = 1;

  bool operator==(const CanarySettings&) const = default;
};

struct RolloutSettings {
  Duration verify{10'000};
  RolloutAction on_failure = RolloutAction::rollback;
  std::optional<CanarySettings> canary;

  bool operator==(const RolloutSettings&) const = default;
};

// The "confvisor" section.
struct Settings {
  std::string segment;                      // required
  std::size_t segment_size = 4u << 20;      // "4MiB"
  mode_t mode = 0640;                       // "0640"
  std::optional<std::string> group;         // group name or number owning the segment
  std::string socket;                       // default /run/confvisor/SEGMENT.sock
  unsigned history = 8;                     // 1..64
  std::size_t max_config_size = 64u << 20;  // larger files are refused before parsing
  unsigned max_instances = 1000;            // 1..65536: all workers' instances together
  // A JSON Schema file that the whole document must satisfy before it is published
  // (daemon/config/document_schema.hpp); read again at every load.
  std::optional<std::string> schema;
  std::optional<HttpSettings> http;        // none: no HTTP listener
  std::optional<RolloutSettings> rollout;  // none: reloads are not verified
  std::vector<WorkerSpec> workers;
  std::vector<std::string> include;  // paths and glob patterns of fragments, as written
  std::optional<EtcdSettings> etcd;  // /confvisor/source/etcd
  // Where the last good etcd-merged document is kept (SEGMENT.last-good.json). Default
  // /var/lib/confvisor for root, $XDG_STATE_HOME/confvisor (~/.local/state/confvisor) for
  // other users.
  std::string state_dir;
};

struct Config {
  std::string path;  // as given
  // The whole file with its fragments merged in, comments stripped: what workers see. Its
  // ${VAR} references stay as written; only the daemon's reading of them is expanded.
  boost::json::value document;
  Settings settings;
  Origins origins;  // its files (the main one, then the fragments merged) and their values
};

// What a generation published from `config` names as its source: the main file, then
// " + FRAGMENT" for each fragment merged, in merge order.
[[nodiscard]] std::string source_of(const Config& config);

struct LoadResult {
  std::optional<Config> config;  // set iff errors is empty
  Errors errors;                 // every error found, each one line naming its place
  // The main file's /confvisor/include patterns, whenever the file could be parsed (also
  // when the load failed after that): what ConfigOnDisk watches besides the file.
  std::vector<std::string> include;
};

// Reads, parses and validates `path` and the fragments its /confvisor/include names (merged
// in as daemon/config/include.hpp says), refusing more than `max_size` bytes in all (each
// file's size checked before reading it). Never blocks: every file must be a regular file,
// anything else (a FIFO, a directory, a device) is refused unread. Never throws for a bad
// file: every problem is a line in `errors`, naming the file it is in (the main file or a
// fragment; a meaning error in a fragment gives the pointer inside the fragment):
//   "FILE: message"                      the file itself ("unable to read: No such file or
//                                        directory", "not a regular file (a FIFO)", "file is
//                                        N bytes, larger than ...")
//   "FILE:LINE:COL: message"             syntax (JSON, UTF-8, duplicate keys, depth, top
//                                        level); LINE and COL are 1-based, COL counts bytes
//   "FILE: /json/pointer: message"       meaning ("/confvisor/workers/2/restart: expected
//                                        one of always, on-failure, never; got \"sometimes\"")
// Invalid UTF-8 or a syntax error stops at that error (after the duplicate keys before it);
// duplicate keys and meaning errors are all reported together.
[[nodiscard]] LoadResult load_config(const std::string& path, std::size_t max_size);

// Why load_config refuses a file that read_regular_file did not read, without the file's
// name: "unable to read: No such file or directory", "not a regular file (a FIFO)", "file is
// N bytes, larger than max_config_size M".
[[nodiscard]] std::string file_refusal(const RegularFile& file, std::size_t max_size);

// The text half of load_config: `text` is the file's content and `file` names it in errors.
// What the fuzz target drives. A leading UTF-8 byte order mark is skipped. It never reads a
// file: /confvisor/include is checked but not followed (the text of a kept generation, which
// this also loads, has its fragments merged in already).
[[nodiscard]] LoadResult load_config_text(std::string_view text, const std::string& file);

// The syntax half of load_config_text, for a JSON value of any kind (an etcd value, a file
// for `confvisorctl push`): invalid UTF-8, JSON syntax (comments and trailing commas are
// allowed, as in a config file), duplicate keys and nesting deeper than `max_depth` levels are
// errors "NAME:LINE:COL: message". A leading UTF-8 byte order mark is skipped. `value` is set
// when the text is JSON, even with duplicate keys (so that a caller can report more), and
// only a value without `errors` may be used.
struct ParsedText {
  std::optional<boost::json::value> value;
  Errors errors;
};
[[nodiscard]] ParsedText parse_config_text(std::string_view text, const std::string& name,
                                           std::size_t max_depth = kMaxConfigDepth);

// Validates an already parsed document (used by load_config and by tests). `file` prefixes
// each error, or `origins` says which file and pointer an error names.
[[nodiscard]] LoadResult validate_config(const std::string& file, boost::json::value document,
                                         const Origins* origins = nullptr);

// The JSON of config files: comments and trailing commas allowed, nested at most
// kMaxConfigDepth levels.
[[nodiscard]] boost::json::parse_options config_parse_options();

// The keys the validator knows, in the order config/confvisor.schema.json lists them (a test
// holds the two equal): the "confvisor" section, its "http", a worker, a worker's "backoff",
// its "restart_limit", its "limits" and its "log"; and the section's "rollout".
[[nodiscard]] std::vector<std::string_view> settings_keys();
[[nodiscard]] std::vector<std::string_view> http_keys();
[[nodiscard]] std::vector<std::string_view> worker_keys();
[[nodiscard]] std::vector<std::string_view> backoff_keys();
[[nodiscard]] std::vector<std::string_view> restart_limit_keys();
[[nodiscard]] std::vector<std::string_view> limits_keys();
[[nodiscard]] std::vector<std::string_view> log_keys();
[[nodiscard]] std::vector<std::string_view> rollout_keys();
[[nodiscard]] std::vector<std::string_view> canary_keys();
// /confvisor/source, /confvisor/source/etcd, its "tls" and its "auth".
[[nodiscard]] std::vector<std::string_view> source_keys();
[[nodiscard]] std::vector<std::string_view> etcd_keys();
[[nodiscard]] std::vector<std::string_view> etcd_tls_keys();
[[nodiscard]] std::vector<std::string_view> etcd_auth_keys();

// The default /confvisor/state_dir for this process (see Settings::state_dir).
[[nodiscard]] std::string default_state_dir();

}  // namespace confvisor::config
