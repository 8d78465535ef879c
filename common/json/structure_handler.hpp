// A base for handlers of boost::json::basic_parser that follow a document's structure
// without building it: which containers open and close, and each key whole.
#pragma once

#include <boost/json/error.hpp>
#include <boost/json/string_view.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace confvisor {

enum class Container { object, array };

// `Handler` derives from StructureHandler<Handler> and declares
//   bool open(Container);             an object or array begins
//   bool close();                     the innermost one ends
//   bool key(std::string_view key);   a key, unescaped and whole (the parser may deliver it
//                                     in parts)
// and any other event it wants (on_string, on_int64, ...): a declaration in the handler
// hides the one here, which accepts the event and ignores it. Returning false stops the
// parse. The calls are not virtual: basic_parser<Handler> calls its handler's members
// directly, as if it had written every one. No size has a limit beyond the parser's own.
template <class Handler>
class StructureHandler {
 public:
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);

  bool on_object_begin(boost::json::error_code&) { return self().open(Container::object); }
  bool on_object_end(std::size_t, boost::json::error_code&) { return self().close(); }
  bool on_array_begin(boost::json::error_code&) { return self().open(Container::array); }
  bool on_array_end(std::size_t, boost::json::error_code&) { return self().close(); }
  bool on_key_part(boost::json::string_view part, std::size_t, boost::json::error_code&) {
    key_.append(part.data(), part.size());
    return true;
  }
  bool on_key(boost::json::string_view last, std::size_t, boost::json::error_code&) {
    key_.append(last.data(), last.size());
    const bool go_on = self().key(key_);
    key_.clear();
    return go_on;
  }

  bool on_document_begin(boost::json::error_code&) { return true; }
  bool on_document_end(boost::json::error_code&) { return true; }
  bool on_string_part(boost::json::string_view, std::size_t, boost::json::error_code&) {
    return true;
  }
  bool on_string(boost::json::string_view, std::size_t, boost::json::error_code&) { return true; }
  bool on_number_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_int64(std::int64_t, boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_uint64(std::uint64_t, boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_double(double, boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_bool(bool, boost::json::error_code&) { return true; }
  bool on_null(boost::json::error_code&) { return true; }
  bool on_comment_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_comment(boost::json::string_view, boost::json::error_code&) { return true; }

 private:
  Handler& self() { return static_cast<Handler&>(*this); }

  std::string key_;  // the key being read, as far as it came
};

}  // namespace confvisor
