#include "daemon/core/etcd_overlay.hpp"

#include <vector>

#include "common/base/error.hpp"
#include "daemon/config/document_schema.hpp"
#include "daemon/config/overlay.hpp"
#include "daemon/supervise/process_tracking.hpp"

namespace confvisor::daemon {

namespace json = boost::json;

namespace {

// The writer lock aside, nothing the Source does may stall the loop long: a member that does
// not answer is left after 5 s, and a cluster that is away is tried again at most every 1 s
// (backoff from 100 ms), so the daemon catches up within about 1 s of etcd's return.
constexpr std::chrono::milliseconds kRequestTimeout{5000};
constexpr std::chrono::milliseconds kRetryMax{1000};

config::LoadResult validated(json::value document, const std::string& name) {
  return config::refuse_schema_violations(supervise::refuse_unavailable_limits(
      config::validate_config(name, std::move(document)), name));
}

}  // namespace

etcd::SourceOptions source_options(const config::EtcdSettings& settings) {
  etcd::SourceOptions options;
  for (const std::string& url : settings.endpoints) {
    options.endpoints.push_back(etcd::parse_endpoint(url));
  }
  options.prefix = settings.prefix;
  if (settings.tls)
    options.tls = etcd::Tls{settings.tls->ca, settings.tls->cert, settings.tls->key};
  if (settings.auth) options.auth = etcd::Auth{settings.auth->user, settings.auth->password};
  options.watch_liveness = settings.watch_liveness;
  options.request_timeout = kRequestTimeout;
  options.retry_max = kRetryMax;
  return options;
}

std::string etcd_source_name(const std::string& endpoint, const std::string& prefix,
                             std::int64_t revision) {
  std::string host_port = endpoint;
  try {
    const etcd::Endpoint parsed = etcd::parse_endpoint(endpoint);
    host_port = parsed.host.find(':') != std::string::npos ? "[" + parsed.host + "]:" + parsed.port
                                                           : parsed.host + ":" + parsed.port;
  } catch (const Error&) {
    // Not a URL (no endpoint yet): named as it is.
  }
  return "etcd://" + host_port + prefix + "@" + std::to_string(revision);
}

config::LoadResult merge_snapshot(const json::value& base, const std::string& prefix,
                                  const etcd::Snapshot& snapshot, std::size_t max_size,
                                  const std::string& name) {
  std::vector<config::OverlayEntry> entries;
  entries.reserve(snapshot.kvs.size());
  for (const etcd::KeyValue& kv : snapshot.kvs) {
    entries.push_back({kv.key, kv.value, kv.mod_revision});
  }
  config::OverlayResult merged = config::overlay(base, prefix, entries, max_size);
  if (!merged.document) return {std::nullopt, std::move(merged.errors), {}};
  return validated(std::move(*merged.document), name);
}

config::LoadResult merge_cached(const json::value& base, const std::string& text,
                                const std::string& path) {
  config::ParsedText parsed = config::parse_config_text(text, path);
  if (!parsed.errors.empty()) return {std::nullopt, std::move(parsed.errors), {}};
  if (!parsed.value->is_object()) {
    return {std::nullopt, {path + ": the top level must be a JSON object"}, {}};
  }
  json::value document(*parsed.value, json::storage_ptr());
  if (const json::value* section = base.as_object().if_contains("confvisor")) {
    document.as_object()["confvisor"] = *section;
  }
  return validated(std::move(document), path);
}

}  // namespace confvisor::daemon
