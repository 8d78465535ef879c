// Reading a JSON document into C++ structs while collecting every mistake, each naming its
// JSON pointer. What daemon/config/validate.cc is built from; nothing in here knows the config.
//
// A reader of one value returns what it read or throws Error("expected ..., got ...");
// Place::attempt turns that into an error line at the value's pointer and the walk goes on.
// An object is read through a table of Fields, which is also its list of known keys.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/errors.hpp"
#include "common/json/describe.hpp"
#include "confvisor/error.hpp"

namespace confvisor::config {

class Origins;

// Where a value is in the document, and where its errors go.
struct Place {
  Errors& errors;
  std::string_view file;  // names the document: each error is "FILE: POINTER: message"
  std::string pointer;
  // For a document merged from several files: which file and pointer an error names instead.
  const Origins* origins = nullptr;

  [[nodiscard]] Place child(std::string_view key) const;
  [[nodiscard]] Place child(std::size_t index) const;
  // "FILE: /pointer", as an error names this place.
  [[nodiscard]] std::string where() const;
  void error(std::string_view message) const;

  // Runs `read`; an Error it throws becomes an error at this place.
  template <class Read>
  void attempt(Read&& read) const {
    try {
      read();
    } catch (const Error& e) {
      error(e.what());
    }
  }
};

// ---- Readers of one value.

// Throws Error("expected WHAT, got <the value, shortened>").
[[noreturn]] void expected(std::string_view what, const boost::json::value& got);

[[nodiscard]] const boost::json::object& object_of(const boost::json::value& v);
[[nodiscard]] const boost::json::array& array_of(const boost::json::value& v);
[[nodiscard]] std::string string_of(const boost::json::value& v);

// A string that goes to the operating system (a path, a name, an argument): refused if it
// has a NUL, which would silently cut it short at the C library.
[[nodiscard]] std::string os_string(const boost::json::value& v);

// An integer in [low, high]: "expected an integer from LOW to HIGH, got ..." otherwise.
[[nodiscard]] std::int64_t integer_in(const boost::json::value& v, std::int64_t low,
                                      std::int64_t high);

template <std::int64_t low, std::int64_t high>
[[nodiscard]] unsigned count_in(const boost::json::value& v) {
  static_assert(low >= 0 && high <= UINT32_MAX);
  return static_cast<unsigned>(integer_in(v, low, high));
}

// One of a fixed set of strings: "expected one of a, b, c; got ...".
template <class Enum>
struct Choice {
  std::string_view name;
  Enum value;
};

template <auto& choices>
[[nodiscard]] auto one_of(const boost::json::value& v) {
  if (v.is_string()) {
    for (const auto& choice : choices) {
      if (choice.name == v.get_string()) return choice.value;
    }
  }
  std::string names;
  for (const auto& choice : choices) {
    names += (names.empty() ? "" : ", ") + std::string(choice.name);
  }
  throw Error("expected one of " + names + "; got " + describe_value(v));
}

// ---- Objects.

template <class T>
struct Field {
  std::string_view key;
  bool required;
  void (*read)(const boost::json::value& value, const Place& at, T& out);
};

inline constexpr bool kRequired = true;
inline constexpr bool kOptional = false;

namespace detail {
template <class Member>
struct MemberOf;
template <class Class, class Type>
struct MemberOf<Type Class::*> {
  using type = Class;
};
template <auto member>
using OwnerOf = typename MemberOf<decltype(member)>::type;
}  // namespace detail

// Field readers that store a value reader's result in a member: `set<&S::m, reader>` for a
// reader of the value alone, `set_nested<&S::m, reader>` for one that reports errors inside
// the value (an array, an object) at their own places.
template <auto member, auto read>
void set(const boost::json::value& v, const Place&, detail::OwnerOf<member>& out) {
  out.*member = read(v);
}

template <auto member, auto read>
void set_nested(const boost::json::value& v, const Place& at, detail::OwnerOf<member>& out) {
  out.*member = read(v, at);
}

template <class T>
[[nodiscard]] std::vector<std::string_view> keys_of(std::span<const Field<T>> fields) {
  std::vector<std::string_view> keys;
  for (const Field<T>& field : fields) keys.push_back(field.key);
  return keys;
}

// "unknown key \"histroy\" (did you mean \"history\"?)", or the list of known keys when none
// is close.
[[nodiscard]] std::string unknown_key_message(std::string_view key,
                                              std::span<const std::string_view> known);

// Reads every member of the object `v` with its field's reader, in document order, then
// reports the required keys that are missing. Throws Error if `v` is not an object.
template <class T>
void read_fields(const boost::json::value& v, const Place& at, std::span<const Field<T>> fields,
                 T& out) {
  const boost::json::object& object = object_of(v);
  for (const auto& member : object) {
    const Place place = at.child(member.key());
    const Field<T>* field = nullptr;
    for (const Field<T>& candidate : fields) {
      if (candidate.key == member.key()) field = &candidate;
    }
    if (field == nullptr) {
      place.error(unknown_key_message(member.key(), keys_of(fields)));
    } else {
      place.attempt([&] { field->read(member.value(), place, out); });
    }
  }
  for (const Field<T>& field : fields) {
    if (field.required && !object.contains(field.key)) {
      at.child(field.key).error("missing (required)");
    }
  }
}

// A T with its defaults, then every field of the object `v` read into it.
template <class T, auto& fields>
[[nodiscard]] T object_with(const boost::json::value& v, const Place& at) {
  T out{};
  read_fields<T>(v, at, fields, out);
  return out;
}

}  // namespace confvisor::config
