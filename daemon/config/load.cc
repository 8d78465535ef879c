// Reading a config file and turning its text into a document: every syntax-level check
// (size, UTF-8, JSON, duplicate keys, depth, the top level) with FILE:LINE:COL errors, then
// validate_config for the meaning.
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <cstdint>
#include <cstring>

#include "common/base/error.hpp"
#include "common/json/describe.hpp"
#include "common/json/pointer.hpp"
#include "common/json/scan.hpp"
#include "common/json/text.hpp"
#include "common/json/utf8.hpp"
#include "common/os/regular_file.hpp"
#include "daemon/config/model.hpp"

namespace confvisor::config {
namespace {

namespace json = boost::json;

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

json::parse_options config_parse_options(std::size_t max_depth) {
  json::parse_options options;
  options.allow_comments = true;
  options.allow_trailing_commas = true;
  options.max_depth = max_depth;
  return options;
}

// "FILE:LINE:COL: " for byte `offset` of `text`.
std::string position_prefix(const std::string& file, std::string_view text, std::size_t offset) {
  return file_position(file, text, offset) + ": ";
}

// Boost.JSON's words for its errors are terse ("syntax error", "too deep"): say what was
// found, and name the limit when there is one.
std::string syntax_message(const json::error_code& error, std::string_view text, std::size_t offset,
                           std::size_t max_depth) {
  if (error == json::error::too_deep) {
    if (max_depth == kMaxConfigDepth) {
      return "nested deeper than " + std::to_string(kMaxConfigDepth) +
             " levels (the depth limit of config files)";
    }
    return "nested deeper than " + std::to_string(max_depth) +
           " levels (what the depth limit of config files, " + std::to_string(kMaxConfigDepth) +
           ", leaves at this place)";
  }
  if (error == json::error::extra_data) {
    return "unexpected " + describe_text_at(text, offset) + " after the end of the document";
  }
  if (error == json::error::incomplete) return "unexpected end of file";
  if (error == json::error::syntax) return "syntax error at " + describe_text_at(text, offset);
  return error.message() + " at " + describe_text_at(text, offset);
}

LoadResult failure(Errors errors) {
  return {std::nullopt, std::move(errors)};
}

// The second pass builds the value; after scan_json accepted the text it cannot fail, but if
// it ever did, its error is reported the same way instead of being trusted away.
std::optional<json::value> build_document(std::string_view text, const std::string& file,
                                          std::size_t max_depth, Errors& errors) {
  json::parser parser({}, config_parse_options(max_depth));
  // The document is read, never edited, and replaced whole by the next reload: its nodes
  // come from one arena of its own (no malloc and free per node), counted so that copies of
  // its parts stay valid. Whoever keeps the document must move-construct it: a
  // move-assignment would copy it, node by node, into the target's storage.
  parser.reset(json::make_shared_resource<json::monotonic_resource>(2 * text.size() + 1024));
  json::error_code error;
  const std::size_t consumed = parser.write_some(text.data(), text.size(), error);
  if (!error && consumed < text.size()) error = json::error::extra_data;
  if (error) {
    errors.add(position_prefix(file, text, consumed) +
               syntax_message(error, text, consumed, max_depth));
    return std::nullopt;
  }
  return parser.release();
}

// A config that is valid now but larger than the max_config_size it sets would be refused
// by the next reload: say so while the author is still looking at it.
void check_own_size(std::string_view text, const std::string& file, LoadResult& result) {
  if (!result.config || text.size() <= result.config->settings.max_config_size) return;
  result.errors.add(file + ": /confvisor/max_config_size: " +
                    std::to_string(result.config->settings.max_config_size) +
                    " bytes is less than the size of this file (" + std::to_string(text.size()) +
                    " bytes): the next reload would refuse it");
  result.config.reset();
}

}  // namespace

std::string file_refusal(const RegularFile& file, std::size_t max_size) {
  switch (file.refusal) {
    case FileRefusal::unreadable:
      return "unable to read: " + std::string(std::strerror(file.error));
    case FileRefusal::not_regular:
      return "not a regular file (" + std::string(file_type_name(file.status.st_mode)) + ")";
    case FileRefusal::too_large:
      if (static_cast<std::uintmax_t>(file.status.st_size) <= max_size) {
        return "file is larger than max_config_size " + std::to_string(max_size);  // it grew
      }
      return "file is " + std::to_string(file.status.st_size) +
             " bytes, larger than max_config_size " + std::to_string(max_size);
    case FileRefusal::none:
      break;
  }
  return {};  // it was read
}

LoadResult load_config(const std::string& path, std::size_t max_size) {
  const RegularFile file = read_regular_file(path, max_size);
  if (file.refusal != FileRefusal::none) {
    return failure({path + ": " + file_refusal(file, max_size)});
  }
  return load_config_text(file.text, path);
}

ParsedText parse_config_text(std::string_view text, const std::string& name,
                             std::size_t max_depth) {
  ParsedText parsed;
  // Every later check would only repeat an encoding error in other words: stop at the first.
  if (const auto bad = find_invalid_utf8(text)) {
    parsed.errors.add(position_prefix(name, text, *bad) + "invalid UTF-8");
    return parsed;
  }
  std::size_t skipped = 0;
  if (text.starts_with(kByteOrderMark)) skipped = kByteOrderMark.size();
  const std::string_view body = text.substr(skipped);

  const JsonScan scan = scan_json(body, config_parse_options(max_depth));
  for (const DuplicateKey& duplicate : scan.duplicates) {
    const std::string where = duplicate.object_pointer.empty()
                                  ? "the top-level object"
                                  : printable_pointer(duplicate.object_pointer);
    parsed.errors.add(position_prefix(name, body, duplicate.offset) + "duplicate key " +
                      quote_text(duplicate.key) + " in " + where);
  }
  if (scan.error) {
    parsed.errors.add(position_prefix(name, body, scan.error_offset) +
                      syntax_message(scan.error, body, scan.error_offset, max_depth));
    return parsed;
  }
  // Duplicate keys do not stop the parse: the caller may go on to report more mistakes.
  std::optional<json::value> value = build_document(body, name, max_depth, parsed.errors);
  if (value) parsed.value.emplace(std::move(*value));
  return parsed;
}

LoadResult load_config_text(std::string_view text, const std::string& file) {
  ParsedText parsed = parse_config_text(text, file);
  if (!parsed.value) return failure(std::move(parsed.errors));
  json::value& document = *parsed.value;
  if (!document.is_object()) {
    const std::string_view body =
        text.starts_with(kByteOrderMark) ? text.substr(kByteOrderMark.size()) : text;
    parsed.errors.add(position_prefix(file, body, skip_blank(body, 0)) +
                      "the top level must be a JSON object, found " +
                      std::string(kind_name(document)));
    return failure(std::move(parsed.errors));
  }
  // Duplicate keys do not stop validation: the rest of the file's mistakes are reported too.
  LoadResult result = validate_config(file, std::move(document));
  check_own_size(text, file, result);
  if (!parsed.errors.empty()) {
    parsed.errors.add(result.errors);
    return failure(std::move(parsed.errors));
  }
  return result;
}

}  // namespace confvisor::config
