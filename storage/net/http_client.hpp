// A small blocking HTTP/1.1 client for the control plane: etcd's JSON
// gateway, and `ezctl` talking to a node's admin endpoint. It is not for the
// request hot path (the router has its own Beast server and client).
//
// Beast and Asio stay inside http_client.cpp: including them costs 15-40 s of
// compile time per translation unit (DESIGN.md), so this header needs only
// std and core.
//
// Every wait is bounded. Errors name the address they concern:
//   unavailable  connection refused or reset, host unreachable, peer closed
//   timeout      the deadline of timeout_ms ran out (connect, send or read)
//   parse_error  the peer sent something that is not HTTP
//   io_error     any other socket failure
// A non-2xx status is not an error for http_request: the caller sees it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/address.hpp"
#include "core/status.hpp"
#include "storage/net/tls.hpp"

namespace ezone::net {

// Largest response body http_request accepts; a bigger one is a parse_error.
constexpr uint64_t kHttpBodyBytesMax = 64ull << 20;

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";     // path and query, e.g. "/v3/kv/range"
  std::string body;
  std::string content_type;     // empty = no Content-Type header
  std::vector<std::pair<std::string, std::string>> headers;  // extra request headers
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;  // as received

  // The first header with this name (case-insensitive), or "".
  std::string header(const std::string& name) const;
};

// Adds "Authorization: Bearer TOKEN" (a node's admin token,
// core/shared_token.hpp) unless token is empty.
void add_bearer_token(HttpRequest& request, const std::string& token);
// Adds "X-Ezone-Service-Token: TOKEN" (the cluster's service token, for
// node.http's internal endpoints) unless token is empty.
void add_service_token(HttpRequest& request, const std::string& token);

// One request on a fresh connection, closed afterwards. timeout_ms bounds the
// whole exchange (connect, TLS handshake, send, receive) and must be > 0.
// With tls (a client context, storage/net/tls.hpp) it is HTTPS.
Result<HttpResponse> http_request(const HostPort& to, const std::string& method,
                                  const std::string& target, const std::string& body,
                                  const std::string& content_type, int64_t timeout_ms,
                                  TlsContextPtr tls = nullptr);

// A keep-alive connection to one host for repeated requests (keep-alive
// loops, etcd calls). It connects lazily, reconnects when the server has
// closed the idle connection, and drops the connection after any error so
// the next request starts clean. Not thread-safe: one user at a time.
class HttpConnection {
 public:
  // With tls (a client context), the connection is HTTPS: the server's
  // certificate must chain to the context's CA and name `to.host`; a
  // failed handshake is unavailable, "TLS handshake with HOST:PORT failed:
  // <why>".
  explicit HttpConnection(HostPort to, TlsContextPtr tls = nullptr);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends one request and reads the whole response within timeout_ms (> 0).
  // If maybe_sent is given, it is set to false when the failure happened
  // before any byte of this request left (so a retry elsewhere cannot apply
  // it twice), true otherwise.
  Result<HttpResponse> request(const HttpRequest& request, int64_t timeout_ms,
                               bool* maybe_sent = nullptr);
  const HostPort& peer() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// How a streaming exchange ended when it did not fail.
enum class StreamEnd {
  stopped,        // on_piece returned false
  cancelled,      // the cancel flag was set
  server_closed,  // the server ended the body or closed the connection
};

// Sends one request and hands each piece of the response body to on_piece as
// it arrives (for chunked streams such as etcd's /v3/watch), until on_piece
// returns false, the cancel flag becomes true, the server ends the body, or
// an error occurs.
//
// connect_timeout_ms (> 0) bounds connecting, sending and receiving the
// response header; the body may then stay idle for any time, since a quiet
// watch is normal. Setting cancel from another thread ends the call within
// about 50 ms. Pieces are arbitrary byte runs: a message may be split across
// pieces. A non-2xx status is an error (unavailable for 5xx, invalid_argument
// for others) carrying the start of the body; on_piece is not called then.
// on_piece runs on the calling thread. With tls (a client context) the
// stream is HTTPS, as for HttpConnection; the handshake is part of
// connecting.
Result<StreamEnd> http_stream(const HostPort& to, const HttpRequest& request,
                              int64_t connect_timeout_ms, const std::atomic<bool>& cancel,
                              const std::function<bool(const std::string& piece)>& on_piece,
                              TlsContextPtr tls = nullptr);

}  // namespace ezone::net
