#include "storage/etcd/etcd_transport.hpp"

#include "core/assert.hpp"
#include "storage/etcd/etcd_json.hpp"
#include "storage/net/http_client.hpp"

namespace ezone::meta::etcd {

EtcdTransport::EtcdTransport(std::vector<HostPort> endpoints, int64_t request_timeout_ms,
                             Metrics* metrics, net::TlsContextPtr tls)
    : endpoints_(std::move(endpoints)),
      request_timeout_ms_(request_timeout_ms),
      metrics_(metrics),
      tls_(std::move(tls)),
      idle_(endpoints_.size()) {
  EZONE_ASSERT(!endpoints_.empty(), "EtcdTransport needs at least one endpoint");
  EZONE_ASSERT(request_timeout_ms_ > 0, "EtcdTransport needs a positive timeout");
}

EtcdTransport::~EtcdTransport() = default;

// etcd closes a plain client's connection at its TLS port without a word.
std::string EtcdTransport::plain_hint(const Status& error) const {
  const bool closed = error.message().find("the server closed the connection") != std::string::npos;
  return !tls_ && closed ? " (if etcd serves TLS, give the client its CA: [etcd] ca_file)" : "";
}

void EtcdTransport::count_error(Errc code) {
  if (metrics_ == nullptr) return;
  metrics_->counter("ezone_etcd_errors_total", "Failed etcd calls and watch breaks by kind.",
                    {{"kind", errc_name(code)}})
      .inc();
}

std::unique_ptr<net::HttpConnection> EtcdTransport::take(size_t index) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& pool = idle_[index];
    if (!pool.empty()) {
      auto connection = std::move(pool.back());
      pool.pop_back();
      return connection;
    }
  }
  return std::make_unique<net::HttpConnection>(endpoints_[index], tls_);
}

void EtcdTransport::give_back(size_t index, std::unique_ptr<net::HttpConnection> connection) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& pool = idle_[index];
  if (pool.size() < kIdleConnectionsMax) pool.push_back(std::move(connection));
}

Result<std::string> EtcdTransport::call_one(size_t index, const std::string& method,
                                            const std::string& path, const std::string& body,
                                            bool* maybe_sent) {
  auto connection = take(index);
  net::HttpRequest request{method, path, body, body.empty() ? "" : "application/json", {}};
  auto response = connection->request(request, request_timeout_ms_, maybe_sent);
  if (!response.ok()) {
    return Status(response.status().code(), "etcd " + endpoints_[index].to_string() + ": " +
                                                response.status().message() + plain_hint(response.status()));
  }
  give_back(index, std::move(connection));
  if (response->status == 200) return std::move(response->body);
  Status error = error_from_response(response->status, response->body);
  return Status(error.code(), "etcd " + endpoints_[index].to_string() + " " + path + ": " +
                                  error.message());
}

Result<std::string> EtcdTransport::call(const std::string& method, const std::string& path,
                                        const std::string& body, Retry retry) {
  size_t start = preferred_.load();
  Status last;
  for (size_t attempt = 0; attempt < endpoints_.size(); ++attempt) {
    size_t index = (start + attempt) % endpoints_.size();
    bool maybe_sent = false;
    auto answer = call_one(index, method, path, body, &maybe_sent);
    if (answer.ok()) {
      preferred_.store(index);
      return answer;
    }
    last = answer.status();
    count_error(last.code());
    bool retryable = last.code() == Errc::unavailable || last.code() == Errc::timeout;
    bool safe = retry == Retry::idempotent || !maybe_sent;
    if (!retryable || !safe) return last;
  }
  if (endpoints_.size() == 1) return last;
  return Status(last.code(), "all " + std::to_string(endpoints_.size()) +
                                 " etcd endpoints failed; last: " + last.message());
}

Result<std::string> EtcdTransport::post(const std::string& path, const std::string& body,
                                        Retry retry) {
  return call("POST", path, body, retry);
}

Result<std::string> EtcdTransport::get(const std::string& path) {
  return call("GET", path, "", Retry::idempotent);
}

}  // namespace ezone::meta::etcd
