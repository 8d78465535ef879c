// Everything one worker instance has written, from every run of it: the recent lines kept in
// memory (OutputBuffer), the operators following them (`confvisorctl logs -f`), and the
// worker's log file. It lives as long as the instance, or as the relays of a run of it still
// draining its pipes, whichever is longer.
//
// Each run is framed by markers (stream "event"): "started: pid N (PROGRAM)" when it starts,
// "exited: exit code 1" once it has ended and both of its pipes are at EOF, so that the
// marker comes after every line of the run. Should the next run start before the pipes of
// the last one are closed (a leftover that still holds them), the exit marker is added then,
// before the next start's.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "daemon/config/model.hpp"
#include "daemon/supervise/log_file.hpp"
#include "daemon/supervise/output_buffer.hpp"

namespace confvisor::supervise {

class RunOutput;

class InstanceOutput : public std::enable_shared_from_this<InstanceOutput> {
 public:
  // Called with every line as it is added. It must not end another follower.
  using Follower = std::function<void(const OutputLine&)>;

  InstanceOutput(std::string worker, unsigned instance, const config::LogSettings& log,
                 std::shared_ptr<LogFile> file);

  // A reload changed the worker's "log": new bounds, and the file it names (or none).
  void configure(const config::LogSettings& log, std::shared_ptr<LogFile> file);

  // A line the instance wrote (escaped), or a marker of the daemon's.
  void add(OutputStream stream, std::string text, bool cut = false);
  void event(std::string text) { add(OutputStream::event, std::move(text)); }

  // A run begins: `started` is its first marker. Its relays and the instance hold the run.
  [[nodiscard]] std::shared_ptr<RunOutput> begin_run(std::string started);

  // `follower` gets every line added from now on, until the returned token is dropped.
  [[nodiscard]] std::shared_ptr<void> follow(Follower follower);

  [[nodiscard]] const std::deque<OutputLine>& recent() const { return buffer_.lines(); }
  [[nodiscard]] const std::string& worker() const { return worker_; }
  [[nodiscard]] unsigned instance() const { return instance_; }
  [[nodiscard]] const std::string& label() const { return label_; }  // "api[0]"

 private:
  std::string worker_;
  unsigned instance_;
  std::string label_;
  OutputBuffer buffer_;
  std::shared_ptr<LogFile> file_;
  std::map<std::uint64_t, Follower> followers_;
  std::uint64_t next_follower_ = 0;
  std::weak_ptr<RunOutput> last_run_;
};

// One run's output: shared by its two relays (OutputRelay) and its instance. The exit marker
// is added when the last of them lets go, once the instance said how the run ended.
class RunOutput {
 public:
  explicit RunOutput(std::shared_ptr<InstanceOutput> output) : output_(std::move(output)) {}
  RunOutput(const RunOutput&) = delete;
  RunOutput& operator=(const RunOutput&) = delete;
  ~RunOutput() { flush(); }

  [[nodiscard]] InstanceOutput& output() { return *output_; }
  // The run has ended: `marker` ("exited: exit code 1") follows its last line.
  void ended(std::string marker) { end_marker_ = std::move(marker); }
  // Adds the exit marker now, if the run has ended and it was not added yet.
  void flush();

 private:
  std::shared_ptr<InstanceOutput> output_;
  std::optional<std::string> end_marker_;
};

// "2026-12-02T01:02:03.456Z api[0] stdout: TEXT": how a line reads in a log file and in
// `confvisorctl logs`, without a newline.
[[nodiscard]] std::string format_output_line(const std::string& label, const OutputLine& line);

}  // namespace confvisor::supervise
