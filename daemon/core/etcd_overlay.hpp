// What the daemon does with the etcd source's snapshots: the options its config gives the
// Source, a snapshot merged over the file's document and checked as a file is, and the source
// name a published generation carries.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <string>

#include "daemon/config/model.hpp"
#include "daemon/etcd/source.hpp"

namespace confvisor::daemon {

// /confvisor/source/etcd as the Source takes it. Throws Error for an endpoint it cannot parse
// (the validator has refused those already).
[[nodiscard]] etcd::SourceOptions source_options(const config::EtcdSettings& settings);

// "etcd://HOST:PORT/PREFIX@REV": the endpoint in use (Endpoint::text() or a URL), the prefix
// and the revision of the snapshot.
[[nodiscard]] std::string etcd_source_name(const std::string& endpoint, const std::string& prefix,
                                           std::int64_t revision);

// `snapshot` placed over `base` (daemon/config/overlay.hpp), then validated exactly like a
// config file named `name`, with the limits this host can apply. Errors name the etcd key,
// its mod_revision and the JSON pointer.
[[nodiscard]] config::LoadResult merge_snapshot(const boost::json::value& base,
                                                const std::string& prefix,
                                                const etcd::Snapshot& snapshot,
                                                std::size_t max_size, const std::string& name);

// The last good document read back from `path`, with the /confvisor section of `base` (the
// daemon's own settings are always the file's), validated like a file.
[[nodiscard]] config::LoadResult merge_cached(const boost::json::value& base,
                                              const std::string& text, const std::string& path);

}  // namespace confvisor::daemon
