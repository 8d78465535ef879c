// libFuzzer target: any bytes as a message of etcd's JSON gateway through the etcd source's
// decoders. The first byte picks the decoder ('0' a watch-stream line, '1' a Range response,
// '2' a Txn response, '3' an authenticate response, '4' an error body); the rest is the
// message. Each must refuse what it cannot use with an Error, never crash, hang or leak, and
// what it accepts keeps the promises the Source relies on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/base/error.hpp"
#include "daemon/etcd/gateway_json.hpp"

namespace {

namespace etcd = confvisor::etcd;

// A broken promise is a crash, so libFuzzer keeps the input that shows it.
void require(bool promise) {
  if (!promise) std::abort();
}

void watch_message(std::string_view text) {
  const etcd::WatchMessage m = etcd::decode_watch_message(text);
  (void)etcd::watch_message_kind_name(m.kind);
  if (m.kind == etcd::WatchMessage::Kind::events) {
    require(!m.events.empty());
    std::int64_t last = 0;
    for (const etcd::Event& e : m.events) {
      require(e.kv.mod_revision > 0 && e.kv.mod_revision >= last);
      last = e.kv.mod_revision;
    }
  } else {
    require(m.events.empty());
  }
  if (m.kind == etcd::WatchMessage::Kind::progress) require(m.revision > 0);
}

void range_response(std::string_view text) {
  const etcd::RangePage page = etcd::decode_range_response(text);
  require(page.revision > 0);
}

void txn_response(std::string_view text) {
  const etcd::TxnResult txn = etcd::decode_txn_response(text);
  require(txn.revision > 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (data[0] % 5) {
      case 0:
        watch_message(text);
        break;
      case 1:
        range_response(text);
        break;
      case 2:
        txn_response(text);
        break;
      case 3:
        require(!etcd::decode_authenticate_response(text).empty());
        break;
      case 4:
        if (const auto e = etcd::decode_error_body(text)) {
          (void)etcd::is_auth_token_error(*e);
          (void)etcd::is_compacted_error(*e);
        }
        break;
    }
  } catch (const confvisor::Error&) {
    // Refused, as outside input may be.
  }
  // Keys and values travel in base64: every byte string comes back unchanged.
  const std::string bytes(text);
  require(etcd::base64_decode(etcd::base64_encode(bytes)) == bytes);
  try {
    const std::string decoded = etcd::base64_decode(text);
    require(decoded.size() <= text.size());
  } catch (const confvisor::Error&) {
  }
  return 0;
}
