// The JSON of etcd's v3 gateway (grpc-gateway over etcdserverpb): requests we send and the
// decoding of what comes back. Keys and values travel in base64, int64 fields as decimal
// strings (plain numbers are accepted too), fields at their default (false, 0, empty) are
// omitted. Everything decoded here is outside input: each decoder throws Error naming the field
// that is wrong, and nothing in it may crash, hang or allocate beyond the input's own size.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/etcd/source.hpp"

namespace confvisor::etcd {

// The end of the range of every key that starts with `prefix` (etcd's range_end): the prefix
// with its last byte below 0xff incremented and what follows dropped; "\0" (every key) for an
// empty prefix or one of only 0xff bytes.
[[nodiscard]] std::string prefix_range_end(std::string_view prefix);

[[nodiscard]] std::string base64_encode(std::string_view bytes);
// Throws Error for anything but padded base64 (RFC 4648 alphabet, no whitespace).
[[nodiscard]] std::string base64_decode(std::string_view text);

// ------------------------------------------------------------------ requests
// POST /v3/kv/range: [key, range_end) at `revision` (0: the current one), at most `limit` keys
// (0: all), sorted by key.
[[nodiscard]] std::string range_request(std::string_view key, std::string_view range_end,
                                        std::int64_t revision, std::int64_t limit);
// POST /v3/watch: a create_request for [key, range_end) from `start_revision`, with progress
// notifications.
[[nodiscard]] std::string watch_create_request(std::string_view key, std::string_view range_end,
                                               std::int64_t start_revision);
// POST /v3/kv/txn: if mod_revision(key) == expected put `value`, else range `key`.
[[nodiscard]] std::string put_if_mod_revision_request(std::string_view key, std::string_view value,
                                                      std::int64_t expected_mod_revision);
// POST /v3/auth/authenticate.
[[nodiscard]] std::string authenticate_request(std::string_view user, std::string_view password);

// ------------------------------------------------------------------ responses
struct RangePage {
  std::int64_t revision = 0;  // header.revision: the store's revision the page is read at
  std::vector<KeyValue> kvs;
  bool more = false;  // more keys in the range than `limit`
};
[[nodiscard]] RangePage decode_range_response(std::string_view body);

struct TxnResult {
  std::int64_t revision = 0;
  bool succeeded = false;
  std::optional<KeyValue> range_kv;  // the failure branch's read of the key, if it exists
};
[[nodiscard]] TxnResult decode_txn_response(std::string_view body);

// The token of an /v3/auth/authenticate response.
[[nodiscard]] std::string decode_authenticate_response(std::string_view body);

// An error the gateway reports, in a non-200 response ({"error":..,"code":..,"message":..})
// or inside a stream ({"error":{"grpc_code":..,"message":..}}).
struct GatewayError {
  int grpc_code = 0;  // 16 (UNAUTHENTICATED) for an invalid or expired token
  std::string message;
};
// The error in a body, if the body is one; nullopt if it is not JSON of that shape.
[[nodiscard]] std::optional<GatewayError> decode_error_body(std::string_view body);
// True for the errors after which a new token may help: an expired or invalid token.
[[nodiscard]] bool is_auth_token_error(const GatewayError& e);
// True for "mvcc: required revision has been compacted".
[[nodiscard]] bool is_compacted_error(const GatewayError& e);

enum class EventType { put, remove };
struct Event {
  EventType type = EventType::put;
  KeyValue kv;  // for remove, key and mod_revision (the deletion's revision) only
};

// One message of the /v3/watch stream (one JSON object per line).
struct WatchMessage {
  enum class Kind {
    created,   // the watch is running
    events,    // one or more events, all of revisions > the last one seen
    progress,  // nothing changed up to `revision`
    canceled,  // the watch ended: compact_revision > 0 if its start was compacted
    error,     // {"error":...} inside the stream
  };
  Kind kind = Kind::progress;
  std::int64_t revision = 0;  // header.revision
  std::vector<Event> events;
  std::int64_t compact_revision = 0;
  std::string cancel_reason;
  GatewayError error;
};
[[nodiscard]] std::string_view watch_message_kind_name(WatchMessage::Kind k);
[[nodiscard]] WatchMessage decode_watch_message(std::string_view line);

}  // namespace confvisor::etcd
