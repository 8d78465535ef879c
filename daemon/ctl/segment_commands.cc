#include "daemon/ctl/segment_commands.hpp"

#include <fcntl.h>

#include <boost/json/object.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>
#include <filesystem>
#include <iostream>

#include "common/base/error.hpp"
#include "common/base/time_format.hpp"
#include "common/json/depth_limit.hpp"
#include "common/json/pointer.hpp"
#include "common/json/text.hpp"
#include "common/os/read_to_end.hpp"
#include "common/os/unique_fd.hpp"
#include "common/publish/owner_lock.hpp"
#include "common/publish/publisher.hpp"
#include "confvisor/worker.hpp"

namespace confvisor::ctl {

namespace json = boost::json;

namespace {

// The whole of `path`, waiting for it if it is a pipe: `publish /dev/stdin` is a use, and
// unlike the daemon the client has nothing else to do meanwhile.
std::string read_file(const std::string& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_sys("open " + path);
  std::string text;
  if (read_to_end(fd.get(), text) == ReadEnd::failed) throw_sys("read " + path);
  return text;
}

}  // namespace

int segment_get(const Command& cmd) {
  const std::string& pointer = cmd.args[0];
  Reader reader(*cmd.segment);
  const Snapshot& snap = reader.current();
  const json::value* v = snap.find(pointer);
  if (v == nullptr) {
    std::string why = pointer_miss(snap.json(), pointer);
    if (!pointer_is_malformed(snap.json(), pointer)) {
      why += " in generation " + std::to_string(snap.generation()) + " of segment " + *cmd.segment;
    }
    throw Error(why);
  }
  std::cout << json::serialize(*v) << '\n';
  return kExitOk;
}

int segment_show(const Command& cmd) {
  Reader reader(*cmd.segment);
  const Snapshot& snap = reader.current();
  const std::string published_at = format_utc(snap.published_at());
  if (cmd.json) {
    const json::object out{{"generation", snap.generation()},
                           {"size", snap.text().size()},
                           {"published_at", published_at},
                           {"publisher_pid", snap.publisher_pid()},
                           {"source", snap.source()}};
    std::cout << json::serialize(out) << '\n';
    return kExitOk;
  }
  std::cout << "generation     " << snap.generation() << '\n'
            << "size           " << snap.text().size() << " bytes\n"
            << "published at   " << published_at << '\n'
            << "publisher pid  " << snap.publisher_pid() << '\n'
            << "source         " << snap.source() << '\n';
  return kExitOk;
}

namespace {

// A generation published beside a running daemon is one it did not choose: its status
// would name another config than readers see until it follows, and its next reload replaces
// the generation. Refused unless the operator says --force.
void refuse_beside_a_daemon(const Command& cmd) {
  const std::optional<pid_t> daemon = OwnerLock::holder(*cmd.segment);
  if (!daemon || cmd.force) return;
  throw Error("segment " + *cmd.segment + " is served by confvisord (pid " +
              (*daemon > 0 ? std::to_string(*daemon) : std::string("unknown")) +
              "): edit its config and run `confvisorctl reload`, or publish with --force (its "
              "next reload replaces what you publish)");
}

}  // namespace

int segment_publish(const Command& cmd) {
  const std::string& file = cmd.args[0];
  refuse_beside_a_daemon(cmd);
  const std::string text = read_file(file);

  json::parse_options opts;
  opts.allow_comments = true;
  opts.allow_trailing_commas = true;
  opts.max_depth = kMaxDocumentDepth;
  // stream_parser, unlike json::parse, says how far it got: that is where the error is.
  json::stream_parser parser({}, opts);
  json::error_code ec;
  std::size_t offset = parser.write(text.data(), text.size(), ec);
  if (!ec) {
    parser.finish(ec);  // an incomplete document fails here, at the end of the file
    offset = text.size();
  }
  if (ec) {
    std::cerr << file_position(file, text, offset) << ": " << ec.message() << '\n';
    return kExitFailed;
  }

  PublisherOptions options{.segment = *cmd.segment};
  if (cmd.mode) options.mode = *cmd.mode;
  if (cmd.history) options.history = *cmd.history;
  Publisher publisher(std::move(options));
  const std::string source = std::filesystem::absolute(file).lexically_normal().string();
  const std::uint64_t generation = publisher.publish_value(parser.release(), source);
  std::cout << "published generation " << generation << " from " << source << '\n';
  return kExitOk;
}

}  // namespace confvisor::ctl
