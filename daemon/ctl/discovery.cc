#include "daemon/ctl/discovery.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "common/os/directory.hpp"
#include "common/os/unique_fd.hpp"
#include "common/segment/socket_dir.hpp"
#include "daemon/control/client.hpp"
#include "daemon/control/protocol.hpp"
#include "daemon/ctl/config_hints.hpp"

namespace confvisor::ctl {

namespace fs = std::filesystem;
using control::ClientError;

namespace {

// How long one daemon gets to say which config it runs, while looking for the one of a file.
constexpr std::chrono::seconds kAskTimeout{2};

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

std::vector<Listener> live_sockets_everywhere() {
  std::vector<Listener> all;
  for (const std::string& dir : socket_dirs()) {
    for (Listener& l : live_sockets(dir)) all.push_back(std::move(l));
  }
  return all;
}

// The same file, whether named by a relative path, through a symlink, or (deleted since the
// daemon loaded it) only by the absolute path the daemon was started with.
bool same_file(const std::string& daemons, const std::string& ours) {
  std::error_code ec;
  const fs::path a = fs::path(daemons).lexically_normal();
  const fs::path b = fs::absolute(ours, ec).lexically_normal();
  if (!ec && a == b) return true;
  return fs::equivalent(a, ours, ec) && !ec;
}

// The live daemon whose config is `file`, asked one by one; "" if none.
std::string daemon_running(const std::string& file) {
  for (const Listener& listener : live_sockets_everywhere()) {
    if (listener.denied) continue;  // not one we could use anyway
    const std::string& path = listener.path;
    try {
      control::Client client(path);
      const boost::json::object reply = client.call(control::make_request("status"), kAskTimeout);
      const auto* result = reply.if_contains("result");
      if (result == nullptr || !result->is_object()) continue;
      const auto* config = result->get_object().if_contains("config");
      if (config != nullptr && config->is_string() &&
          same_file(std::string(config->get_string()), file)) {
        return path;
      }
    } catch (const ClientError&) {
      // Not ours to use, gone meanwhile, or slow: it is not the one we can reach anyway.
    }
  }
  return {};
}

// `file` is --config FILE (`named`) or the packaged config.
std::string socket_of_config(const std::string& file, bool named) {
  const ConfigHints hints = read_config_hints(file);
  std::vector<std::string> candidates;
  if (hints.socket) {
    candidates.push_back(*hints.socket);
  } else if (hints.segment) {
    candidates = default_socket_candidates(*hints.segment);
  }
  for (const std::string& candidate : candidates) {
    const Probe p = probe_socket(candidate);
    if (p == Probe::live || p == Probe::denied) return candidate;  // the client says "denied"
  }
  // Nobody answers where the file points: it may have been edited (a new socket a restart
  // would bind), broken or deleted since the daemon loaded it. The daemon knows its file.
  if (std::string running = daemon_running(file); !running.empty()) return running;

  const std::string flags = named ? "pass --socket PATH, or --config with the daemon's config file"
                                  : "pass --socket PATH or --config FILE";
  if (!hints.read)
    throw Error(*hints.problem + "; no running daemon has it as its config: " + flags);
  if (!candidates.empty()) {
    std::string why = "confvisord is not running: nobody answers on " + join(candidates, " or ") +
                      " (named by " + file + ")";
    if (hints.problem)
      why +=
          "; " + *hints.problem + " (confvisord --check --config " + file + " shows every error)";
    throw ClientError(ClientError::Kind::not_running, why);
  }
  if (hints.problem) {
    throw Error(*hints.problem +
                ", before /confvisor/segment and /confvisor/socket, and no running daemon has " +
                file + " as its config: " + flags);
  }
  throw Error(file + ": no /confvisor/segment: not a confvisord config (" + flags + ")");
}

std::string only_daemon() {
  std::vector<std::string> usable, denied;
  for (const Listener& l : live_sockets_everywhere())
    (l.denied ? denied : usable).push_back(l.path);
  if (usable.size() == 1) return usable.front();
  if (usable.empty() && denied.size() == 1) return denied.front();  // the client says why not
  const std::string dirs = join(socket_dirs(), " or ");
  if (usable.empty() && denied.empty()) {
    throw ClientError(ClientError::Kind::not_running,
                      "confvisord is not running: no daemon answers in " + dirs +
                          " and there is no " + std::string(control::kDefaultConfig) +
                          " (pass --socket PATH or --config FILE)");
  }
  std::string list;
  for (const auto& s : usable) list += "\n  " + s;
  for (const auto& s : denied) list += "\n  " + s + " (permission denied)";
  throw Error("several daemons listen in " + dirs +
              ": pass --socket PATH or --config FILE:" + list);
}

}  // namespace

// Non-blocking, so a daemon whose backlog is full (stopped, or swamped) costs no wait: it is
// there, which is all a probe asks.
Probe probe_socket(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return Probe::unusable;
  const UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Probe::unusable;
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return Probe::live;
  switch (errno) {
    case EAGAIN:
    case EINPROGRESS:
      return Probe::live;
    case ENOENT:
    case ECONNREFUSED:
      return Probe::dead;
    case EACCES:
    case EPERM:
      return Probe::denied;
    default:
      return Probe::unusable;
  }
}

std::vector<Listener> live_sockets(const std::string& dir) {
  std::vector<std::string> names = directory_entries(dir);
  std::sort(names.begin(), names.end());
  std::vector<Listener> live;
  for (const std::string& name : names) {
    if (!name.ends_with(".sock")) continue;
    std::string path = dir + "/" + name;
    const Probe p = probe_socket(path);
    if (p == Probe::live || p == Probe::denied)
      live.push_back({std::move(path), p == Probe::denied});
  }
  return live;
}

std::string find_socket(const Command& cmd) {
  if (cmd.socket) return *cmd.socket;
  if (cmd.config) return socket_of_config(*cmd.config, true);
  const std::string packaged(control::kDefaultConfig);
  std::error_code ec;
  if (fs::exists(packaged, ec)) return socket_of_config(packaged, false);
  return only_daemon();
}

}  // namespace confvisor::ctl
