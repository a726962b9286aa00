// HttpServer: an HTTP/1.1 keep-alive server on Boost.Beast with its own I/O
// threads. Beast stays inside http_server.cpp.
//
// Bad input (malformed request, header or body over its limit, too many
// connections) gets a 4xx/5xx answer and a counter, never a crash.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "actors/http/http_types.hpp"
#include "core/address.hpp"
#include "core/metrics.hpp"
#include "core/status.hpp"

namespace ezone {

struct HttpServerOptions {
  std::string name;        // "admin" or "http": the metrics label
  std::string config_key;  // e.g. "node.admin", named in bind errors
  HostPort bind;
  int threads = 1;
  int64_t body_bytes_max = 1 << 20;
  int64_t header_bytes_max = 16 << 10;
  int64_t connections_max = 4096;
  int64_t idle_timeout_ms = 30000;
  std::string ezone;  // sent as the X-Ezone response header
};

class HttpServer {
 public:
  // Binds and starts serving. Fails with unavailable naming
  // options.config_key and the address if the bind fails. metrics must
  // outlive the server.
  static Result<std::unique_ptr<HttpServer>> start(HttpServerOptions options, HttpHandler handler,
                                                   Metrics& metrics);
  virtual ~HttpServer() = default;
  // Closes the listener and every connection and joins the I/O threads.
  // Idempotent; also run by the destructor.
  virtual void stop() = 0;
  virtual uint16_t port() const = 0;
};

}  // namespace ezone
