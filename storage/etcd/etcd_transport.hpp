// EtcdTransport: unary calls to etcd's JSON gateway over a list of endpoints
// (the members of one cluster), with keep-alive connections and failover.
//
// Failover rule: a call moves on to the next endpoint only when doing so
// cannot apply it twice, i.e. when nothing of it was sent, or when the call
// is idempotent (reads, keep-alives, revokes, health). A write that timed
// out after it was sent is returned as timeout: it may or may not have been
// applied, and only the caller can find out (e.g. by re-reading).
//
// With a TLS client context every call and watch is HTTPS: etcd's
// certificate must chain to the context's CA and name the endpoint's host,
// and the context's certificate (if any) answers etcd's --client-cert-auth.
//
// Thread-safe. Errors name the endpoint and the path; each one is counted in
// ezone_etcd_errors_total{kind=<errc>} when a Metrics registry is given.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/address.hpp"
#include "core/metrics.hpp"
#include "core/status.hpp"
#include "storage/net/tls.hpp"

namespace ezone::net {
class HttpConnection;
}

namespace ezone::meta::etcd {

// Idle keep-alive connections kept per endpoint; more concurrent callers
// than this open extra connections that are closed after use.
constexpr size_t kIdleConnectionsMax = 4;

class EtcdTransport {
 public:
  // Requires a non-empty endpoint list and request_timeout_ms > 0. metrics
  // may be null; otherwise it must outlive the transport. tls null: plain
  // HTTP.
  EtcdTransport(std::vector<HostPort> endpoints, int64_t request_timeout_ms, Metrics* metrics,
                net::TlsContextPtr tls = nullptr);
  ~EtcdTransport();

  enum class Retry { idempotent, only_if_unsent };

  // POSTs a JSON body to path. Returns the body of a 200 answer; otherwise
  // the mapped error (see etcd_json.hpp: error_from_response) or the
  // transport error (unavailable, timeout) of the last endpoint tried.
  Result<std::string> post(const std::string& path, const std::string& body, Retry retry);
  // GETs path (e.g. /health); same rules as an idempotent post.
  Result<std::string> get(const std::string& path);

  const std::vector<HostPort>& endpoints() const { return endpoints_; }
  int64_t request_timeout_ms() const { return request_timeout_ms_; }
  const net::TlsContextPtr& tls() const { return tls_; }
  // Counts an error by kind (also used by watches).
  void count_error(Errc code);
  // A hint for an error of a plain transport that may have met a TLS etcd;
  // "" otherwise.
  std::string plain_hint(const Status& error) const;

 private:
  Result<std::string> call(const std::string& method, const std::string& path,
                           const std::string& body, Retry retry);
  Result<std::string> call_one(size_t index, const std::string& method, const std::string& path,
                               const std::string& body, bool* maybe_sent);
  std::unique_ptr<net::HttpConnection> take(size_t index);
  void give_back(size_t index, std::unique_ptr<net::HttpConnection> connection);

  const std::vector<HostPort> endpoints_;
  const int64_t request_timeout_ms_;
  Metrics* const metrics_;
  const net::TlsContextPtr tls_;
  // The endpoint that answered last; calls start there.
  std::atomic<size_t> preferred_{0};
  std::mutex mutex_;  // guards idle_
  std::vector<std::vector<std::unique_ptr<net::HttpConnection>>> idle_;
};

}  // namespace ezone::meta::etcd
