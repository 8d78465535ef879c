// libFuzzer target: any bytes as one control request line through the daemon's parser. It
// must never crash, hang or leak; a request it accepts is one the command table allows, and
// whatever it refuses is refused as bad-request with an error that makes a valid reply.
#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/json/scan.hpp"
#include "daemon/control/protocol.hpp"

namespace {

namespace control = confvisor::control;

// A broken promise is a crash, so libFuzzer keeps the input that shows it.
void require(bool promise) {
  if (!promise) std::abort();
}

// The reply the daemon would send parses back to an object with the same code.
void require_valid_reply(std::string_view code, std::string_view message) {
  const std::string line = control::error_reply(code, message);
  require(line.back() == '\n' && line.find('\n') == line.size() - 1);
  boost::json::error_code ec;
  const boost::json::value reply = boost::json::parse(line, ec);
  require(!ec && reply.is_object() && reply.at("code").as_string() == code);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  control::Request request;
  try {
    request = control::parse_request(line);
  } catch (const control::Failure& f) {
    require(f.code == control::kBadRequest);
    require_valid_reply(f.code, f.what());
    return 0;
  }
  // Accepted: version 1, a command, no key twice.
  require(request.fields.at("version").as_int64() == control::kProtocolVersion);
  require(request.fields.at("command").as_string() == request.command);
  require(confvisor::scan_json(line, {}).duplicates.empty());
  // The typed accessors refuse a mistyped field with bad-request, never anything else.
  for (const auto& field : request.fields) {
    try {
      (void)request.string_field(field.key());
    } catch (const control::Failure& f) {
      require(f.code == control::kBadRequest);
    }
    try {
      (void)request.optional_count(field.key());
    } catch (const control::Failure& f) {
      require(f.code == control::kBadRequest);
    }
  }
  require_valid_reply(control::kFailed, request.command);
  return 0;
}
