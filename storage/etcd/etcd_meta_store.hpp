// EtcdMetaStore: MetaStore over etcd 3.4's JSON gateway (DESIGN.md,
// "Agreement"). No client library: HTTP/1.1 (or HTTPS) to /v3/..., keys and
// values in base64.
//
// Every call is bounded by request_timeout_ms per endpoint tried. Failures:
//   unavailable  no endpoint reachable, or etcd has no leader
//   timeout      the call was sent but not answered in time (a write may or
//                may not have been applied: re-read to find out)
//   not_found    unknown or expired lease
//   parse_error  etcd answered something that is not its JSON format
// Messages name the endpoint. See EtcdTransport for the failover rule.
//
// Watches run on a thread of their own each (see etcd_watch.hpp).
#pragma once

#include <memory>
#include <vector>

#include "core/address.hpp"
#include "core/metrics.hpp"
#include "storage/net/tls.hpp"
#include "storage/meta/meta_store.hpp"

namespace ezone::meta {

namespace etcd {
class EtcdTransport;
}

struct EtcdMetaStoreConfig {
  std::vector<HostPort> endpoints;  // client URLs of the cluster's members
  int64_t request_timeout_ms = 2000;
  // A broken watch reconnects after a delay that doubles from min to max.
  int64_t watch_backoff_min_ms = 50;
  int64_t watch_backoff_max_ms = 1000;
  Metrics* metrics = nullptr;  // optional; must outlive the store and its watches
  // A client context (storage/net/tls.hpp): every call and watch over TLS,
  // to etcd started with --cert-file (and, when the context has a
  // certificate, --client-cert-auth). Null: plain HTTP.
  net::TlsContextPtr tls;
};

class EtcdMetaStore final : public MetaStore {
 public:
  // Checks the config (at least one endpoint, positive timeouts; otherwise
  // invalid_argument). Does not contact etcd: call health() for that.
  static Result<std::unique_ptr<EtcdMetaStore>> create(EtcdMetaStoreConfig config);
  ~EtcdMetaStore() override;

  Result<RangeResult> range(const std::string& key, bool prefix = false) override;
  Result<int64_t> put(const std::string& key, const std::string& value,
                      int64_t lease = 0) override;
  Result<int64_t> del(const std::string& key, bool prefix = false) override;
  Result<TxnResult> txn(const TxnRequest& request) override;
  Result<LeaseGrant> lease_grant(int64_t ttl_s) override;
  Result<int64_t> lease_keepalive(int64_t lease_id) override;
  Result<int64_t> lease_time_to_live(int64_t lease_id) override;
  Status lease_revoke(int64_t lease_id) override;
  // Returns once etcd has confirmed the watch (or with the error of the last
  // endpoint tried), so no event after the call is missed with start 0.
  Result<std::unique_ptr<Watch>> watch(const std::string& key, bool prefix,
                                       int64_t start_revision,
                                       WatchCallbacks callbacks) override;
  // ok when some endpoint reports {"health":"true"} (it answers and the
  // cluster has a leader); unavailable otherwise.
  Status health() override;

  // Compacts etcd's history up to revision (watches from earlier revisions
  // then fail with not_found). For operations and tests.
  Status compact(int64_t revision);

 private:
  explicit EtcdMetaStore(EtcdMetaStoreConfig config);

  const EtcdMetaStoreConfig config_;
  const std::shared_ptr<etcd::EtcdTransport> transport_;
};

}  // namespace ezone::meta
