#include "storage/etcd/etcd_meta_store.hpp"

#include "storage/etcd/etcd_json.hpp"
#include "storage/etcd/etcd_transport.hpp"
#include "storage/etcd/etcd_watch.hpp"

namespace ezone::meta {
namespace {

using etcd::EtcdTransport;
using Retry = EtcdTransport::Retry;

// The same checks MemoryMetaStore makes, done before a round trip so both
// stores fail alike and etcd never sees an empty key.
Status check_key(const std::string& key, bool prefix) {
  if (key.empty() && !prefix) return Status(Errc::invalid_argument, "meta store: key is empty");
  return Status::ok();
}

Status check_txn(const TxnRequest& request) {
  for (const auto& compare : request.compares)
    if (Status ok = check_key(compare.key, false); !ok) return ok;
  for (const auto* ops : {&request.success, &request.failure})
    for (const auto& op : *ops)
      if (Status ok = check_key(op.key, false); !ok) return ok;
  return Status::ok();
}

// Parses the body of a successful call, or passes the call's error on. A
// parse failure is counted like any other etcd error.
template <class T, class Parse>
Result<T> parsed(EtcdTransport& transport, const Result<std::string>& body, Parse&& parse) {
  if (!body.ok()) return body.status();
  Result<T> value = parse(*body);
  if (!value.ok()) transport.count_error(value.status().code());
  return value;
}

}  // namespace

EtcdMetaStore::EtcdMetaStore(EtcdMetaStoreConfig config)
    : config_(std::move(config)),
      transport_(std::make_shared<EtcdTransport>(config_.endpoints, config_.request_timeout_ms,
                                                 config_.metrics, config_.tls)) {}

EtcdMetaStore::~EtcdMetaStore() = default;

Result<std::unique_ptr<EtcdMetaStore>> EtcdMetaStore::create(EtcdMetaStoreConfig config) {
  if (config.endpoints.empty())
    return Status(Errc::invalid_argument, "etcd meta store: no endpoints configured");
  if (config.request_timeout_ms <= 0 || config.watch_backoff_min_ms <= 0 ||
      config.watch_backoff_max_ms < config.watch_backoff_min_ms)
    return Status(Errc::invalid_argument,
                  "etcd meta store: timeouts must be > 0 and backoff min <= max");
  return std::unique_ptr<EtcdMetaStore>(new EtcdMetaStore(std::move(config)));
}

Result<RangeResult> EtcdMetaStore::range(const std::string& key, bool prefix) {
  if (Status ok = check_key(key, prefix); !ok) return ok;
  auto body = transport_->post("/v3/kv/range", etcd::range_request(key, prefix), Retry::idempotent);
  return parsed<RangeResult>(*transport_, body, etcd::parse_range_response);
}

Result<int64_t> EtcdMetaStore::put(const std::string& key, const std::string& value,
                                   int64_t lease) {
  if (Status ok = check_key(key, false); !ok) return ok;
  auto body = transport_->post("/v3/kv/put", etcd::put_request(key, value, lease),
                               Retry::only_if_unsent);
  return parsed<int64_t>(*transport_, body, etcd::parse_revision);
}

Result<int64_t> EtcdMetaStore::del(const std::string& key, bool prefix) {
  if (Status ok = check_key(key, prefix); !ok) return ok;
  auto body = transport_->post("/v3/kv/deleterange", etcd::delete_request(key, prefix),
                               Retry::only_if_unsent);
  return parsed<int64_t>(*transport_, body, etcd::parse_delete_response);
}

Result<TxnResult> EtcdMetaStore::txn(const TxnRequest& request) {
  if (Status ok = check_txn(request); !ok) return ok;
  auto body = transport_->post("/v3/kv/txn", etcd::txn_request(request), Retry::only_if_unsent);
  return parsed<TxnResult>(*transport_, body, etcd::parse_txn_response);
}

Result<LeaseGrant> EtcdMetaStore::lease_grant(int64_t ttl_s) {
  // etcd answers OUT_OF_RANGE, which reads like a compaction; say it plainly.
  if (ttl_s > kLeaseTtlMaxS)
    return Status(Errc::invalid_argument, "lease TTL " + std::to_string(ttl_s) + " s is too large");
  auto body = transport_->post("/v3/lease/grant", etcd::lease_grant_request(ttl_s),
                               Retry::only_if_unsent);
  return parsed<LeaseGrant>(*transport_, body, etcd::parse_lease_grant_response);
}

Result<int64_t> EtcdMetaStore::lease_keepalive(int64_t lease_id) {
  auto body = transport_->post("/v3/lease/keepalive", etcd::lease_id_request(lease_id),
                               Retry::idempotent);
  return parsed<int64_t>(*transport_, body, [lease_id](const std::string& text) {
    return etcd::parse_keepalive_response(text, lease_id);
  });
}

Result<int64_t> EtcdMetaStore::lease_time_to_live(int64_t lease_id) {
  auto body = transport_->post("/v3/lease/timetolive", etcd::lease_id_request(lease_id), Retry::idempotent);
  return parsed<int64_t>(*transport_, body, [lease_id](const std::string& text) {
    return etcd::parse_time_to_live_response(text, lease_id);
  });
}

Status EtcdMetaStore::lease_revoke(int64_t lease_id) {
  auto body = transport_->post("/v3/lease/revoke", etcd::lease_id_request(lease_id),
                               Retry::idempotent);
  // The contract makes revoking an unknown lease a success, as it is for the
  // holder: the lease is gone either way.
  if (body.ok() || body.status().code() == Errc::not_found) return Status::ok();
  return body.status();
}

Result<std::unique_ptr<Watch>> EtcdMetaStore::watch(const std::string& key, bool prefix,
                                                    int64_t start_revision,
                                                    WatchCallbacks callbacks) {
  if (Status ok = check_key(key, prefix); !ok) return ok;
  if (start_revision < 0)
    return Status(Errc::invalid_argument, "watch start revision must be >= 0");
  etcd::EtcdWatchSpec spec{key, prefix, start_revision, std::move(callbacks),
                           config_.watch_backoff_min_ms, config_.watch_backoff_max_ms};
  return etcd::start_etcd_watch(transport_, std::move(spec));
}

Status EtcdMetaStore::health() {
  auto body = transport_->get("/health");
  if (!body.ok()) return Status(Errc::unavailable, body.status().message());
  Status healthy = etcd::parse_health_response(*body);
  if (!healthy) transport_->count_error(healthy.code());
  return healthy;
}

Status EtcdMetaStore::compact(int64_t revision) {
  auto body = transport_->post("/v3/kv/compaction", etcd::compaction_request(revision),
                               Retry::idempotent);
  return body.ok() ? Status::ok() : body.status();
}

}  // namespace ezone::meta
