// conf.d: the fragments a config file's /confvisor/include list names, as nginx's include,
// systemd's drop-in directories and docker-compose's override files do it.
//
// Each entry is a path or a glob(3) pattern (with * ? or [...]), relative to the directory of
// the main file unless it is absolute. The files are merged (daemon/config/merge.hpp) in this
// order: the entries as listed; a pattern's matches in the byte order of their paths (as
// `LC_ALL=C ls` sorts them, whatever the locale); a file named again, by a later entry or by
// another name of the same file, is merged once, at its first place; the main file is never
// merged into itself (so "*.json" beside it means the others). A pattern that matches nothing
// adds nothing (conf.d may be empty or missing); a path without pattern characters must
// exist. As in the shell, a name starting with '.' only matches a pattern that starts it with
// a '.', so editors' hidden swap files stay out.
//
// glob(3) and not a matcher of our own: it is the shell's matching (brackets, escapes, a
// pattern in a directory part such as "*/worker.json") and reports the directories it cannot
// read. It only reads directories (opendir with O_DIRECTORY cannot block on a FIFO); the
// files it finds are read by read_regular_file, which refuses anything but a regular file.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <vector>

#include "common/base/errors.hpp"

namespace confvisor::config {

// The entries of /confvisor/include in `document` if it is a list of non-empty strings;
// none otherwise (validate_config reports what is wrong with it, and nothing is included).
[[nodiscard]] std::vector<std::string> include_patterns(const boost::json::value& document);

struct IncludedFiles {
  std::vector<std::string> paths;  // in merge order, each once (by its path)
  // "MAIN: /confvisor/include/1: unable to read the directory /etc/x/conf.d: Permission
  // denied"
  Errors errors;
};

// The files `patterns` (a main file's include list) name, in merge order.
[[nodiscard]] IncludedFiles expand_includes(const std::string& main_file,
                                            const std::vector<std::string>& patterns);

}  // namespace confvisor::config
