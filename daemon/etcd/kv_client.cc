#include "daemon/etcd/kv_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "daemon/etcd/gateway.hpp"

namespace confvisor::etcd {
namespace asio = boost::asio;

namespace {

// Runs `call` against each endpoint in turn on a private loop until one answers; throws Error
// listing every endpoint's failure if none does.
template <class Result>
Result on_first_endpoint(
    const SourceOptions& where,
    const std::function<asio::awaitable<Result>(Gateway&, const Endpoint&)>& call) {
  if (where.endpoints.empty()) throw Error("etcd: no endpoints");
  asio::io_context io;
  Gateway gateway(io.get_executor(), where);
  std::string failures;
  for (const Endpoint& endpoint : where.endpoints) {
    std::optional<Result> result;
    std::exception_ptr error;
    asio::co_spawn(io, call(gateway, endpoint), [&](std::exception_ptr e, Result r) {
      error = e;
      if (!e) result = std::move(r);
    });
    io.restart();
    io.run();
    if (result) return std::move(*result);
    try {
      std::rethrow_exception(error);
    } catch (const GatewayFailure& f) {
      // etcd itself refused the request (4xx: a bad key, no permission): another member would
      // refuse it too. A 5xx (no leader, leader changed, a timeout inside etcd) is this member's.
      if (f.gateway && f.http_status < 500) throw;
      failures += failures.empty() ? f.what() : std::string("; ") + f.what();
    } catch (const Error& e) {
      failures += failures.empty() ? e.what() : std::string("; ") + e.what();
    }
  }
  throw Error(failures);
}

}  // namespace

std::optional<KeyValue> get_key(const SourceOptions& where, const std::string& key) {
  using Result = std::optional<KeyValue>;
  return on_first_endpoint<Result>(
      where, [&](Gateway& gateway, const Endpoint& endpoint) -> asio::awaitable<Result> {
        const std::string body = range_request(key, "", 0, 0);
        const std::string response = co_await gateway.post(endpoint, "/v3/kv/range", body);
        RangePage page = decode_range_response(response);
        for (KeyValue& kv : page.kvs) {
          if (kv.key == key) co_return std::move(kv);
        }
        co_return std::nullopt;
      });
}

PutOutcome put_if_mod_revision(const SourceOptions& where, const std::string& key,
                               const std::string& value, std::int64_t expected_mod_revision) {
  return on_first_endpoint<PutOutcome>(
      where, [&](Gateway& gateway, const Endpoint& endpoint) -> asio::awaitable<PutOutcome> {
        const std::string body = put_if_mod_revision_request(key, value, expected_mod_revision);
        const std::string response = co_await gateway.post(endpoint, "/v3/kv/txn", body);
        const TxnResult txn = decode_txn_response(response);
        PutOutcome outcome;
        outcome.succeeded = txn.succeeded;
        outcome.revision = txn.revision;
        if (txn.succeeded) {
          outcome.current_mod_revision = txn.revision;
        } else if (txn.range_kv) {
          outcome.current_mod_revision = txn.range_kv->mod_revision;
        }
        co_return outcome;
      });
}

}  // namespace confvisor::etcd
