#include "common/os/accounts.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <vector>

namespace confvisor {
namespace {

// A whole decimal number and nothing else, as an id.
template <class Id>
std::optional<Id> parse_id(const std::string& text) {
  Id id{};
  const auto result = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || result.ec != std::errc{} || result.ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return id;
}

// Calls one of the reentrant get*_r functions, growing the buffer while it says ERANGE
// (the thread-safe versions: the daemon may look names up while other threads run).
template <class Entry, class Lookup>
bool lookup_entry(Entry& entry, Lookup lookup) {
  std::vector<char> buffer(1024);
  for (;;) {
    Entry* found = nullptr;
    const int err = lookup(&entry, buffer.data(), buffer.size(), &found);
    if (err == ERANGE && buffer.size() < (1u << 20)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    return err == 0 && found != nullptr;
  }
}

}  // namespace

std::optional<uid_t> find_user(const std::string& name_or_id) {
  passwd entry{};
  const auto id = parse_id<uid_t>(name_or_id);
  const bool found = lookup_entry(entry, [&](passwd* e, char* buf, std::size_t size, passwd** out) {
    return id ? getpwuid_r(*id, e, buf, size, out)
              : getpwnam_r(name_or_id.c_str(), e, buf, size, out);
  });
  if (!found) return std::nullopt;
  return entry.pw_uid;
}

std::optional<gid_t> find_group(const std::string& name_or_id) {
  group entry{};
  const auto id = parse_id<gid_t>(name_or_id);
  const bool found = lookup_entry(entry, [&](group* e, char* buf, std::size_t size, group** out) {
    return id ? getgrgid_r(*id, e, buf, size, out)
              : getgrnam_r(name_or_id.c_str(), e, buf, size, out);
  });
  if (!found) return std::nullopt;
  return entry.gr_gid;
}

}  // namespace confvisor
