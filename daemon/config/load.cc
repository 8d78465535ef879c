// Reading a config file and turning its text into a document: every syntax-level check
// (size, UTF-8, JSON, duplicate keys, depth, the top level) with FILE:LINE:COL errors, the
// same for each fragment it includes, merged in, then validate_config for the meaning.
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
#include "daemon/config/include.hpp"
#include "daemon/config/merge.hpp"
#include "daemon/config/model.hpp"

namespace confvisor::config {
namespace {

namespace json = boost::json;

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

json::parse_options parse_options_of(std::size_t max_depth) {
  json::parse_options options;
  options.allow_comments = true;
  options.allow_trailing_commas = true;
  options.max_depth = max_depth;
  return options;
}

std::string_view without_byte_order_mark(std::string_view text) {
  if (text.starts_with(kByteOrderMark)) text.remove_prefix(kByteOrderMark.size());
  return text;
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
  return {std::nullopt, std::move(errors), {}};
}

// The second pass builds the value; after scan_json accepted the text it cannot fail, but if
// it ever did, its error is reported the same way instead of being trusted away.
std::optional<json::value> build_document(std::string_view text, const std::string& file,
                                          std::size_t max_depth, Errors& errors) {
  json::parser parser({}, parse_options_of(max_depth));
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
// by the next reload: say so while the author is still looking at it. `size` counts the
// file and its fragments.
void check_own_size(std::size_t size, LoadResult& result) {
  if (!result.config || size <= result.config->settings.max_config_size) return;
  const bool fragments = result.config->origins.files().size() > 1;
  result.errors.add(result.config->origins.where("/confvisor/max_config_size") + ": " +
                    std::to_string(result.config->settings.max_config_size) +
                    " bytes is less than the size of this file" +
                    (fragments ? " and its fragments together (" : " (") + std::to_string(size) +
                    " bytes): the next reload would refuse it");
  result.config.reset();
}

// A JSON value of any kind from `text`, after every syntax-level check; nullopt after an
// error that stops the parse (any but duplicate keys, which are reported and go on).
std::optional<json::value> parse_value(std::string_view text, const std::string& file,
                                       std::size_t max_depth, Errors& errors) {
  // Every later check would only repeat an encoding error in other words: stop at the first.
  if (const auto bad = find_invalid_utf8(text)) {
    errors.add(position_prefix(file, text, *bad) + "invalid UTF-8");
    return std::nullopt;
  }
  text = without_byte_order_mark(text);

  const JsonScan scan = scan_json(text, parse_options_of(max_depth));
  for (const DuplicateKey& duplicate : scan.duplicates) {
    const std::string where = duplicate.object_pointer.empty()
                                  ? "the top-level object"
                                  : printable_pointer(duplicate.object_pointer);
    errors.add(position_prefix(file, text, duplicate.offset) + "duplicate key " +
               quote_text(duplicate.key) + " in " + where);
  }
  if (scan.error) {
    errors.add(position_prefix(file, text, scan.error_offset) +
               syntax_message(scan.error, text, scan.error_offset, max_depth));
    return std::nullopt;
  }
  return build_document(text, file, max_depth, errors);
}

// One file's text as a document: parse_value, and the top level must be an object.
std::optional<json::value> parse_text(std::string_view text, const std::string& file,
                                      Errors& errors) {
  std::optional<json::value> document = parse_value(text, file, kMaxConfigDepth, errors);
  if (!document) return std::nullopt;
  text = without_byte_order_mark(text);
  if (!document->is_object()) {
    errors.add(position_prefix(file, text, skip_blank(text, 0)) +
               "the top level must be a JSON object, found " + std::string(kind_name(*document)));
    return std::nullopt;
  }
  return document;
}

// Why a fragment was not read. Its size is refused against what is left of max_size once
// the files before it were read.
std::string fragment_refusal(const RegularFile& file, std::size_t before, std::size_t max_size) {
  if (file.refusal != FileRefusal::too_large) return file_refusal(file, max_size);
  return "file is " + std::to_string(file.status.st_size) + " bytes; with the " +
         std::to_string(before) + " bytes of the files merged before it, more than " +
         "max_config_size " + std::to_string(max_size) +
         " (which counts the main file and its fragments together)";
}

// A main file's document with the fragments its include patterns name merged in.
struct Composition {
  // `errors` so far, of the main file of `main_size` bytes.
  Composition(const std::string& main_path, std::size_t limit, Errors so_far, std::size_t main_size)
      : path(main_path), max_size(limit), errors(std::move(so_far)), total(main_size) {}

  const std::string& path;
  std::size_t max_size;
  Origins origins{path};
  Errors errors;
  std::vector<std::string> texts;  // of the files merged, in origins' order: for positions
  std::size_t total = 0;           // bytes read, main file included
  bool stopped = false;  // a fragment could not be read or parsed: nothing worth validating

  // Reads and merges the fragments into `document`, the main file's (read as `main`).
  void merge(const std::vector<std::string>& patterns, const RegularFile& main,
             json::object& document) {
    texts.emplace_back(without_byte_order_mark(main.text));
    IncludedFiles included = expand_includes(path, patterns);
    errors.add(included.errors);
    // One file under two names (a symbolic link, the main file matched by its own pattern)
    // is merged once.
    std::vector<std::pair<dev_t, ino_t>> seen{{main.status.st_dev, main.status.st_ino}};
    for (const std::string& fragment_path : included.paths) {
      const RegularFile fragment =
          read_regular_file(fragment_path, total < max_size ? max_size - total : 0);
      if (fragment.refusal != FileRefusal::none) {
        errors.add(fragment_path + ": " + fragment_refusal(fragment, total, max_size));
        stopped = true;
        continue;
      }
      const std::pair identity{fragment.status.st_dev, fragment.status.st_ino};
      if (std::find(seen.begin(), seen.end(), identity) != seen.end()) continue;
      seen.push_back(identity);
      total += fragment.text.size();
      std::optional<json::value> parsed = parse_text(fragment.text, fragment_path, errors);
      if (!parsed) {
        stopped = true;
        continue;
      }
      texts.emplace_back(without_byte_order_mark(fragment.text));
      merge_fragment(document, parsed->get_object(), origins.add_file(fragment_path), origins,
                     errors);
    }
  }
};

// Duplicate keys and the fragments' errors do not stop validation: the rest of the
// mistakes are reported too, after them.
LoadResult finish(LoadResult result, Errors errors) {
  if (!errors.empty()) {
    errors.add(result.errors);
    result.config.reset();
    result.errors = std::move(errors);
  }
  return result;
}

}  // namespace

json::parse_options config_parse_options() {
  return parse_options_of(kMaxConfigDepth);
}

std::string source_of(const Config& config) {
  std::string source = config.path;
  const std::vector<std::string>& files = config.origins.files();
  for (std::size_t i = 1; i < files.size(); ++i) source += " + " + files[i];
  return source;
}

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
  Errors errors;
  std::optional<json::value> document = parse_text(file.text, path, errors);
  if (!document) return failure(std::move(errors));
  std::vector<std::string> patterns = include_patterns(*document);
  Composition composed(path, max_size, std::move(errors), file.text.size());
  if (!patterns.empty()) composed.merge(patterns, file, document->get_object());
  LoadResult result;
  if (composed.stopped) {
    result.errors = std::move(composed.errors);
  } else {
    composed.origins.attach_texts(&composed.texts);
    result = validate_config(path, std::move(*document), &composed.origins);
    check_own_size(composed.total, result);
    result = finish(std::move(result), std::move(composed.errors));
  }
  result.include = std::move(patterns);
  return result;
}

ParsedText parse_config_text(std::string_view text, const std::string& name,
                             std::size_t max_depth) {
  ParsedText parsed;
  parsed.value = parse_value(text, name, max_depth, parsed.errors);
  return parsed;
}

LoadResult load_config_text(std::string_view text, const std::string& file) {
  Errors errors;
  std::optional<json::value> document = parse_text(text, file, errors);
  if (!document) return failure(std::move(errors));
  LoadResult result = validate_config(file, std::move(*document));
  check_own_size(text.size(), result);
  return finish(std::move(result), std::move(errors));
}

}  // namespace confvisor::config
