// confvisorctl: inspect a segment, and publish to it without a daemon (demos, scripts).
//
//   confvisorctl get POINTER --segment NAME     the value at a JSON pointer, compact JSON
//   confvisorctl show --segment NAME [--json]   the current generation's metadata
//   confvisorctl publish FILE --segment NAME [--history N] [--mode OCTAL]
//
// Exit codes: 0 success, 1 the operation failed (message on stderr), 2 usage.

#include <sys/types.h>

#include <boost/json/object.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/program_options.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "confvisor/worker.hpp"
#include "error.hpp"
#include "publisher.hpp"

namespace po = boost::program_options;
namespace json = boost::json;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

constexpr const char* kUsage =
    "usage: confvisorctl get POINTER [--segment NAME]\n"
    "       confvisorctl show [--segment NAME] [--json]\n"
    "       confvisorctl publish FILE [--segment NAME] [--history N] [--mode OCTAL]\n";

// A command line that does not make sense (exit 2), or --help (exit 0): the usage text.
struct UsageError {
  std::string message;  // for --help, the options' descriptions
  bool help = false;
};

struct Command {
  std::string name;
  std::vector<std::string> args;
  std::string segment;
  bool json = false;
  std::optional<unsigned> history;
  std::optional<mode_t> mode;
};

mode_t parse_mode(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const unsigned long mode = std::strtoul(text.c_str(), &end, 8);
  if (text.empty() || *end != '\0' || errno != 0 || mode > 07777) {
    throw UsageError{"--mode: expected an octal file mode such as 0640, got \"" + text + "\""};
  }
  return static_cast<mode_t>(mode);
}

// Parses argv into a Command, or throws UsageError.
Command parse_command_line(int argc, char** argv) {
  po::options_description options("options");
  options.add_options()
      ("help,h", "print this help")
      ("segment,s", po::value<std::string>(), "segment NAME (default: $CONFVISOR_SEGMENT)")
      ("json", "show: print one JSON object")
      ("history", po::value<unsigned>(), "publish: generations kept (1..64; default: as the segment has it, 8 for a new one)")
      ("mode", po::value<std::string>(), "publish: mode of a new segment (default 0640)");
  po::options_description hidden;
  hidden.add_options()
      ("command", po::value<std::string>())
      ("args", po::value<std::vector<std::string>>());
  po::options_description all;
  all.add(options).add(hidden);
  po::positional_options_description positional;
  positional.add("command", 1).add("args", -1);

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError{e.what()};
  }
  if (vm.count("help")) {
    std::ostringstream text;
    text << options;
    throw UsageError{text.str(), true};
  }

  Command cmd;
  if (!vm.count("command")) throw UsageError{"missing command"};
  cmd.name = vm["command"].as<std::string>();
  if (vm.count("args")) cmd.args = vm["args"].as<std::vector<std::string>>();

  const std::size_t want = cmd.name == "show" ? 0 : 1;
  if (cmd.name != "get" && cmd.name != "show" && cmd.name != "publish") {
    throw UsageError{"unknown command \"" + cmd.name + "\""};
  }
  if (cmd.args.size() < want) {
    throw UsageError{cmd.name + ": missing " + (cmd.name == "get" ? "POINTER" : "FILE")};
  }
  if (cmd.args.size() > want) throw UsageError{cmd.name + ": unexpected \"" + cmd.args[want] + "\""};
  if (vm.count("json") && cmd.name != "show") throw UsageError{"--json applies to show only"};
  if ((vm.count("history") || vm.count("mode")) && cmd.name != "publish") {
    throw UsageError{"--history and --mode apply to publish only"};
  }

  if (vm.count("segment")) {
    cmd.segment = vm["segment"].as<std::string>();
  } else if (const char* env = std::getenv("CONFVISOR_SEGMENT"); env != nullptr && *env != '\0') {
    cmd.segment = env;
  } else {
    throw UsageError{"no segment: pass --segment NAME or set CONFVISOR_SEGMENT"};
  }
  cmd.json = vm.count("json") != 0;
  if (vm.count("history")) cmd.history = vm["history"].as<unsigned>();
  if (vm.count("mode")) cmd.mode = parse_mode(vm["mode"].as<std::string>());
  return cmd;
}

// 2026-11-23T16:41:57.123Z
std::string iso8601_utc(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t.time_since_epoch());
  const std::time_t secs = static_cast<std::time_t>(floor<seconds>(ms).count());
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>((ms - floor<seconds>(ms)).count()));
  return buf;
}

int cmd_get(const Command& cmd) {
  const std::string& pointer = cmd.args[0];
  confvisor::Reader reader(cmd.segment);
  const confvisor::Snapshot& snap = reader.current();
  const json::value* v = snap.find(pointer);
  if (v == nullptr) {
    // find() does not say why; ask Boost.JSON to tell a bad pointer from a missing value.
    json::error_code ec;
    (void)snap.json().find_pointer(pointer, ec);
    if (ec == json::error::syntax || ec == json::error::missing_slash ||
        ec == json::error::invalid_escape) {
      throw confvisor::Error("invalid JSON pointer \"" + pointer + "\": " + ec.message());
    }
    throw confvisor::Error(pointer + ": not found in generation " +
                           std::to_string(snap.generation()) + " of segment " + cmd.segment);
  }
  std::cout << json::serialize(*v) << '\n';
  return kExitOk;
}

int cmd_show(const Command& cmd) {
  confvisor::Reader reader(cmd.segment);
  const confvisor::Snapshot& snap = reader.current();
  const std::string published_at = iso8601_utc(snap.published_at());
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

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) confvisor::throw_sys("open " + path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) confvisor::throw_sys("read " + path);
  return text;
}

// "FILE:LINE:COL" of byte `offset` in `text`; both counted from 1, columns in bytes.
std::string position(const std::string& file, const std::string& text, std::size_t offset) {
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return file + ":" + std::to_string(line) + ":" + std::to_string(col);
}

int cmd_publish(const Command& cmd) {
  const std::string& file = cmd.args[0];
  const std::string text = read_file(file);

  json::parse_options opts;
  opts.allow_comments = true;
  opts.allow_trailing_commas = true;
  opts.max_depth = 10'000;
  // stream_parser, unlike json::parse, says how far it got: that is where the error is.
  json::stream_parser parser({}, opts);
  json::error_code ec;
  std::size_t offset = parser.write(text.data(), text.size(), ec);
  if (!ec) {
    parser.finish(ec);  // an incomplete document fails here, at the end of the file
    offset = text.size();
  }
  if (ec) {
    std::cerr << position(file, text, offset) << ": " << ec.message() << '\n';
    return kExitFailed;
  }

  confvisor::PublisherOptions options{.segment = cmd.segment};
  if (cmd.mode) options.mode = *cmd.mode;
  if (cmd.history) options.history = *cmd.history;
  confvisor::Publisher publisher(std::move(options));
  const std::string source = std::filesystem::absolute(file).lexically_normal().string();
  const std::uint64_t generation = publisher.publish_value(parser.release(), source);
  std::cout << "published generation " << generation << " from " << source << '\n';
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  Command cmd;
  try {
    try {
      cmd = parse_command_line(argc, argv);
    } catch (const UsageError& e) {
      if (e.help) {
        std::cout << kUsage << '\n' << e.message;
        return kExitOk;
      } else {
        std::cerr << "confvisorctl: " << e.message << '\n' << kUsage;
      }
      return kExitUsage;
    }
    if (cmd.name == "get") return cmd_get(cmd);
    if (cmd.name == "show") return cmd_show(cmd);
    return cmd_publish(cmd);
  } catch (const std::exception& e) {
    std::cerr << "confvisorctl: " << e.what() << '\n';
    return kExitFailed;
  }
}
