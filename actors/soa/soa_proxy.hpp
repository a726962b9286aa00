// SoaProxy: the SOA proxy of one ezone (DESIGN.md, "soa_proxy"). It carries
// calls from services to services through the API router, so that a call
// runs in the zone that owns its data and a service never needs to know
// where the zones are.
//
// Calls. For each service of [soa] (config/soa_config.hpp) the proxy gives
// the router endpoints for GET, HEAD, OPTIONS, POST, PUT, PATCH and DELETE
// (the first three are reads: served at a write-forbidden shard):
//   orig    /soa/v1/<name>/<path>         no key: served in this zone
//   route   /soa/v1/<name>/<path>         key X-Ezone-Key (or the master):
//                                         served where the key's shard is owned
//   prefix  /soa/v1/<zone>.<name>/<path>  served in <zone>
// The router resolves, holds, fences and forwards these like any endpoint
// (a route-mode write to a moving shard is held, then 503; at a fenced zone
// it is 503 fenced). In the zone that serves the call, the proxy sends
// `<METHOD> /<path>?<query>` with the caller's body and headers (less the
// route trail; with the router's X-Ezone-Shard) to one of that zone's live
// instances, round robin, and answers with the instance's response plus
// X-Ezone-Soa-Instance (host:port) and X-Ezone-Soa-Zone (the instance's
// zone).
//
// Instances: those [soa] lists, and those that registered at runtime
// (SoaRegistry, soa_registry.hpp, calls add_registered/remove_registered).
// A call sees the instance set as it was when the call began.
//
// Failures. An instance that refuses a connection (or cannot be reached in
// time) is marked down at once and the call goes to the next candidate,
// whatever its method: it was never sent. After a call was sent (no whole
// response in call_timeout_ms, or a broken response), only the reads, PUT
// and DELETE are tried again elsewhere; a POST or PATCH gets the error (502 or
// 504, X-Ezone-Forward-Error names the kind), as it may have been acted on.
// A call tries at most attempts_max instances. An instance's own 5xx is its
// answer, passed through.
//
// Fallback. When the serving zone has no live instance, the call goes to
// a peer zone's live instance if the service's fallback allows it (all:
// every call; reads: GET, HEAD and OPTIONS; none: never); otherwise 503 + Retry-After
// naming the service, the zone and its instances' state. (A route-mode
// write sent to another zone's instance would write into a shard that zone
// does not own, which its DAL refuses: so zone-aware services fall back
// for reads only unless configured otherwise.)
//
// Health. Every probe_interval_ms the proxy GETs health_path on every
// instance of every zone (so it knows which peer instances a fallback may
// use); a 2xx within probe_timeout_ms is healthy. down_after failures in a
// row, of probes or calls, mark an instance down; one healthy probe marks
// it up and ends the row. A call that succeeds does not: an instance whose
// health check fails is taken out even while it still answers calls (it
// may be draining). Instances start up. Transitions are logged
// (event=soa_instance_down / soa_instance_up).
//
// Metrics: ezone_soa_calls_total{service,served_by=local|peer},
// ezone_soa_call_errors_total{service,kind=no_instance|upstream},
// ezone_soa_retries_total{service}, ezone_soa_instances_up{service,instance_ezone},
// ezone_soa_probe_failures_total{service}.
//
// Tracing. A call whose traceparent is sampled (its parent: the router's
// span) makes one CLIENT span per attempt, scope ezone.soa, named
// "<METHOD> soa/<service>", with soa.service, soa.instance (host:port),
// soa.instance_ezone, soa.attempt (1, 2, ...), http.request.method and
// http.response.status_code, or ezone.forward_error and status ERROR when
// no answer came; an instance's 5xx is an ERROR too. The instance gets the
// attempt's span as the parent in its traceparent. Unsampled calls pass
// the router's traceparent on unchanged.
//
// Threads: calls and probes run on the router's I/O lanes (the IoThreads
// given to start()): a call goes out on the lane that read it, with no
// thread switch, and probes run on lane 0.
//
// Lifetime: the handlers hold the proxy's state, so they stay safe after
// stop(); once stopped they answer 503, and probing ends. Work the proxy
// queued on the lanes holds its state weakly: the lanes may outlive it, and
// the proxy may outlive them. Stopping the lanes (the router's stop) ends
// calls in flight.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/http/io_threads.hpp"
#include "actors/router/endpoint.hpp"
#include "config/soa_config.hpp"
#include "core/metrics.hpp"
#include "core/span.hpp"
#include "core/status.hpp"
#include "zones/soa_registration.hpp"

namespace spdlog {
class logger;
}

namespace ezone {

// Headers the proxy adds to an instance's answer.
constexpr const char* kSoaInstanceHeader = "X-Ezone-Soa-Instance";
constexpr const char* kSoaZoneHeader = "X-Ezone-Soa-Zone";

class SoaProxy {
 public:
  // ezone: this site; zones: every ezone of the cluster (this one too), for
  // prefix-mode endpoints. settings.services must be non-empty and valid
  // (load_node_config checks them). io: the lanes of the router that serves
  // endpoints() (RouterIngress::start takes the same). Starts the probes.
  // metrics must outlive the lanes' queued work; logger may be null.
  // on_span: where a traced call's spans go (see "Tracing"); empty: none.
  static Result<std::unique_ptr<SoaProxy>> start(std::string ezone, std::vector<std::string> zones,
                                                 SoaSettings settings, std::shared_ptr<IoThreads> io,
                                                 Metrics& metrics, std::shared_ptr<spdlog::logger> logger,
                                                 SpanSink on_span = {});
  ~SoaProxy();
  SoaProxy(const SoaProxy&) = delete;
  SoaProxy& operator=(const SoaProxy&) = delete;

  // Stops probing and calling; later calls answer 503. Idempotent.
  void stop();
  // The router endpoints of every service (see "Calls").
  std::vector<Endpoint> endpoints() const;
  // GET /admin/v1/soa: {"ezone", "services": [{"name", "mode", "master",
  // "fallback", "health_path", "instances": [{"ezone", "address",
  // "source" (config | registered), "up", "since_wall_ms", "failures",
  // "last_error", "calls", "errors"}]}]}.
  std::string status_json() const;

  // Registered instances (actors/soa/soa_registry.hpp), besides the
  // file's. add_registered adds one, up, and probes it at once; nothing
  // changes when it is served already (registered, or in the file). It is
  // refused, and counted (ezone_soa_registrations_refused_total), when this
  // proxy has no such service, its ezone is not in the cluster, or its
  // service has registered_per_zone_max registered in that ezone.
  Status add_registered(const SoaRegistration& r);
  // Removes a registered instance (the file's stay); false when it was not
  // there. Calls already on their way to it finish.
  bool remove_registered(const SoaRegistration& r);
  // Makes the registered instances exactly `all` (after a full read of the
  // registrations), as add/remove would; returns how many were refused.
  size_t set_registered(const std::vector<SoaRegistration>& all);
  bool serves(const std::string& service) const;
  const SoaSettings& settings() const;

  struct State;

 private:
  explicit SoaProxy(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

// GET /admin/v1/soa on a node: proxy's status_json(); 404 naming the config
// file (source) when the node has no proxy; 405 for another method; nullopt
// for any other path.
std::optional<HttpResponse> handle_soa_admin(const SoaProxy* proxy, const std::string& source, const HttpRequest& req);

}  // namespace ezone
