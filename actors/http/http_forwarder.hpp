// HttpForwarder: sends requests on to upstream HTTP/1.1 servers (another
// site's router) over pooled keep-alive connections, asynchronously, on the
// lanes of an IoThreads. Beast stays inside http_forwarder.cpp.
//
// Pooling. Each lane keeps its own connections per upstream, so a request
// forwarded from lane L uses lane L's connections and never takes a lock.
// A lane may open at most ceil(connections_per_upstream_max / lanes)
// connections to one upstream; requests beyond that wait in a FIFO queue
// of at most ceil(waiters_per_upstream_max / lanes). Idle connections are
// reused newest first; one idle for over idle_timeout_ms is closed instead
// of reused (keep this below the upstream's own idle timeout, so the
// upstream rarely closes one under us), and one idle for over 200 ms is
// first checked for a close from the upstream (a recv peek; busier ones
// skip that system call).
//
// Failures are answered, never thrown, as JSON {"error": ...} and counted in
// ezone_forwarder_errors_total{forwarder,kind}:
//   queue_full        503 + Retry-After  the wait queue is at its maximum
//   connect_error     502  the upstream refused or could not be reached, or
//                          (with tls) its certificate was refused
//   connect_timeout   504  no connection within connect_timeout_ms
//   response_timeout  504  no whole response within response_timeout_ms of
//                          sending (or of queueing, for a waiting request)
//   bad_response      502  the upstream sent something that is not HTTP, or
//                          closed mid-response, or exceeded the size limits
//   stopped           503  the forwarder's IoThreads has stopped
//   too_many_upstreams 503 + Retry-After  a lane has upstreams_max upstreams
// Each such answer carries the header X-Ezone-Forward-Error naming its kind;
// the same header from an upstream is dropped, so an answer that has it was
// made here (a caller with other upstreams, the SOA proxy, reads it to
// choose whether to try another).
// A reused connection that fails before any byte of the response arrives
// (the upstream closed it while idle) is retried once on a new connection
// when the method is idempotent (GET, HEAD, PUT, DELETE, OPTIONS).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "actors/http/http_types.hpp"
#include "actors/http/io_threads.hpp"
#include "core/address.hpp"
#include "core/metrics.hpp"
#include "storage/net/tls.hpp"

namespace ezone {

struct HttpForwarderOptions {
  std::string name = "router";  // the metrics label
  int64_t connections_per_upstream_max = 256;
  int64_t waiters_per_upstream_max = 4096;
  int64_t upstreams_max = 256;  // distinct upstreams per lane; more answer 503
  int64_t connect_timeout_ms = 1000;
  int64_t response_timeout_ms = 10000;
  int64_t idle_timeout_ms = 20000;
  int64_t response_header_bytes_max = 64 << 10;
  int64_t response_body_bytes_max = 16 << 20;
  // A client context (storage/net/tls.hpp): every upstream is then HTTPS,
  // its certificate checked against the context's CA and the upstream's
  // host (IP or DNS name); the handshake counts in connect_timeout_ms.
  // Null: plain HTTP.
  net::TlsContextPtr tls = nullptr;
};

// The header of the forwarder's own error answers (compare names case-insensitively).
constexpr const char* kForwardErrorHeader = "X-Ezone-Forward-Error";
// Whether an error of this kind (the header's value) was answered before
// any byte of the request was sent upstream: queue_full, connect_error,
// connect_timeout, stopped, too_many_upstreams. The request may then go to
// another upstream whatever its method; after response_timeout or
// bad_response the upstream may have acted on it.
bool forward_error_before_sending(std::string_view kind);

class HttpForwarder {
 public:
  // io and metrics must outlive the forwarder; the forwarder keeps io
  // alive as long as it has connections on it.
  static std::shared_ptr<HttpForwarder> create(HttpForwarderOptions options,
                                               std::shared_ptr<IoThreads> io, Metrics& metrics);
  virtual ~HttpForwarder() = default;

  // Sends request to upstream and answers done exactly once with the
  // upstream's response (status, content type, body and end-to-end
  // headers; hop-by-hop headers are dropped), or with one of the error
  // answers above. Never blocks; callable from any thread, though from one
  // of io's lanes is cheapest (no thread switch). The request's hop-by-hop
  // headers (Connection, Keep-Alive, Transfer-Encoding, ...) are not sent;
  // Content-Length is set from the body.
  virtual void forward(const HostPort& upstream, HttpRequest request, HttpResponder done) = 0;

  // Connections opened so far, over all upstreams and lanes (for tests and
  // the pool-reuse check; also ezone_forwarder_connections_opened_total).
  virtual uint64_t connections_opened() const = 0;
};

}  // namespace ezone
