#include "daemon/config/document_schema.hpp"

// valijson reports a bad schema by throwing only with this set; without it, it aborts. This
// file is the only one that includes valijson.
#define VALIJSON_USE_EXCEPTIONS 1

#include <pthread.h>

#include <algorithm>
#include <array>
#include <boost/json/stream_parser.hpp>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <optional>
#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "common/base/error.hpp"
#include "common/json/depth_limit.hpp"
#include "common/json/describe.hpp"
#include "common/json/pointer.hpp"
#include "common/json/text.hpp"
#include "common/os/regular_file.hpp"

namespace confvisor::config {

namespace json = boost::json;

struct DocumentSchema::Compiled {
  valijson::Schema schema;
  bool has_patterns = false;  // "pattern" or "patternProperties" somewhere in it
};

namespace {

// A schema is plain JSON (editors and other validators read the same file): no comments.
json::parse_options schema_parse_options() {
  json::parse_options options;
  options.max_depth = kMaxConfigDepth;
  return options;
}

valijson::SchemaParser::Version version_of(Draft draft) {
  switch (draft) {
    case Draft::draft4:
      return valijson::SchemaParser::kDraft4;
    case Draft::draft7:
      break;
  }
  return valijson::SchemaParser::kDraft7;
}

// The draft a schema's "$schema" names, else `unnamed`. valijson also has a draft 3 mode, but
// it ignores that draft's "disallow" and "extends" (the test suite shows it): a draft 3
// schema is refused rather than half applied.
Draft draft_of(const json::value& schema, const std::string& name, Draft unnamed) {
  const json::object* object = schema.if_object();
  const json::value* uri = object != nullptr ? object->if_contains("$schema") : nullptr;
  if (uri == nullptr || !uri->is_string()) return unnamed;
  const std::string_view text = uri->get_string();
  if (text.find("draft-07") != std::string_view::npos) return Draft::draft7;
  if (text.find("draft-04") != std::string_view::npos) return Draft::draft4;
  throw SchemaRejected({name + ": /$schema: " + quote_text(text, 100) +
                        " is not supported: confvisord validates with drafts 4 and 7 "
                        "(\"http://json-schema.org/draft-07/schema#\")"});
}

// valijson names a place as "<root>", then "[key]" or "[index]" per step, alike for keys and
// indexes: walking the document along it tells which each is, and gives the JSON pointer.
std::string pointer_of(const std::vector<std::string>& context, const json::value& document) {
  std::string pointer;
  const json::value* at = &document;
  for (std::size_t i = 1; i < context.size(); ++i) {
    const std::string& step = context[i];
    const std::string token = step.size() >= 2 && step.front() == '[' && step.back() == ']'
                                  ? step.substr(1, step.size() - 2)
                                  : step;
    if (at != nullptr && at->is_array()) {
      const std::size_t index = std::strtoul(token.c_str(), nullptr, 10);
      pointer = child_pointer(pointer, index);
      at = index < at->get_array().size() ? &at->get_array()[index] : nullptr;
    } else {
      pointer = child_pointer(pointer, token);
      const json::object* object = at != nullptr ? at->if_object() : nullptr;
      at = object != nullptr ? object->if_contains(token) : nullptr;
    }
  }
  return pointer;
}

const json::value* value_at(const std::string& pointer, const json::value& document) {
  json::error_code ec;
  return document.find_pointer(pointer, ec);
}

// What each of valijson's messages means: the keyword that refused the value, and whether
// the message is only a parent's echo of a child's error (left out: the child's is shown).
struct MessageKind {
  std::string_view starts_with;
  std::string_view keyword;  // empty: an echo
  bool shows_value;          // the value refused is worth showing
};

constexpr std::array<MessageKind, 34> kMessages{{
    {"Failed to validate against schema associated with property name", "", false},
    {"Failed to validate item #", "", false},
    {"Value type not permitted by 'type'", "type", true},
    {"Failed to validate against any schemas allowed by anyOf", "anyOf", false},
    {"Failed to validate against any child schemas allowed by oneOf", "oneOf", false},
    {"Failed to validate against exactly one child schema", "oneOf", false},
    {"Failed to validate against child schema #", "allOf", false},
    {"Failed to validate against a conditional schema", "if", false},
    {"Failed to match expected value set by 'const'", "const", true},
    {"Failed to any values against subschema in 'contains'", "contains", false},
    {"Failed to match against any enum values", "enum", true},
    {"String should be a valid", "format", true},
    {"Array contains more items than allowed by items", "additionalItems", false},
    {"Cannot validate item #", "additionalItems", false},
    {"Expected number less than or equal", "maximum", true},
    {"Expected number less than", "exclusiveMaximum", true},
    {"Expected number greater than or equal", "minimum", true},
    {"Expected number greater than", "exclusiveMinimum", true},
    {"Array should contain no more than", "maxItems", false},
    {"String should be no more than", "maxLength", true},
    {"Object should have no more than", "maxProperties", false},
    {"Array should contain no fewer than", "minItems", false},
    {"String should be no fewer than", "minLength", true},
    {"Object should have no fewer than", "minProperties", false},
    {"Value should be a multiple of", "multipleOf", true},
    {"Value could not be converted", "multipleOf", true},
    {"Target should not validate against schema specified in 'not'", "not", true},
    {"Failed to match regex specified by 'pattern'", "pattern", true},
    {"Object contains a property that could not be validated", "additionalProperties", false},
    {"Elements at indexes #", "uniqueItems", false},
    {"Missing required property", "required", false},
    {"Missing dependency", "dependencies", false},
    {"Failed to validate against dependent schema", "dependencies", false},
    {"Failed to validate against schema associated with pattern", "patternProperties", false},
}};

const MessageKind* kind_of(std::string_view description) {
  for (const MessageKind& kind : kMessages) {
    if (description.starts_with(kind.starts_with)) return &kind;
  }
  return nullptr;
}

// valijson's sentence, as the rest of the daemon's errors read: lower case, no full stop.
std::string sentence(std::string description) {
  while (!description.empty() && (description.back() == '.' || description.back() == ' ')) {
    description.pop_back();
  }
  if (!description.empty()) {
    description[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(description[0])));
  }
  return description;
}

// valijson writes bounds with std::to_string ("1.000000"): as the schema has them ("1").
std::string tidy_numbers(std::string text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t end = i;
    while (end < text.size() && (std::isdigit(static_cast<unsigned char>(text[end])) != 0)) ++end;
    const bool fraction = end > i && end + 1 < text.size() && text[end] == '.' &&
                          std::isdigit(static_cast<unsigned char>(text[end + 1])) != 0;
    if (!fraction) {
      out.append(text, i, std::max(end, i + 1) - i);
      i = std::max(end, i + 1);
      continue;
    }
    std::size_t stop = end + 1;
    while (stop < text.size() && std::isdigit(static_cast<unsigned char>(text[stop])) != 0) ++stop;
    std::string digits = text.substr(end + 1, stop - end - 1);
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    out.append(text, i, end - i);
    if (!digits.empty()) out += "." + digits;
    i = stop;
  }
  return out;
}

std::string error_line(const valijson::ValidationResults::Error& error, const json::value& document,
                       const std::string& file) {
  const std::string pointer = pointer_of(error.context, document);
  const MessageKind* kind = kind_of(error.description);
  const json::value* value = value_at(pointer, document);
  std::string message = tidy_numbers(sentence(error.description));
  if (kind != nullptr && kind->keyword == "type" && value != nullptr) {
    message = "type: got " + describe_value(*value) + ", a type the schema does not allow";
  } else if (kind != nullptr) {
    message = std::string(kind->keyword) + ": " + message;
    if (kind->shows_value && value != nullptr) message += ", got " + describe_value(*value);
  }
  const std::string where = pointer.empty() ? "(the whole document)" : printable_pointer(pointer);
  return file + ": " + where + ": schema: " + message;
}

}  // namespace

SchemaRejected::SchemaRejected(Errors e)
    : Error(e.empty() ? "schema rejected" : e.front()), errors(std::move(e)) {}

DocumentSchema::DocumentSchema(std::string name, std::unique_ptr<Compiled> compiled)
    : name_(std::move(name)), compiled_(std::move(compiled)) {}
DocumentSchema::DocumentSchema(DocumentSchema&&) noexcept = default;
DocumentSchema& DocumentSchema::operator=(DocumentSchema&&) noexcept = default;
DocumentSchema::~DocumentSchema() = default;

DocumentSchema DocumentSchema::load(const std::string& path) {
  const RegularFile file = read_regular_file(path, kMaxSchemaSize);
  if (file.refusal != FileRefusal::none) {
    throw SchemaRejected({path + ": " + file_refusal(file, kMaxSchemaSize) + " (the schema)"});
  }
  return parse(file.text, path);
}

DocumentSchema DocumentSchema::parse(std::string_view text, const std::string& name) {
  json::stream_parser parser({}, schema_parse_options());
  json::error_code error;
  const std::size_t consumed = parser.write_some(text.data(), text.size(), error);
  if (!error && consumed < text.size()) error = json::error::extra_data;
  if (!error) parser.finish(error);
  if (error) {
    const std::string what = error == json::error::incomplete
                                 ? "unexpected end of file"
                                 : "syntax error at " + describe_text_at(text, consumed);
    throw SchemaRejected({file_position(name, text, consumed) + ": " + what + " (the schema)"});
  }
  return compile(parser.release(), name);
}

namespace {

// valijson matches "pattern" and "patternProperties" with std::regex, whose matcher recurses
// once per character of the subject: about half a KiB of stack each for a simple pattern, so
// a long string would overflow a thread's 8 MiB stack and crash the daemon. Validation runs
// on a thread of its own with kValidationStack of stack (reserved, used only as deep as it
// goes), and a schema with patterns refuses strings and keys longer than kMaxPatternSubject
// instead of matching them.
constexpr std::size_t kValidationStack = 512u << 20;
constexpr std::size_t kMaxPatternSubject = 64u << 10;

bool has_patterns(const json::value& schema) {
  if (const json::object* object = schema.if_object()) {
    for (const auto& member : *object) {
      if (member.key() == "pattern" || member.key() == "patternProperties") return true;
      if (has_patterns(member.value())) return true;
    }
  } else if (const json::array* array = schema.if_array()) {
    for (const json::value& item : *array) {
      if (has_patterns(item)) return true;
    }
  }
  return false;
}

// The first string or key longer than kMaxPatternSubject, as its pointer and size.
std::optional<std::pair<std::string, std::size_t>> long_string(const json::value& value,
                                                               const std::string& pointer) {
  if (const json::string* text = value.if_string()) {
    if (text->size() > kMaxPatternSubject) return std::pair(pointer, text->size());
  } else if (const json::object* object = value.if_object()) {
    for (const auto& member : *object) {
      const std::string child = child_pointer(pointer, member.key());
      if (member.key().size() > kMaxPatternSubject) return std::pair(child, member.key().size());
      if (auto found = long_string(member.value(), child)) return found;
    }
  } else if (const json::array* array = value.if_array()) {
    for (std::size_t i = 0; i < array->size(); ++i) {
      if (auto found = long_string((*array)[i], child_pointer(pointer, i))) return found;
    }
  }
  return std::nullopt;
}

// Runs `work` on a thread with `stack` bytes of stack and waits for it.
void run_with_stack(const std::function<void()>& work, std::size_t stack) {
  pthread_attr_t attr;
  ::pthread_attr_init(&attr);
  ::pthread_attr_setstacksize(&attr, stack);
  pthread_t thread;
  auto start = [](void* arg) -> void* {
    (*static_cast<const std::function<void()>*>(arg))();
    return nullptr;
  };
  const int error =
      ::pthread_create(&thread, &attr, start, const_cast<std::function<void()>*>(&work));
  ::pthread_attr_destroy(&attr);
  if (error != 0) throw_sys("start a thread to validate against the schema", error);
  ::pthread_join(thread, nullptr);
}

}  // namespace

const char* draft_name(Draft draft) {
  switch (draft) {
    case Draft::draft4:
      return "draft 4";
    case Draft::draft7:
      return "draft 7";
  }
  return "?";
}

DocumentSchema DocumentSchema::compile(const json::value& schema, const std::string& name,
                                       Draft unnamed) {
  if (!schema.is_object() && !schema.is_bool()) {
    throw SchemaRejected({name +
                          ": invalid schema: the top level must be an object or a "
                          "boolean, found " +
                          std::string(kind_name(schema))});
  }
  auto compiled = std::make_unique<Compiled>();
  valijson::SchemaParser parser(version_of(draft_of(schema, name, unnamed)));
  try {
    const valijson::adapters::BoostJsonAdapter adapter(schema);
    // No fetch function: a remote $ref is refused, never fetched.
    parser.populateSchema(adapter, compiled->schema);
    compiled->has_patterns = has_patterns(schema);
  } catch (const std::exception& e) {
    throw SchemaRejected({name + ": invalid schema: " + sentence(e.what())});
  }
  return DocumentSchema(name, std::move(compiled));
}

Errors DocumentSchema::validate(const json::value& document, const std::string& file) const {
  Errors errors;
  if (compiled_->has_patterns) {
    if (const auto found = long_string(document, "")) {
      errors.add(file + ": " + printable_pointer(found->first) + ": schema: pattern: a string of " +
                 std::to_string(found->second) + " bytes, longer than the " +
                 std::to_string(kMaxPatternSubject) +
                 " a schema with patterns may be matched against");
      return errors;
    }
  }
  valijson::ValidationResults results;
  bool valid = false;
  std::string thrown;
  run_with_stack(
      [&] {
        try {
          valijson::Validator validator(valijson::Validator::kStrongTypes);
          const valijson::adapters::BoostJsonAdapter adapter(document);
          valid = validator.validate(compiled_->schema, adapter, &results);
        } catch (const std::exception& e) {
          thrown = e.what();
        }
      },
      kValidationStack);
  // A "pattern" that is no regular expression is only found when it is first used.
  if (!thrown.empty()) {
    errors.add(name_ + ": invalid schema: " + sentence(thrown));
    return errors;
  }
  if (valid) return errors;
  for (const auto& error : results) {
    const MessageKind* kind = kind_of(error.description);
    if (kind != nullptr && kind->keyword.empty()) continue;  // a child's error says it
    errors.add(error_line(error, document, file));
  }
  if (errors.empty()) errors.add(file + ": (the whole document): schema: invalid");
  return errors;
}

LoadResult refuse_schema_violations(LoadResult loaded) {
  if (!loaded.config || !loaded.config->settings.schema) return loaded;
  const Config& config = *loaded.config;
  Errors errors;
  try {
    errors = DocumentSchema::load(*config.settings.schema).validate(config.document, config.path);
  } catch (const SchemaRejected& e) {
    errors.add(config.path + ": /confvisor/schema: the schema cannot be used:");
    errors.add(e.errors);
  }
  if (errors.empty()) return loaded;
  return {std::nullopt, std::move(errors), std::move(loaded.include)};
}

}  // namespace confvisor::config
