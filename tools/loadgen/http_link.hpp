// HttpLink: one keep-alive HTTP/1.1 connection on a plain blocking socket,
// for the load generator's request path.
//
// Why not storage/net's HttpConnection: that one runs an Asio event loop per
// request (a poll for the idle check, an epoll registration and wait, timers),
// about five system calls and an epoll wake-up per request. The load
// generator shares the machine with the cluster it measures, so its cost per
// request is taken from the system under test; a blocking send and recv
// (with SO_RCVTIMEO as the bound) is two system calls. It speaks only what
// ezone's router answers: Content-Length bodies (no chunked encoding), and
// `Connection: close`. Over TLS (node.http with [tls] http) it runs
// OpenSSL on the same blocking socket: the same two calls per request.
//
// Not thread-safe: one thread owns a link.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/address.hpp"
#include "core/status.hpp"
#include "storage/net/tls.hpp"

typedef struct ssl_st SSL;

namespace ezone::loadgen {

// Bounds on an answer; larger ones are a parse_error.
constexpr size_t kLinkHeaderBytesMax = 64 << 10;
constexpr size_t kLinkBodyBytesMax = 4 << 20;

struct LinkResponse {
  int status = 0;
  std::string served_by;  // the X-Ezone header, "" when absent
  std::string body;
};

class HttpLink {
 public:
  // With tls (a client context) the link is HTTPS: the server's certificate
  // must chain to its CA and name peer.host.
  explicit HttpLink(HostPort peer, net::TlsContextPtr tls = nullptr) : peer_(std::move(peer)), tls_(std::move(tls)) {}
  ~HttpLink();
  HttpLink(const HttpLink&) = delete;
  HttpLink& operator=(const HttpLink&) = delete;

  // Sends one request (body sent as application/json when not empty) and
  // reads the whole answer within about timeout_ms (> 0), connecting first
  // when needed. Failures: unavailable (refused, reset, closed), timeout,
  // parse_error (not HTTP/1.1 or over the bounds), io_error. *maybe_sent is
  // false when the failure came before any byte of this request left.
  // traceparent: sent as that header when not empty.
  Result<LinkResponse> request(std::string_view method, std::string_view target, std::string_view body,
                               int64_t timeout_ms, bool* maybe_sent, std::string_view traceparent = {});
  const HostPort& peer() const { return peer_; }

 private:
  Status connect(int64_t timeout_ms);
  Status handshake();
  // Sets *any_sent once a byte has left.
  Status send_all(const std::string& bytes, bool* any_sent);
  Result<LinkResponse> read_response(int64_t timeout_ms);
  Status fill(int64_t deadline_ms);  // reads more into buffer_
  void close();

  HostPort peer_;
  net::TlsContextPtr tls_;
  SSL* ssl_ = nullptr;  // over fd_ when tls_
  int fd_ = -1;
  int64_t last_used_ms_ = 0;
  std::string out_;     // the request being sent (reused)
  std::string buffer_;  // bytes received and not yet consumed
};

}  // namespace ezone::loadgen
