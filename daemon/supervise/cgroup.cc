#include "daemon/supervise/cgroup.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "common/base/error.hpp"
#include "common/os/directory.hpp"

namespace confvisor::supervise {

namespace {

// Field 5 (the mount point) and the filesystem type after the " - " separator of a
// /proc/self/mountinfo line; also field 4, the root of the mount within the hierarchy.
struct Mount {
  std::string root, point, type;
};

std::optional<Mount> parse_mountinfo_line(const std::string& line) {
  std::istringstream in(line);
  std::string id, parent, device;
  Mount m;
  if (!(in >> id >> parent >> device >> m.root >> m.point)) return std::nullopt;
  const auto dash = line.find(" - ");
  if (dash == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(dash + 3));
  if (!(rest >> m.type)) return std::nullopt;
  return m;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_octal(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool escape = s[i] == '\\' && i + 3 < s.size() &&
                        s.substr(i + 1, 3).find_first_not_of("01234567") == std::string::npos &&
                        s.substr(i + 1, 3).size() == 3;
    if (escape) {
      out += static_cast<char>(std::strtol(s.substr(i + 1, 3).c_str(), nullptr, 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::set<std::string> words_of(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string word; in >> word;) out.insert(word);
  return out;
}

std::optional<CgroupPlace> find_own_cgroup() {
  const auto mountinfo = read_small_file("/proc/self/mountinfo");
  const auto cgroups = read_small_file("/proc/self/cgroup");
  if (!mountinfo || !cgroups) return std::nullopt;
  std::optional<Mount> mount;
  std::istringstream lines(*mountinfo);
  for (std::string line; std::getline(lines, line);) {
    auto m = parse_mountinfo_line(line);
    if (m && m->type == "cgroup2") {
      mount = std::move(m);
      break;
    }
  }
  if (!mount) return std::nullopt;
  std::optional<std::string> own;
  std::istringstream entries(*cgroups);
  for (std::string line; std::getline(entries, line);) {
    if (line.starts_with("0::")) own = line.substr(3);
  }
  if (!own || !own->starts_with('/')) return std::nullopt;
  // A mount of a subtree (in a container) shows only what is below its root.
  const std::string root = unescape_octal(mount->root);
  std::string below = *own;
  if (root != "/") {
    if (!(below == root || below.starts_with(root + "/"))) return std::nullopt;
    below = below.substr(root.size());
  }
  if (below == "/") below.clear();
  return CgroupPlace{unescape_octal(mount->point), unescape_octal(mount->point) + below, *own};
}

Cgroup Cgroup::create(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) throw_sys("create cgroup " + path);
  return Cgroup(path);
}

bool Cgroup::exists() const {
  struct stat st {};
  return ::stat((path_ + "/cgroup.procs").c_str(), &st) == 0;
}

bool Cgroup::populated() const {
  const auto events = read("cgroup.events");
  if (!events) return false;  // removed: nothing can be in it
  return events->find("populated 1") != std::string::npos;
}

std::vector<pid_t> Cgroup::pids() const {
  std::vector<pid_t> out;
  if (const auto procs = read("cgroup.procs")) {
    std::istringstream in(*procs);
    for (long pid; in >> pid;) out.push_back(static_cast<pid_t>(pid));
  }
  for (const Cgroup& child : children()) {
    const auto below = child.pids();
    out.insert(out.end(), below.begin(), below.end());
  }
  return out;
}

std::vector<Cgroup> Cgroup::children() const {
  std::vector<Cgroup> out;
  for (const std::string& name : directory_entries(path_)) {
    Cgroup child(path_ + "/" + name);
    if (child.exists()) out.push_back(std::move(child));
  }
  return out;
}

std::set<std::string> Cgroup::controllers() const {
  return words_of(read("cgroup.controllers").value_or(""));
}

std::set<std::string> Cgroup::subtree_control() const {
  return words_of(read("cgroup.subtree_control").value_or(""));
}

void Cgroup::kill() const {
  write("cgroup.kill", "1");
}

bool Cgroup::remove(std::string* why) const {
  bool all = true;
  for (const Cgroup& child : children()) all = child.remove(why) && all;
  if (::rmdir(path_.c_str()) == 0 || errno == ENOENT) return all;
  if (why != nullptr) *why = sys_message("remove cgroup " + path_);
  return false;
}

void Cgroup::write(const std::string& name, const std::string& value) const {
  const std::string file = path_ + "/" + name;
  const UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) throw_sys("open " + file);
  ssize_t n;
  while ((n = ::write(fd.get(), value.data(), value.size())) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(value.size())) throw_sys("write \"" + value + "\" to " + file);
}

std::optional<std::string> Cgroup::read(const std::string& name) const {
  return read_small_file(path_ + "/" + name);
}

UniqueFd Cgroup::open_procs() const {
  const std::string file = path_ + "/cgroup.procs";
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) throw_sys("open " + file);
  return fd;
}

}  // namespace confvisor::supervise
