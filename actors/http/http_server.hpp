// HttpServer: an HTTP/1.1 keep-alive server on Boost.Beast, running on the
// lanes of an IoThreads (one event loop per thread; a connection stays on
// one lane). Beast stays inside http_server.cpp.
//
// Bad input never crashes the server. Each limit has its own status and
// counter (all labelled server=<name>):
//   malformed request line or header   400  ezone_http_bad_requests_total
//   header over header_bytes_max       431  ezone_http_too_large_total{part="header"}
//   body over body_bytes_max           413  ezone_http_too_large_total{part="body"}
//   request not complete within
//     request_timeout_ms (slow client) 408  ezone_http_request_timeouts_total
//   connections over connections_max   503  ezone_http_rejected_connections_total
//   peer closed mid-request            -    ezone_http_truncated_requests_total
//   idle keep-alive over idle_timeout  -    ezone_http_idle_closed_total
//   handler threw or dropped a request 500  ezone_http_handler_errors_total
//   accept failed (e.g. no free fd)    -    ezone_http_accept_errors_total
//   TLS handshake failed or timed out  -    ezone_http_tls_handshake_failures_total
// After such an answer the connection is closed; the server keeps serving
// everyone else.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "actors/http/http_types.hpp"
#include "actors/http/io_threads.hpp"
#include "core/address.hpp"
#include "core/metrics.hpp"
#include "core/status.hpp"
#include "storage/net/tls.hpp"

namespace ezone {

struct HttpServerOptions {
  std::string name;        // "admin" or "http": the metrics label
  std::string config_key;  // e.g. "node.admin", named in bind errors
  HostPort bind;           // port 0: the kernel picks one (see port())
  int threads = 1;         // lanes, when the server creates its own IoThreads
  int64_t body_bytes_max = 1 << 20;
  int64_t header_bytes_max = 16 << 10;
  int64_t connections_max = 4096;
  // The wait for the first byte of the next request on an open connection.
  int64_t idle_timeout_ms = 30000;
  std::string ezone;  // sent as the X-Ezone response header
  // The time a client may take to send one whole request (header and body),
  // counted from its first byte, and to take the response. A client slower
  // than this (slowloris) gets 408 and is closed, however busy it keeps
  // the connection.
  int64_t request_timeout_ms = 10000;
  // When set, every response that lacks an X-Ezone-Epoch header gets one
  // with this value. Called on I/O threads: must be cheap and not block.
  std::function<int64_t()> epoch = nullptr;
  // When set (a server context, storage/net/tls.hpp), every connection is
  // TLS: the handshake must end within request_timeout_ms of the accept.
  net::TlsContextPtr tls = nullptr;
};

class HttpServer {
 public:
  // Binds and starts serving with a synchronous handler on its own
  // IoThreads of options.threads lanes. Fails with unavailable naming
  // options.config_key and the address if the bind fails. metrics must
  // outlive the server.
  static Result<std::unique_ptr<HttpServer>> start(HttpServerOptions options, HttpHandler handler,
                                                   Metrics& metrics);
  // As above with an asynchronous handler. With io given, the server runs
  // on those lanes (options.threads is ignored) and stop() stops them: an
  // IoThreads serves one server and the forwarders of its requests. Every
  // responder the handler holds must be answered or dropped by the time the
  // IoThreads is released; metrics must outlive the IoThreads.
  static Result<std::unique_ptr<HttpServer>> start(HttpServerOptions options,
                                                   AsyncHttpHandler handler, Metrics& metrics,
                                                   std::shared_ptr<IoThreads> io = nullptr);
  virtual ~HttpServer() = default;
  // Closes the listener, stops the I/O threads and so ends every
  // connection. Responses delivered after this are discarded. Idempotent;
  // also run by the destructor. Must not be called from an I/O thread.
  virtual void stop() = 0;
  virtual uint16_t port() const = 0;
};

}  // namespace ezone
