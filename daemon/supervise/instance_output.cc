#include "daemon/supervise/instance_output.hpp"

#include "common/base/time_format.hpp"

namespace confvisor::supervise {

namespace {

// The order of arrival across every instance, so that the lines of several instances merge
// as they came. The daemon's one loop is the only user: no lock.
std::uint64_t next_seq() {
  static std::uint64_t seq = 0;
  return ++seq;
}

}  // namespace

InstanceOutput::InstanceOutput(std::string worker, unsigned instance,
                               const config::LogSettings& log, std::shared_ptr<LogFile> file)
    : worker_(std::move(worker)),
      instance_(instance),
      label_(worker_ + "[" + std::to_string(instance_) + "]"),
      buffer_(log.lines, log.bytes),
      file_(std::move(file)) {}

void InstanceOutput::configure(const config::LogSettings& log, std::shared_ptr<LogFile> file) {
  buffer_.set_limits(log.lines, log.bytes);
  file_ = std::move(file);
}

void InstanceOutput::add(OutputStream stream, std::string text, bool cut) {
  OutputLine line{next_seq(), std::chrono::system_clock::now(), stream, std::move(text), cut};
  if (file_) file_->write(format_output_line(label_, line) + "\n");
  // A follower may end itself (its client has gone), never another: the next one is taken
  // before this one is called.
  for (auto it = followers_.begin(); it != followers_.end();) {
    const auto current = it++;
    current->second(line);
  }
  buffer_.push(std::move(line));
}

std::shared_ptr<RunOutput> InstanceOutput::begin_run(std::string started) {
  if (auto last = last_run_.lock()) last->flush();
  event(std::move(started));
  auto run = std::make_shared<RunOutput>(shared_from_this());
  last_run_ = run;
  return run;
}

std::shared_ptr<void> InstanceOutput::follow(Follower follower) {
  const std::uint64_t id = next_follower_++;
  followers_.emplace(id, std::move(follower));
  // The token ends the subscription, unless the instance's output has gone first.
  return std::shared_ptr<void>(nullptr, [weak = weak_from_this(), id](void*) {
    if (auto self = weak.lock()) self->followers_.erase(id);
  });
}

void RunOutput::flush() {
  if (!end_marker_) return;
  output_->event(std::move(*end_marker_));
  end_marker_.reset();
}

std::string format_output_line(const std::string& label, const OutputLine& line) {
  std::string text =
      format_utc(line.time) + " " + label + " " + stream_name(line.stream) + ": " + line.text;
  if (line.cut) text += " [line cut at 4 KiB]";
  return text;
}

}  // namespace confvisor::supervise
