#include "daemon/ctl/config_hints.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <cstdint>

#include "common/base/error.hpp"
#include "common/json/depth_limit.hpp"
#include "common/json/structure_handler.hpp"
#include "common/json/text.hpp"
#include "common/os/regular_file.hpp"

namespace confvisor::ctl {

namespace {

namespace json = boost::json;

// The daemon's default max_config_size: a larger file is no config a daemon runs.
constexpr std::size_t kMaxFile = 64u << 20;

// A basic_parser handler that keeps the string values of "socket" and "segment" in the
// top-level "confvisor" object as they go by, and builds nothing else. What it has seen
// stays valid when the parser stops at an error further on.
class HintsHandler : public StructureHandler<HintsHandler> {
 public:
  std::optional<std::string> socket, segment;

  // Depth 1 is the top-level object, 2 a value inside one of its members.
  bool open(Container container) {
    if (depth_ == 1) section_is_object_ = container == Container::object && in_section_key_;
    ++depth_;
    return true;
  }
  bool close() {
    --depth_;
    if (depth_ == 1) section_is_object_ = false;
    return true;
  }
  bool key(std::string_view key) {
    if (depth_ == 1) in_section_key_ = key == "confvisor";
    if (depth_ == 2) setting_ = key;
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    value_.append(s.data(), s.size());
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    value_.append(s.data(), s.size());
    if (in_section() && depth_ == 2) {
      // The first occurrence: the daemon refuses a file with a duplicate key, so a later
      // one cannot be what it runs with.
      if (setting_ == "socket" && !socket) socket = value_;
      if (setting_ == "segment" && !segment) segment = value_;
    }
    value_.clear();
    return true;
  }

 private:
  [[nodiscard]] bool in_section() const { return section_is_object_; }

  std::size_t depth_ = 0;
  bool in_section_key_ = false;     // the top-level member being read is "confvisor"
  bool section_is_object_ = false;  // and it is the object being read now
  std::string value_, setting_;
};

// The file's text, or why not (non-blocking open: a FIFO never holds us up).
std::optional<std::string> read_text(ConfigHints& hints) {
  RegularFile file = read_regular_file(hints.file, kMaxFile);
  switch (file.refusal) {
    case FileRefusal::none:
      return std::move(file.text);
    case FileRefusal::unreadable:
      hints.problem = sys_message("read " + hints.file, file.error);
      break;
    case FileRefusal::not_regular:
      hints.problem = hints.file + " is not a regular file";
      break;
    case FileRefusal::too_large:
      hints.problem = static_cast<std::uintmax_t>(file.status.st_size) > kMaxFile
                          ? hints.file + " is " + std::to_string(file.status.st_size) +
                                " bytes, larger than a config"
                          : hints.file + " is larger than a config";  // it grew
      break;
  }
  return std::nullopt;
}

}  // namespace

ConfigHints read_config_hints(const std::string& file) {
  ConfigHints hints;
  hints.file = file;
  const std::optional<std::string> text = read_text(hints);
  if (!text) return hints;
  hints.read = true;
  json::parse_options options;
  options.allow_comments = true;
  options.allow_trailing_commas = true;
  options.allow_invalid_utf8 = true;  // only two values are wanted; the daemon checks the rest
  options.max_depth = kMaxDocumentDepth;
  std::string_view view(*text);
  if (view.starts_with("\xEF\xBB\xBF")) view.remove_prefix(3);
  json::basic_parser<HintsHandler> parser(options);
  json::error_code ec;
  const std::size_t consumed = parser.write_some(false, view.data(), view.size(), ec);
  if (ec) {
    hints.problem = file_position(file, view, consumed) + ": " + ec.message();
  }
  hints.socket = parser.handler().socket;
  hints.segment = parser.handler().segment;
  return hints;
}

}  // namespace confvisor::ctl
