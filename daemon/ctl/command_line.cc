#include "daemon/ctl/command_line.hpp"

#include <boost/program_options.hpp>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <map>
#include <sstream>

#include "common/json/units.hpp"
#include "confvisor/error.hpp"

namespace confvisor::ctl {

namespace po = boost::program_options;

const char* const kUsage =
    "usage: confvisorctl [--socket PATH | --config FILE] [--json] [--timeout DURATION] COMMAND\n"
    "       confvisorctl --help | --version\n"
    "commands answered by the daemon (over its control socket):\n"
    "  status                          generation, last reload, every worker instance\n"
    "                                  (exit 5 while an instance is FATAL or in BACKOFF)\n"
    "  reload [--wait]                 re-read the config file (exit 1 if it is refused); with\n"
    "                                  --wait, then wait (--timeout, default 30s) until every\n"
    "                                  instance of a worker with \"acks\" applied it (exit 1\n"
    "                                  naming those that rejected it, crashed or timed out)\n"
    "  start|stop|restart NAME[:INSTANCE]\n"
    "                                  and wait until done (stop holds it through reloads)\n"
    "  history                         the kept generations\n"
    "  rollback GENERATION             republish a kept generation (the file is not touched)\n"
    "  get POINTER                     the live value at a JSON pointer, compact JSON\n"
    "  logs NAME[:INSTANCE] [-n LINES] [-f]\n"
    "                                  its recent output (10 lines), then with -f new lines\n"
    "                                  until interrupted, across restarts\n"
    "commands on the segment itself (no daemon needed):\n"
    "  get POINTER --segment NAME      the value at a JSON pointer (also with $CONFVISOR_SEGMENT)\n"
    "  show --segment NAME             the current generation's metadata\n"
    "  publish FILE --segment NAME [--history N] [--mode OCTAL] [--force]\n"
    "  remove --segment NAME           delete a segment no daemon owns (refused while one does)\n"
    "commands on etcd (no daemon needed):\n"
    "  push FILE --etcd URL[,URL...] --key KEY [--if-revision R]\n"
    "       [--cacert FILE] [--cert FILE --key-file FILE] [--user USER --password-file FILE]\n"
    "                                  write FILE's JSON to KEY if its mod_revision is still\n"
    "                                  the one just read (or R); exit 1 if it changed\n"
    "The daemon is found by --socket, else by the socket --config FILE names (read leniently:\n"
    "a broken file still leads to its daemon, which also knows its file by name), else by\n"
    "/etc/confvisor/confvisor.json, else as the only live daemon in $XDG_RUNTIME_DIR/confvisor\n"
    "(not as root) or /run/confvisor.\n"
    "Exit codes: 0 ok, 1 failed, 2 usage, 3 daemon not running, 4 permission denied,\n"
    "5 (status) a worker instance is FATAL or in BACKOFF.\n";

namespace {

struct Shape {
  std::size_t args;
  const char* arg_name;
};

// Every command and the one positional argument it takes, if any.
const std::map<std::string, Shape, std::less<>> kCommands = {
    {"status", {0, ""}},
    {"reload", {0, ""}},
    {"history", {0, ""}},
    {"start", {1, "NAME[:INSTANCE]"}},
    {"stop", {1, "NAME[:INSTANCE]"}},
    {"restart", {1, "NAME[:INSTANCE]"}},
    {"rollback", {1, "GENERATION"}},
    {"get", {1, "POINTER"}},
    {"logs", {1, "NAME[:INSTANCE]"}},
    {"show", {0, ""}},
    {"publish", {1, "FILE"}},
    {"remove", {0, ""}},
    {"push", {1, "FILE"}},
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

// A number of lines, or "all".
std::optional<std::uint64_t> parse_lines(const std::string& text) {
  if (text == "all") return std::nullopt;
  std::uint64_t lines = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), lines);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    throw UsageError{"--lines: expected a number of lines or \"all\", got \"" + text + "\""};
  }
  return lines;
}

std::chrono::milliseconds parse_timeout(const std::string& text) {
  try {
    return parse_duration(text);
  } catch (const Error& e) {
    throw UsageError{std::string("--timeout: ") + e.what()};
  }
}

po::options_description visible_options() {
  po::options_description options("options");
  options.add_options()("help,h", "print this help")("version", "print the version")(
      "socket", po::value<std::string>(), "the daemon's control socket PATH")(
      "config,c", po::value<std::string>(),
      "find the daemon by its config FILE (/confvisor/socket)")(
      "segment,s", po::value<std::string>(),
      "get, show, publish: the segment NAME (default: $CONFVISOR_SEGMENT); remove: required")(
      "json", "print JSON for scripts instead of tables")(
      "timeout", po::value<std::string>(),
      "how long to wait for the daemon (default 30s; start/stop/restart 2m; reload --wait: "
      "for the workers' reports, 30s); push: for each etcd request (default 5s)")(
      "wait", "reload: wait until every reporting instance has applied the new generation")(
      "history", po::value<unsigned>(),
      "publish: generations kept (1..64; default: as the segment has it, 8 for a new one)")(
      "mode", po::value<std::string>(), "publish: mode of a new segment (default 0640)")(
      "force", "publish: even into a segment a running confvisord serves")(
      "lines,n", po::value<std::string>(),
      "logs: how many recent lines (default 10; \"all\": every line kept)")(
      "follow,f", "logs: then follow new lines until interrupted")(
      "etcd", po::value<std::string>(), "push: the etcd cluster's client URLs, comma-separated")(
      "key", po::value<std::string>(), "push: the etcd key to write")(
      "if-revision", po::value<std::int64_t>(),
      "push: write only if the key's mod_revision is R (0: only if it does not exist)")(
      "cacert", po::value<std::string>(),
      "push: PEM FILE of the CAs that sign the members' certificates (https; default the "
      "system's)")("cert", po::value<std::string>(),
                   "push: PEM FILE of a client certificate (with --key-file)")(
      "key-file", po::value<std::string>(), "push: PEM FILE of the client certificate's key")(
      "user", po::value<std::string>(), "push: sign in to etcd as USER (with --password-file)")(
      "password-file", po::value<std::string>(),
      "push: FILE whose first line is the etcd user's password");
  return options;
}

po::variables_map parse_options(int argc, char** argv) {
  po::options_description hidden;
  hidden.add_options()("command", po::value<std::string>())("args",
                                                            po::value<std::vector<std::string>>());
  po::options_description all;
  all.add(visible_options()).add(hidden);
  po::positional_options_description positional;
  positional.add("command", 1).add("args", -1);

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  return vm;
}

void check_applies(const po::variables_map& vm, const Command& cmd) {
  const bool push = cmd.name == "push";
  const bool etcd_option = vm.count("etcd") || vm.count("key") || vm.count("if-revision") ||
                           vm.count("cacert") || vm.count("cert") || vm.count("key-file") ||
                           vm.count("user") || vm.count("password-file");
  if (etcd_option && !push) {
    throw UsageError{
        "--etcd, --key, --if-revision, --cacert, --cert, --key-file, --user and "
        "--password-file apply to push only"};
  }
  if (vm.count("cert") != vm.count("key-file")) {
    throw UsageError{"push: a client certificate needs both --cert and --key-file"};
  }
  if (vm.count("user") != vm.count("password-file")) {
    throw UsageError{"push: --user and --password-file go together"};
  }
  if (push && (!vm.count("etcd") || !vm.count("key"))) {
    throw UsageError{"push: pass --etcd URL and --key KEY"};
  }
  if (push && vm.count("if-revision") && vm["if-revision"].as<std::int64_t>() < 0) {
    throw UsageError{"--if-revision: expected a revision of 0 or more"};
  }
  if (push &&
      (vm.count("json") || vm.count("socket") || vm.count("config") || vm.count("segment"))) {
    throw UsageError{"push writes to etcd: --json, --socket, --config and --segment do not apply"};
  }
  const bool segment_only = cmd.name == "show" || cmd.name == "publish" || cmd.name == "remove";
  if (vm.count("json") && (cmd.name == "get" || cmd.name == "publish" || cmd.name == "remove")) {
    throw UsageError{"--json does not apply to " + cmd.name +
                     (cmd.name == "get" ? " (it prints JSON already)" : "")};
  }
  if ((vm.count("history") || vm.count("mode") || vm.count("force")) && cmd.name != "publish") {
    throw UsageError{"--history, --mode and --force apply to publish only"};
  }
  if (vm.count("wait") && cmd.name != "reload") throw UsageError{"--wait applies to reload only"};
  if ((vm.count("lines") || vm.count("follow")) && cmd.name != "logs") {
    throw UsageError{"--lines and --follow apply to logs only"};
  }
  if (vm.count("segment") && !segment_only && cmd.name != "get") {
    throw UsageError{"--segment applies to get, show, publish and remove; " + cmd.name +
                     " asks the daemon"};
  }
  if (vm.count("socket") && vm.count("config"))
    throw UsageError{"give --socket or --config, not both"};
  if ((vm.count("socket") || vm.count("config")) && segment_only) {
    throw UsageError{"--socket and --config find a daemon; " + cmd.name +
                     " works on --segment NAME"};
  }
}

}  // namespace

bool Command::reads_segment() const {
  return name == "show" || name == "publish" || name == "remove" || name == "push" ||
         (name == "get" && segment.has_value());
}

Command parse_command_line(int argc, char** argv) {
  const po::variables_map vm = parse_options(argc, argv);
  Command cmd;
  if (vm.count("help")) {
    std::ostringstream text;
    text << visible_options();
    cmd.info = Command::Info::help;
    cmd.options_help = text.str();
    return cmd;
  }
  if (vm.count("version")) {
    cmd.info = Command::Info::version;
    return cmd;
  }
  if (!vm.count("command")) throw UsageError{"missing command"};
  cmd.name = vm["command"].as<std::string>();
  if (vm.count("args")) cmd.args = vm["args"].as<std::vector<std::string>>();
  const auto shape = kCommands.find(cmd.name);
  if (shape == kCommands.end()) throw UsageError{"unknown command \"" + cmd.name + "\""};
  if (cmd.args.size() < shape->second.args)
    throw UsageError{cmd.name + ": missing " + shape->second.arg_name};
  if (cmd.args.size() > shape->second.args) {
    throw UsageError{cmd.name + ": unexpected \"" + cmd.args[shape->second.args] + "\""};
  }
  check_applies(vm, cmd);

  if (vm.count("segment")) {
    cmd.segment = vm["segment"].as<std::string>();
  } else if (const char* env = std::getenv("CONFVISOR_SEGMENT");
             env != nullptr && *env != '\0' && !vm.count("socket") && !vm.count("config")) {
    cmd.segment = env;
  }
  if (cmd.name == "remove" && !vm.count("segment")) {
    throw UsageError{
        "remove: pass --segment NAME ($CONFVISOR_SEGMENT is not enough to delete one)"};
  }
  if ((cmd.name == "show" || cmd.name == "publish") && !cmd.segment) {
    throw UsageError{"no segment: pass --segment NAME or set CONFVISOR_SEGMENT"};
  }
  if (vm.count("socket")) cmd.socket = vm["socket"].as<std::string>();
  if (vm.count("config")) cmd.config = vm["config"].as<std::string>();
  cmd.json = vm.count("json") != 0;
  if (vm.count("timeout")) cmd.timeout = parse_timeout(vm["timeout"].as<std::string>());
  if (vm.count("history")) cmd.history = vm["history"].as<unsigned>();
  if (vm.count("mode")) cmd.mode = parse_mode(vm["mode"].as<std::string>());
  cmd.force = vm.count("force") != 0;
  cmd.wait = vm.count("wait") != 0;
  if (vm.count("etcd")) cmd.etcd = vm["etcd"].as<std::string>();
  if (vm.count("key")) cmd.key = vm["key"].as<std::string>();
  if (vm.count("if-revision")) cmd.if_revision = vm["if-revision"].as<std::int64_t>();
  if (vm.count("cacert")) cmd.cacert = vm["cacert"].as<std::string>();
  if (vm.count("cert")) cmd.cert = vm["cert"].as<std::string>();
  if (vm.count("key-file")) cmd.key_file = vm["key-file"].as<std::string>();
  if (vm.count("user")) cmd.user = vm["user"].as<std::string>();
  if (vm.count("password-file")) cmd.password_file = vm["password-file"].as<std::string>();
  if (cmd.name == "logs") {
    cmd.lines = vm.count("lines") ? parse_lines(vm["lines"].as<std::string>())
                                  : std::optional<std::uint64_t>(10);
    cmd.follow = vm.count("follow") != 0;
  }
  if (cmd.name == "start" || cmd.name == "stop" || cmd.name == "restart" || cmd.name == "logs")
    (void)parse_target(cmd.args[0]);
  return cmd;
}

Target parse_target(const std::string& text) {
  const auto colon = text.find(':');
  Target target{text.substr(0, colon), std::nullopt};
  if (target.worker.empty())
    throw UsageError{"expected NAME or NAME:INSTANCE, got \"" + text + "\""};
  if (colon == std::string::npos) return target;
  const std::string number = text.substr(colon + 1);
  unsigned instance = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), instance);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size()) {
    throw UsageError{"expected NAME:INSTANCE with INSTANCE a number from 0, got \"" + text + "\""};
  }
  target.instance = instance;
  return target;
}

}  // namespace confvisor::ctl
