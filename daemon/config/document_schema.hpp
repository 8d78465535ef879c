// The JSON Schema that a whole config document must satisfy before it is published: the file
// that "schema" in the confvisor section names, compiled with valijson (its Boost.JSON adapter).
//
// Drafts 4 and 7 are read; a schema says which by its "$schema" (draft 7 when it names none).
// One that names another draft is refused rather than read with the wrong rules: a later one
// (2019-09, 2020-12), which valijson does not implement, and draft 3, whose "disallow" and
// "extends" valijson ignores. Only references inside the schema file resolve ("#/definitions/x",
// "#foo"): a remote "$ref" (another file, a URL) is never fetched, it makes the schema invalid.
// The "format" keyword checks date, time and date-time; other formats pass.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/base/error.hpp"
#include "common/base/errors.hpp"
#include "daemon/config/model.hpp"

namespace confvisor::config {

// Larger schema files are refused unread.
inline constexpr std::size_t kMaxSchemaSize = 4u << 20;

// The drafts a schema may be written in.
enum class Draft { draft4, draft7 };
[[nodiscard]] const char* draft_name(Draft draft);  // "draft 4", "draft 7"

class DocumentSchema {
 public:
  // Reads the schema file at `path` as the config file is read (a regular file of at most
  // kMaxSchemaSize bytes, opened without blocking) and compiles it. Throws SchemaRejected,
  // whose errors name the file: "PATH: unable to read: ...", "PATH:LINE:COL: syntax error
  // at ...", "PATH: invalid schema: ..." (a wrong keyword value, a $ref that does not resolve).
  [[nodiscard]] static DocumentSchema load(const std::string& path);
  // The same for a schema's text; `name` names it in errors.
  [[nodiscard]] static DocumentSchema parse(std::string_view text, const std::string& name);
  // For a schema already parsed (the JSON-Schema-Test-Suite's cases), read with the rules of
  // the draft its "$schema" names, else of `unnamed`. Throws SchemaRejected.
  [[nodiscard]] static DocumentSchema compile(const boost::json::value& schema,
                                              const std::string& name,
                                              Draft unnamed = Draft::draft7);

  // Every way `document` breaks the schema, each one line:
  //   "FILE: /database/port: schema: type: got string \"x\", a type the schema does not allow"
  // where FILE names the document, the pointer is where in it the value is ("" for the whole
  // document: "FILE: (the whole document): ..."), then the schema keyword that refused it.
  // Errors that only say that a child failed (a property's or an item's subschema) are left
  // out: the child's own error is there. Empty: the document is valid.
  [[nodiscard]] Errors validate(const boost::json::value& document, const std::string& file) const;

  [[nodiscard]] const std::string& name() const { return name_; }

  DocumentSchema(DocumentSchema&&) noexcept;
  DocumentSchema& operator=(DocumentSchema&&) noexcept;
  ~DocumentSchema();

 private:
  struct Compiled;
  DocumentSchema(std::string name, std::unique_ptr<Compiled> compiled);

  std::string name_;
  std::unique_ptr<Compiled> compiled_;
};

// The schema file could not be read or compiled; `errors` says why, naming the file.
class SchemaRejected : public Error {
 public:
  explicit SchemaRejected(Errors errors);
  Errors errors;
};

// The reload pipeline's schema stage: `loaded` refused as a whole when its settings name a
// schema that cannot be read or that its document breaks, with every error; unchanged when it
// names none. The schema file is read anew each time, so a schema edited with the config
// applies with the reload that ships both.
[[nodiscard]] LoadResult refuse_schema_violations(LoadResult loaded);

}  // namespace confvisor::config
