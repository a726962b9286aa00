// Router: the API router of one ezone (DESIGN.md, "router"). For each
// request, on the I/O thread that read it (no actor hop, no lock):
//   1. match an endpoint (method + path pattern);          404 / 405
//   2. read the route trail (route_trail.hpp) and check
//      the peer token;                                      400, 508 hop limit
//   3. extract the sharding key with the endpoint's
//      extractor;                                           400 missing / malformed
//   4. resolve key -> shard -> owner with the Resolver (an immutable GZS
//      snapshot):  not_found -> 404, invalid_argument -> 400,
//      unavailable (and any other error) -> 503 + Retry-After; a key
//      unknown here in a request that another router forwarded (so that
//      router knew it: this one's merchant map lags) is held, bounded by
//      forwarded_key_hold_ms, re-resolving, before its 404;
//   5. stale route: sender epoch newer than ours -> hold, then 503;
//   6. loop: this router already routed it at this epoch -> 508;
//   7. write-forbidden shard and a write endpoint -> hold (bounded by
//      hold_ms, re-resolving every hold_poll_ms), then 503 + Retry-After;
//   8. owner == self: run the endpoint's handler here ("local");
//      owner elsewhere: forward to the owner's router over a pooled
//      keep-alive connection with the trail stamped ("forwarded").
// Isolation: while config.fault says the node is isolated (a drill's fault
// injection), every request that reaches the router, a client's or one
// forwarded by a peer, is answered 503 (reason isolated) before step 2, and
// a held request that wakes up isolated is answered so too: nothing is
// served here and nothing is forwarded out.
//
// Every error is JSON {"error": what, "reason": reason, "key": key} (key when
// one was read), counted by entrance and reason (router_metrics.hpp). Every
// response carries X-Ezone (set by the server, or the owner's passed
// through) and X-Ezone-Epoch (the epoch the answering router routed at).
//
// Tracing. A request with a W3C traceparent (core/trace_context.hpp) makes
// one span per router: the router passes `00-<trace>-<its span>-<flags>`
// on to the handler or the next router, and when the sampled flag is set
// reports the span (ezone, endpoint, outcome, status, time) to
// config.on_span once the request is answered. A malformed traceparent is
// dropped with its tracestate and counted; the request is served untraced.
//
// Holds. A held request waits on its own I/O thread's timer, not on a
// thread; at most holds_max are held at once (the next gets 503 at once,
// counted as holds{result="overflow"}). hold_ms = 0 answers 503 without
// holding.
//
// Lifetime. handler() captures the Router by pointer: the Router must
// outlive the servers that use it, and they must be stopped (which stops
// the IoThreads, so no hold timer or handler runs again) before it is
// destroyed. RouterIngress below does this in the right order.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/http/http_forwarder.hpp"
#include "actors/http/http_server.hpp"
#include "actors/http/io_threads.hpp"
#include "actors/router/endpoint.hpp"
#include "actors/router/route_trail.hpp"
#include "actors/router/router_metrics.hpp"
#include "actors/router/traffic_window.hpp"
#include "core/fault_state.hpp"
#include "core/metrics.hpp"
#include "zones/resolution.hpp"

namespace ezone {

// One router's part in a sampled, traced request (see "Tracing" above).
struct RouterSpan {
  std::string trace_id;
  std::string span_id;    // this router's
  std::string parent_id;  // the caller's: a client's span, or the router that forwarded it
  std::string ezone;
  std::string name;       // "POST /v1/orders/{id}/accept": the endpoint's pattern (the path when none matched)
  const char* outcome = "";  // local | forwarded | rejected
  const char* reason = "";   // the rejection's reason
  std::string forwarded_to;  // the owner ezone, when forwarded
  int status = 0;            // the answer's HTTP status
  int64_t duration_us = 0;   // from the router's first look to the answer
};

struct RouterConfig {
  std::string ezone;  // this router's ezone: owner == ezone means "local"
  int hops_max = 2;   // router-to-router forwards a request may make
  int64_t hold_ms = 0;        // longest hold for a write-forbidden shard or stale epoch
  int64_t hold_poll_ms = 5;   // how often a held request re-resolves
  int64_t holds_max = 1024;   // requests held at once
  // Longest hold of a forwarded request whose key this router cannot
  // resolve yet (0 = 404 at once). Keep it below the forwarding router's
  // response timeout, or the held request ends as that router's 504.
  int64_t forwarded_key_hold_ms = 1000;
  int retry_after_s = 1;      // Retry-After on every 503 the router sends
  // Required. Called concurrently from every I/O thread, for every request
  // (and every hold poll): it must be thread-safe, cheap and non-blocking,
  // as a lookup in GZS's immutable snapshot is.
  Resolver resolver;
  // The epoch of the current route-table snapshot, for answers that never
  // reached a resolution (404 no endpoint, ...). Optional: without it the
  // newest epoch seen in a resolution is used. Same thread rules as resolver.
  std::function<Epoch()> epoch;
  // Whether this ezone may accept writes now (its lease is valid and it has
  // caught up with the epoch current when it got it); `why` gets the reason
  // when not. A write endpoint for a local shard is then answered 503
  // (reason fenced) instead of reaching its handler: the node fences itself
  // at the router as well as in the DAL. Optional (no check); same thread
  // rules as resolver.
  std::function<bool(std::string* why)> may_write;
  // The node's fault injection (isolation). Optional: null never isolates.
  std::shared_ptr<const FaultState> fault;
  // The cluster's peer token (route_trail.hpp, "Trust"): added to every
  // forward; a request without it is not held for its X-Ezone-Epoch or
  // Via. Empty: every request's trail headers are trusted. A reload of the
  // token's file applies from the next request (core/shared_token.hpp).
  LiveToken peer_token;
  // The service token (core/shared_token.hpp): a request to an endpoint of
  // Entrance::internal must carry it in X-Ezone-Service-Token, or is
  // answered 401 (reason unauthorized) at the router it enters, before
  // anything is resolved. Forwards keep the header (the owner checks it
  // too); it is removed before the handler runs. Empty: internal endpoints
  // are open to whoever reaches node.http. Reloadable like peer_token.
  LiveToken service_token;
  // Receives each sampled span, on the I/O thread that answered: it must be
  // thread-safe and cheap (a log line). Optional: null reports nothing, but
  // traceparent is still passed on.
  std::function<void(const RouterSpan&)> on_span;
  HttpForwarderOptions forwarder;
};

class Router {
 public:
  // Requires config.ezone non-empty, a resolver, hops_max >= 0,
  // hold_poll_ms >= 1, holds_max >= 0, retry_after_s >= 0, and valid
  // endpoints (EndpointRegistry::create). Returns invalid_argument naming
  // the problem. io and metrics must outlive the router.
  static Result<std::unique_ptr<Router>> create(RouterConfig config, std::vector<Endpoint> endpoints,
                                                std::shared_ptr<IoThreads> io, Metrics& metrics);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // The ingress handler for an HttpServer running on this router's io.
  AsyncHttpHandler handler();
  // Routes one request (what handler() calls). Never blocks.
  void handle(HttpRequest&& request, HttpResponder respond);
  // config.epoch() if set, else the newest epoch seen in a resolution.
  Epoch epoch() const;
  const std::string& ezone() const;
  // Requests served here (dispatched to a local handler) per shard id since
  // the router started: the measured traffic a rebalance weighs shards by.
  // Indexed by shard id, kShardIdMax + 1 entries.
  std::vector<uint64_t> served_per_shard() const;
  // The same over the last window_ms (sampled every 10 s, kept for an
  // hour; less right after a start).
  TrafficWindow::Served served_recently(int64_t window_ms) const;
  // What this router answered its clients (requests no router forwarded
  // here) over the last window_ms, sampled as above: the health of the
  // entrance as clients see it (zones/incident_grade.hpp grades it).
  struct Answers {
    uint64_t answers = 0;
    uint64_t failures = 0;  // 5xx
    int64_t span_ms = 0;    // the span covered (less than window_ms right after a start)
  };
  Answers answers_recently(int64_t window_ms) const;

 private:
  struct Impl;
  explicit Router(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// An IoThreads, a Router and its ingress HttpServer, started and stopped in
// the right order: the usual way to run a router.
class RouterIngress {
 public:
  // server.threads gives the lanes, unless io is given (lanes that others,
  // such as a SoaProxy, use too; the ingress stops them with itself);
  // server.ezone defaults to config.ezone; server.epoch defaults to the
  // router's epoch(). Fails with the router's or the server's error (the
  // lanes are then stopped). metrics must outlive the ingress.
  static Result<std::unique_ptr<RouterIngress>> start(RouterConfig config, std::vector<Endpoint> endpoints,
                                                      HttpServerOptions server, Metrics& metrics,
                                                      std::shared_ptr<IoThreads> io = nullptr);
  ~RouterIngress();
  // Stops the server and its lanes; then the router is idle. Idempotent.
  void stop();
  uint16_t port() const { return server_->port(); }
  Router& router() { return *router_; }

 private:
  RouterIngress() = default;
  std::shared_ptr<IoThreads> io_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace ezone
