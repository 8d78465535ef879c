// Blocking reads and writes of single keys, for confvisorctl (which may block); the daemon
// never calls these. Each call runs its own io_context with the deadlines of `where`
// (request_timeout per endpoint) and tries the endpoints in order until one answers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "daemon/etcd/source.hpp"

namespace confvisor::etcd {

struct PutOutcome {
  bool succeeded = false;
  std::int64_t revision = 0;  // etcd's revision after the transaction
  // The key's mod_revision after the transaction: the put's revision if it succeeded, else the
  // revision of the change that won (0 if the key is absent).
  std::int64_t current_mod_revision = 0;
};

// The key, or nullopt if it does not exist. Throws Error naming every endpoint's failure if
// none answers. (`where.prefix` is not used.)
[[nodiscard]] std::optional<KeyValue> get_key(const SourceOptions& where, const std::string& key);

// A transaction: if the key's mod_revision equals `expected_mod_revision` (0: the key must not
// exist), put `value`; else read the key. Throws Error like get_key. A put whose answer was
// lost may have been applied before the next endpoint is tried: the retry then reports a
// conflict with the revision of that put.
[[nodiscard]] PutOutcome put_if_mod_revision(const SourceOptions& where, const std::string& key,
                                             const std::string& value,
                                             std::int64_t expected_mod_revision);

}  // namespace confvisor::etcd
