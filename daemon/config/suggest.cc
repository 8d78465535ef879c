#include "daemon/config/suggest.hpp"

#include <algorithm>
#include <array>
#include <numeric>
#include <vector>

namespace confvisor::config {
namespace {

// A [program:x] key of supervisord and what stands for it in a confvisor worker: its key
// (empty when there is none) and what to know about the value or the difference. The keys
// both spell alike (command, user, umask) are not here: they are known keys.
struct ForeignKey {
  std::string_view name;
  std::string_view ours;
  std::string_view note;
};

constexpr std::string_view kOutputNote =
    "stdout and stderr both go to confvisord's log (the journal under systemd), each line "
    "prefixed NAME[INSTANCE]";

constexpr std::array<ForeignKey, 29> kSupervisordKeys{{
    {"numprocs", "instances", ""},
    {"numprocs_start", "", "instances are numbered from 0, in CONFVISOR_INSTANCE"},
    {"process_name", "", "instances are named NAME[INSTANCE] after the worker's name"},
    {"directory", "cwd", "an absolute path"},
    {"environment", "env", R"(an object of strings: {"KEY": "value"})"},
    {"autorestart", "restart", R"("always" (true), "on-failure" (unexpected) or "never" (false))"},
    {"startsecs", "start_window", R"(a duration like "1s")"},
    {"startretries", "restart_limit", R"(at most "count" failed starts within "period")"},
    {"exitcodes", "success_exit_codes", "an array of exit codes, like [0, 2]"},
    {"stopsignal", "stop_signal", R"("TERM", "SIGTERM" or a number)"},
    {"stopwaitsecs", "stop_timeout", R"(a duration like "10s")"},
    {"stopasgroup", "", "the stop signal always goes to the worker's whole process group"},
    {"killasgroup", "", "SIGKILL always goes to the worker's whole process group"},
    {"autostart", "",
     "every worker starts with the daemon; `confvisorctl stop NAME` keeps one stopped"},
    {"priority", "after",
     "the names of the workers this one starts after, once they are ready; it stops "
     "before them"},
    {"redirect_stderr", "", kOutputNote},
    {"stdout_logfile", "", kOutputNote},
    {"stdout_logfile_maxbytes", "", kOutputNote},
    {"stdout_logfile_backups", "", kOutputNote},
    {"stdout_capture_maxbytes", "", kOutputNote},
    {"stdout_events_enabled", "", kOutputNote},
    {"stdout_syslog", "", kOutputNote},
    {"stderr_logfile", "", kOutputNote},
    {"stderr_logfile_maxbytes", "", kOutputNote},
    {"stderr_logfile_backups", "", kOutputNote},
    {"stderr_capture_maxbytes", "", kOutputNote},
    {"stderr_events_enabled", "", kOutputNote},
    {"stderr_syslog", "", kOutputNote},
    {"serverurl", "", "workers reach the daemon through confvisorctl's control socket"},
}};

bool has(std::span<const std::string_view> list, std::string_view word) {
  return std::find(list.begin(), list.end(), word) != list.end();
}

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // One row of the dynamic-programming table at a time: row[j] is the distance between the
  // prefix of `a` read so far and the first j bytes of `b`.
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitute});
    }
  }
  return row[b.size()];
}

std::optional<std::string_view> nearest_word(std::string_view word,
                                             std::span<const std::string_view> candidates) {
  const std::size_t allowed = std::max<std::size_t>(2, word.size() / 3);
  std::optional<std::string_view> best;
  std::size_t best_distance = allowed + 1;
  for (std::string_view candidate : candidates) {
    const std::size_t distance = edit_distance(word, candidate);
    if (distance < best_distance && distance < word.size()) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

std::optional<std::string> supervisord_key_hint(std::string_view key,
                                                std::span<const std::string_view> known) {
  if (!has(known, "command")) return std::nullopt;
  for (const ForeignKey& foreign : kSupervisordKeys) {
    if (foreign.name != key) continue;
    if (!foreign.ours.empty() && !has(known, foreign.ours)) continue;
    std::string hint = "(supervisord's name): confvisor ";
    if (foreign.ours.empty()) return hint + "has none: " + std::string(foreign.note);
    hint += "calls it \"" + std::string(foreign.ours) + "\"";
    if (!foreign.note.empty()) hint += ", " + std::string(foreign.note);
    return hint;
  }
  return std::nullopt;
}

}  // namespace confvisor::config
