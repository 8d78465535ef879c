#include "daemon/config/include.hpp"

#include <glob.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "common/json/pointer.hpp"

namespace confvisor::config {
namespace {

constexpr std::string_view kPatternChars = "*?[";

bool is_pattern(std::string_view path) {
  return path.find_first_of(kPatternChars) != std::string_view::npos;
}

// The directory of `main_file` as a glob pattern matching itself only ("" or ending in '/').
std::string directory_of(const std::string& main_file) {
  const std::size_t slash = main_file.rfind('/');
  if (slash == std::string::npos) return {};
  std::string escaped;
  for (char c : std::string_view(main_file).substr(0, slash + 1)) {
    if (c == '\\' || kPatternChars.find(c) != std::string_view::npos) escaped += '\\';
    escaped += c;
  }
  return escaped;
}

// glob(3)'s error callback has no context: the first directory it could not read is kept
// here for the call that is running (on this thread).
thread_local std::string unreadable_directory;
thread_local int unreadable_error = 0;

// A directory of the pattern that does not exist is no match (conf.d need not exist); any
// other error stops the search.
int on_glob_error(const char* path, int error) {
  if (error == ENOENT || error == ENOTDIR) return 0;
  unreadable_directory = path;
  unreadable_error = error;
  return 1;
}

// The paths `pattern` matches, in byte order; an error message if a directory on the way
// cannot be read.
std::vector<std::string> matches(const std::string& pattern, std::string& error) {
  unreadable_directory.clear();
  unreadable_error = 0;
  glob_t found{};
  const int result = ::glob(pattern.c_str(), GLOB_NOSORT, on_glob_error, &found);
  std::vector<std::string> paths;
  if (result == 0) paths.assign(found.gl_pathv, found.gl_pathv + found.gl_pathc);
  ::globfree(&found);
  if (result == GLOB_ABORTED) {
    error = "unable to read the directory " + unreadable_directory + ": " +
            std::strerror(unreadable_error);
  } else if (result == GLOB_NOSPACE) {
    error = "unable to expand the pattern: out of memory";
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace

std::vector<std::string> include_patterns(const boost::json::value& document) {
  const boost::json::object* top = document.if_object();
  const boost::json::value* section = top != nullptr ? top->if_contains("confvisor") : nullptr;
  const boost::json::value* list = section != nullptr && section->is_object()
                                       ? section->get_object().if_contains("include")
                                       : nullptr;
  if (list == nullptr || !list->is_array()) return {};
  std::vector<std::string> patterns;
  for (const boost::json::value& entry : list->get_array()) {
    if (!entry.is_string() || entry.get_string().empty() ||
        std::string_view(entry.get_string()).find('\0') != std::string_view::npos) {
      return {};
    }
    patterns.emplace_back(entry.get_string());
  }
  return patterns;
}

IncludedFiles expand_includes(const std::string& main_file,
                              const std::vector<std::string>& patterns) {
  IncludedFiles included;
  std::set<std::string> named;
  const std::string directory = directory_of(main_file);
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    const std::string& pattern = patterns[i];
    std::vector<std::string> paths;
    if (!is_pattern(pattern)) {
      // rfind gives npos for a main file without a directory: npos + 1 is 0.
      const std::string plain_directory = main_file.substr(0, main_file.rfind('/') + 1);
      paths.push_back(pattern.starts_with('/') ? pattern : plain_directory + pattern);
    } else {
      std::string error;
      paths = matches(pattern.starts_with('/') ? pattern : directory + pattern, error);
      if (!error.empty()) {
        included.errors.add(main_file + ": " +
                            printable_pointer(child_pointer("/confvisor/include", i)) + ": " +
                            error);
      }
    }
    for (std::string& path : paths) {
      if (path != main_file && named.insert(path).second) {
        included.paths.push_back(std::move(path));
      }
    }
  }
  return included;
}

}  // namespace confvisor::config
