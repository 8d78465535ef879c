#include "common/segment/socket_dir.hpp"

#include <unistd.h>

#include <cstdlib>

namespace confvisor {

std::optional<std::string> user_socket_dir() {
  if (::geteuid() == 0) return std::nullopt;
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  if (runtime == nullptr || runtime[0] != '/') return std::nullopt;
  std::string dir(runtime);
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir + "/confvisor";
}

std::string default_socket_dir() {
  return user_socket_dir().value_or(std::string(kSystemSocketDir));
}

std::vector<std::string> socket_dirs() {
  std::vector<std::string> dirs;
  if (auto user = user_socket_dir()) dirs.push_back(*user);
  dirs.emplace_back(kSystemSocketDir);
  return dirs;
}

std::vector<std::string> default_socket_candidates(std::string_view segment) {
  std::vector<std::string> paths;
  for (const std::string& dir : socket_dirs())
    paths.push_back(dir + "/" + std::string(segment) + ".sock");
  return paths;
}

std::string default_socket_path(std::string_view segment) {
  return default_socket_dir() + "/" + std::string(segment) + ".sock";
}

}  // namespace confvisor
