#include "daemon/config/command_path.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "common/base/error.hpp"
#include "common/json/describe.hpp"
#include "common/os/accounts.hpp"

namespace confvisor::config {
namespace {

constexpr mode_t kExecuteBits = S_IXUSR | S_IXGRP | S_IXOTH;

// The execute (search, for a directory) bit that applies to `as` for a file with `st`: the
// owner's bits for its owner, the group's for a member of its group, else the others'.
// Root may search every directory and execute a file with any execute bit.
bool may_execute(const struct stat& st, const Credentials& as) {
  if (as.uid == 0) return S_ISDIR(st.st_mode) || (st.st_mode & kExecuteBits) != 0;
  if (st.st_uid == as.uid) return (st.st_mode & S_IXUSR) != 0;
  const bool member = st.st_gid == as.gid ||
                      std::find(as.groups.begin(), as.groups.end(), st.st_gid) != as.groups.end();
  if (member) return (st.st_mode & S_IXGRP) != 0;
  return (st.st_mode & S_IXOTH) != 0;
}

// Whether `as` may search every directory on the way to `path` ("/", "/usr", "/usr/bin" for
// "/usr/bin/env"; ".", "bin" for "bin/tool"). A directory that cannot be examined is left
// to the check of `path` itself.
bool may_reach(const std::string& path, const Credentials& as) {
  std::size_t slash = path.find('/');
  if (slash != 0) {
    struct stat here {};
    if (::stat(".", &here) == 0 && !may_execute(here, as)) return false;
  }
  for (; slash != std::string::npos; slash = path.find('/', slash + 1)) {
    const std::string dir = slash == 0 ? "/" : path.substr(0, slash);
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && !may_execute(st, as)) {
      return false;
    }
  }
  return true;
}

// What execve would say about `path`, checked without running it.
enum class Verdict { runnable, missing, refused };
struct Probe {
  Verdict verdict = Verdict::runnable;
  std::string why;  // for missing and refused: the reason, to follow the path (": ...", " is ...")
};

std::string may_not(const Credentials& as, std::string_view what) {
  const std::string subject = as.who.empty() ? "confvisord" : as.who;
  return subject + " may not " + std::string(what) + " it: " + std::strerror(EACCES);
}

Probe probe_program(const std::string& path, const Credentials& as) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    const bool missing = err == ENOENT || err == ENOTDIR;
    return {missing ? Verdict::missing : Verdict::refused, std::string(": ") + std::strerror(err)};
  }
  if (S_ISDIR(st.st_mode)) return {Verdict::refused, " is a directory, not a program"};
  if (!S_ISREG(st.st_mode)) return {Verdict::refused, " is not a regular file"};
  if (as.own) {
    if (::faccessat(AT_FDCWD, path.c_str(), X_OK, AT_EACCESS) != 0) {
      return {Verdict::refused, ": not executable: " + std::string(std::strerror(errno))};
    }
    return {};
  }
  if (!may_reach(path, as) || !may_execute(st, as)) {
    return {Verdict::refused, ": " + may_not(as, "execute")};
  }
  return {};
}

// `name` as the worker's process sees it after its chdir to spec.cwd.
std::string in_working_directory(const WorkerSpec& spec, std::string name) {
  if (name.starts_with('/') || !spec.cwd) return name;
  return *spec.cwd + (spec.cwd->ends_with('/') ? "" : "/") + name;
}

std::string look_up(const WorkerSpec& spec, const std::string& name, std::string_view search_path,
                    const Credentials& as) {
  std::optional<std::string> refused;  // the first candidate found but not runnable
  std::size_t begin = 0;
  for (;;) {
    const std::size_t end = std::min(search_path.find(':', begin), search_path.size());
    const std::string_view dir = search_path.substr(begin, end - begin);
    // An empty entry means the current directory, as for execvp.
    const std::string candidate = in_working_directory(
        spec, dir.empty() ? name : std::string(dir) + (dir.ends_with('/') ? "" : "/") + name);
    const Probe probe = probe_program(candidate, as);
    if (probe.verdict == Verdict::runnable) return candidate;
    if (probe.verdict == Verdict::refused && !refused) refused = candidate + probe.why;
    if (end == search_path.size()) break;
    begin = end + 1;
  }
  const std::string where = quote_text(name, 256) + " in PATH " + quote_text(search_path, 512);
  if (refused) throw Error("no runnable " + where + " (" + *refused + ")");
  throw Error("no " + where + ": " + std::strerror(ENOENT));
}

// The name and primary group of uid `uid`, if the user database has it.
struct Account {
  std::string name;
  gid_t gid = 0;
};

std::optional<Account> account_of(uid_t uid) {
  std::vector<char> buffer(16 * 1024);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  return Account{entry.pw_name, entry.pw_gid};
}

std::vector<gid_t> group_list(const std::string& user, gid_t gid) {
  int n = 64;
  std::vector<gid_t> list(static_cast<std::size_t>(n));
  if (::getgrouplist(user.c_str(), gid, list.data(), &n) < 0) {
    list.resize(static_cast<std::size_t>(n));
    ::getgrouplist(user.c_str(), gid, list.data(), &n);
  }
  list.resize(static_cast<std::size_t>(n));
  return list;
}

}  // namespace

// The same ids spawn_worker's child takes: the user's uid, its primary group unless a group
// is named, and the user's supplementary groups (only the group, for a group alone).
Credentials credentials_of(const WorkerSpec& spec) {
  if (!spec.user && !spec.group) return {};
  Credentials as;
  as.own = false;
  const std::optional<uid_t> uid = spec.user ? find_user(*spec.user) : ::geteuid();
  if (!uid) throw Error("unknown user " + quote_text(*spec.user));
  as.uid = *uid;
  const std::optional<Account> account = account_of(*uid);
  as.gid = spec.user && account ? account->gid : ::getegid();
  if (spec.group) {
    const std::optional<gid_t> gid = find_group(*spec.group);
    if (!gid) throw Error("unknown group " + quote_text(*spec.group));
    as.gid = *gid;
  }
  as.groups = spec.user && account ? group_list(account->name, as.gid) : std::vector<gid_t>{as.gid};
  as.who = spec.user ? "user " + *spec.user : "group " + *spec.group;
  return as;
}

std::string_view search_path_of(const WorkerSpec& spec) {
  const auto path = spec.env.find("PATH");
  return path != spec.env.end() ? std::string_view(path->second) : kBasePath;
}

std::string resolve_program(const WorkerSpec& spec, std::string_view search_path,
                            const Credentials& as) {
  const std::string& name = spec.command.at(0);
  if (name.find('/') == std::string::npos) return look_up(spec, name, search_path, as);
  const std::string path = in_working_directory(spec, name);
  const Probe probe = probe_program(path, as);
  if (probe.verdict != Verdict::runnable) throw Error(path + probe.why);
  return path;
}

void check_working_directory(const WorkerSpec& spec, const Credentials& as) {
  if (!spec.cwd) return;
  const std::string& dir = *spec.cwd;
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    const int err = errno;
    throw Error((err == ENOENT ? "no such directory: " : "unable to examine it: ") +
                std::string(std::strerror(err)));
  }
  if (!S_ISDIR(st.st_mode)) throw Error(dir + " is not a directory");
  if (as.own) {
    if (::faccessat(AT_FDCWD, dir.c_str(), X_OK, AT_EACCESS) != 0) {
      throw Error("confvisord may not enter it: " + std::string(std::strerror(errno)));
    }
    return;
  }
  if (!may_reach(dir, as) || !may_execute(st, as)) throw Error(may_not(as, "enter"));
}

}  // namespace confvisor::config
