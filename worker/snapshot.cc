#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <utility>

#include "common/json/depth_limit.hpp"
#include "confvisor/worker.hpp"
#include "worker/snapshot_data.hpp"

namespace confvisor {

namespace json = boost::json;

namespace {

const json::value& null_value() {
  static const json::value null;
  return null;
}

std::string_view kind_of(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "boolean";
    case json::kind::int64:
    case json::kind::uint64:
      return "integer";
    case json::kind::double_:
      return "number";
    case json::kind::string:
      return "string";
    case json::kind::array:
      return "array";
    case json::kind::object:
      return "object";
  }
  return "value";
}

[[noreturn]] void wrong_type(std::string_view pointer, std::string_view expected,
                             const json::value& found) {
  throw Error(shown_pointer(pointer) + ": expected " + std::string(expected) + ", found " +
              describe_found(found));
}

template <class Int>
Int to_integer(const json::value& v, std::string_view p, std::string_view expected) {
  // std::in_range compares across signedness without conversions.
  if (v.is_int64() && std::in_range<Int>(v.get_int64())) return static_cast<Int>(v.get_int64());
  if (v.is_uint64() && std::in_range<Int>(v.get_uint64())) return static_cast<Int>(v.get_uint64());
  wrong_type(p, expected, v);
}

// The arena's first block: a DOM takes about one to two times the size of its minified
// text; later blocks grow geometrically if that is not enough.
std::size_t arena_size_for(std::size_t text_size) {
  return 2 * text_size + 1024;
}

}  // namespace

std::string describe_found(const json::value& v) {
  std::string shown = json::serialize(v);
  if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
  return std::string(kind_of(v)) + " " + shown;
}

std::string shown_pointer(std::string_view pointer) {
  return pointer.empty() ? "(root)" : std::string(pointer);
}

Snapshot make_snapshot(Record record) {
  json::error_code ec;
  json::parse_options opts;
  opts.max_depth = kMaxDocumentDepth;  // the publisher accepted it; the reader must not refuse it
  // A snapshot's document is never changed, so its nodes come from one arena that goes
  // whole with the last copy of the snapshot: parse and teardown skip a malloc and a free per
  // node (1.8x faster on a 700 KB config). Counted, so a copy a user takes of a part of it
  // (which shares its storage, as Boost.JSON copies do) keeps the arena alive.
  json::value document = json::parse(
      record.text(), ec,
      json::make_shared_resource<json::monotonic_resource>(arena_size_for(record.text().size())),
      opts);
  if (ec) {
    throw Error("generation " + std::to_string(record.generation) +
                " is not valid JSON: " + ec.message());
  }
  // Moved, never assigned: assigning a value copies it into the target's storage.
  return Snapshot(
      std::make_shared<Snapshot::Data>(Snapshot::Data{std::move(record), std::move(document)}));
}

std::uint64_t Snapshot::generation() const noexcept {
  return data_ ? data_->record.generation : 0;
}
const json::value& Snapshot::json() const noexcept {
  return data_ ? data_->json : null_value();
}
std::string_view Snapshot::text() const noexcept {
  return data_ ? data_->record.text() : std::string_view{};
}
std::string_view Snapshot::source() const noexcept {
  return data_ ? data_->record.source() : std::string_view{};
}
std::chrono::system_clock::time_point Snapshot::published_at() const noexcept {
  if (!data_) return {};
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(data_->record.published_at_ns)));
}
pid_t Snapshot::publisher_pid() const noexcept {
  return data_ ? static_cast<pid_t>(data_->record.publisher_pid) : 0;
}

const json::value* Snapshot::find(std::string_view pointer) const noexcept {
  if (!data_) return nullptr;
  json::error_code ec;
  return data_->json.find_pointer(pointer, ec);
}

const json::value& Snapshot::require(std::string_view pointer) const {
  if (!data_) throw Error("no generation: the snapshot is empty");
  json::error_code ec;
  const json::value* v = data_->json.find_pointer(pointer, ec);
  if (v != nullptr) return *v;
  if (ec == json::error::syntax || ec == json::error::missing_slash ||
      ec == json::error::invalid_escape) {
    throw Error("invalid JSON pointer \"" + std::string(pointer) + "\": " + ec.message());
  }
  throw Error(std::string(pointer) + ": not found in generation " +
              std::to_string(data_->record.generation));
}

void Snapshot::convert(const json::value& v, std::string_view p, bool& out) {
  if (!v.is_bool()) wrong_type(p, "boolean", v);
  out = v.get_bool();
}
void Snapshot::convert(const json::value& v, std::string_view p, std::int64_t& out) {
  out = to_integer<std::int64_t>(v, p, "integer (int64)");
}
void Snapshot::convert(const json::value& v, std::string_view p, std::uint64_t& out) {
  out = to_integer<std::uint64_t>(v, p, "non-negative integer (uint64)");
}
void Snapshot::convert(const json::value& v, std::string_view p, int& out) {
  out = to_integer<int>(v, p, "integer (int)");
}
void Snapshot::convert(const json::value& v, std::string_view p, double& out) {
  if (!v.is_number()) wrong_type(p, "number", v);
  out = v.to_number<double>();
}
void Snapshot::convert(const json::value& v, std::string_view p, std::string& out) {
  if (!v.is_string()) wrong_type(p, "string", v);
  out = std::string(v.get_string());
}
void Snapshot::convert(const json::value& v, std::string_view, json::value& out) {
  out = v;
}
void Snapshot::convert(const json::value& v, std::string_view p, json::object& out) {
  if (!v.is_object()) wrong_type(p, "object", v);
  out = v.get_object();
}
void Snapshot::convert(const json::value& v, std::string_view p, json::array& out) {
  if (!v.is_array()) wrong_type(p, "array", v);
  out = v.get_array();
}

}  // namespace confvisor
