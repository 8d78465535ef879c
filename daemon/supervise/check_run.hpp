// The workers' own checks of a candidate config ("check" on a worker: confd's check_cmd,
// nginx -t), the stage of the reload pipeline between validation and publishing.
//
// Every check of the candidate starts at once, each as its worker's user and group, in its
// worker's cwd, with the worker's env, on a private copy of the candidate
// (daemon/supervise/candidate_file.hpp) whose path replaces "{file}" in its arguments. Each
// runs in a process group of its own and, in cgroup mode, in the cgroup TREE/WORKER.check;
// its stdout and stderr are read from one pipe on the loop (the first kMaxCheckOutput bytes
// kept, the rest counted and dropped). A check passes when it exits 0; a non-zero exit, a
// signal, or no exit within its check_timeout refuses the candidate. When a check's main
// process ends, whatever it left running (a grandchild, in its group or its cgroup) is
// SIGKILLed. Nothing here blocks the loop.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/base/errors.hpp"
#include "daemon/config/model.hpp"

namespace confvisor::supervise {

class CheckHost;
class CandidateFiles;

// What the stage decided.
enum class CheckOutcome { passed, refused };
[[nodiscard]] const char* check_outcome_name(CheckOutcome outcome);  // "passed", "refused"

struct CheckReport {
  CheckOutcome outcome = CheckOutcome::passed;
  // refused: for each check that failed, in config order, a line naming the worker and how
  // the check ended, then the first lines of its output, each naming the worker too:
  //   FILE: /confvisor/workers/0/check: worker "api": check exited with status 1
  //   FILE: /confvisor/workers/0/check: worker "api" check output: port 70000 is out of range
  Errors errors;
  std::size_t checks = 0;  // how many ran
};

// The output a refusal shows of each check, at most: the rest is counted.
inline constexpr std::size_t kMaxCheckOutput = 4096;
inline constexpr std::size_t kMaxCheckOutputLines = 20;

class CheckRun {
 public:
  using Done = std::function<void(CheckReport)>;

  // Whether `candidate` has a worker with a check.
  [[nodiscard]] static bool needed(const config::Config& candidate);

  // Starts the checks of every worker of `candidate` that has one; `text` is the document
  // as it would be published. `done` is called once, from the loop, when the last has ended;
  // never after the run is destroyed. A check that cannot even start (its program vanished)
  // is a failed check.
  CheckRun(CheckHost& host, const config::Config& candidate, const std::string& text, Done done);
  // SIGKILLs every check still running, with whatever it started, and removes the copies.
  ~CheckRun();
  CheckRun(const CheckRun&) = delete;
  CheckRun& operator=(const CheckRun&) = delete;

  // The workers whose check still runs.
  [[nodiscard]] std::vector<std::string> running() const;

 private:
  struct Check;
  void start(std::size_t index, const config::WorkerSpec& spec, const std::string& text);
  void ended();

  CheckHost& host_;
  std::string file_;  // names the candidate in errors
  std::unique_ptr<CandidateFiles> files_;
  std::vector<std::shared_ptr<Check>> checks_;
  Done done_;
  bool finished_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // weakly held by posted calls
};

}  // namespace confvisor::supervise
