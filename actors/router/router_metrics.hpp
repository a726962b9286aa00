// The API router's metrics, created once so the request path only bumps
// atomics:
//   ezone_router_requests_total{entrance,outcome}            local | forwarded | rejected
//   ezone_router_rejections_total{entrance,reason}           see RejectReason
//   ezone_router_request_duration_seconds{entrance,outcome}  histogram, from the
//                                                            router's first look at a
//                                                            request to its answer
//   ezone_router_held_requests                               gauge
//   ezone_router_holds_total{result}                         released | expired | overflow
//   ezone_router_untrusted_trails_total                      trail claims without the peer
//                                                            token (route_trail.hpp, "Trust")
//   ezone_router_bad_traceparents_total                      malformed W3C traceparent headers,
//                                                            dropped (core/trace_context.hpp)
//   ezone_router_client_answers_total{class}                 answers to clients (requests no
//                                                            router forwarded here), by status
//                                                            class: 1xx-3xx | 4xx | 5xx
// entrance is "none" for requests that matched no endpoint.
#pragma once

#include <array>

#include "actors/router/endpoint.hpp"
#include "core/metrics.hpp"

namespace ezone {

enum class Outcome { local, forwarded, rejected };
constexpr int kOutcomes = 3;

enum class RejectReason {
  no_endpoint,         // 404: no endpoint has this path
  method_not_allowed,  // 405: the path exists with another method
  bad_header,          // 400: X-Ezone-Hops, -Via or -Epoch malformed
  missing_key,         // 400: the request carries no sharding key
  malformed_key,       // 400: the key is there but malformed
  unknown_key,         // 404: no fence holds the point, unknown merchant
  unresolvable_key,    // 400: the key cannot be resolved (e.g. bad order shard bits)
  unavailable,         // 503: no route table yet, no owner, or no owner address
  write_forbidden,     // 503: the shard is moving (after the hold, if any)
  stale_epoch,         // 503: the sender's epoch is newer and ours did not catch up
  hop_limit,           // 508: too many forwards
  loop,                // 508: the request came back to a router with the same table
  fenced,              // 503: a write for a shard this ezone owns, while its lease is not valid
  isolated,            // 503: an operator isolated this node (fault injection, core/fault_state.hpp)
  unauthorized,        // 401: an internal endpoint without the service token (RouterConfig::service_token)
};
constexpr int kRejectReasons = 15;
const char* reject_reason_name(RejectReason reason);
int reject_status(RejectReason reason);

enum class HoldResult { released, expired, overflow };

struct RouterMetrics {
  static constexpr int kNoEntrance = kEntrances;  // index of entrance="none"

  Counter* requests[kEntrances + 1][kOutcomes];
  Counter* rejections[kEntrances + 1][kRejectReasons];
  Histogram* latency[kEntrances + 1][kOutcomes];
  Gauge* held;
  Counter* holds[3];
  Counter* untrusted_trails;
  Counter* bad_traceparents;
  // ezone_router_client_answers_total by class: [0] below 400, [1] 4xx, [2] 5xx.
  std::array<Counter*, 3> client_answers;
  static size_t answer_class(int status) { return status >= 500 ? 2 : status >= 400 ? 1 : 0; }

  // Creates (or finds) every series. metrics must outlive the result.
  static RouterMetrics create(Metrics& metrics);
};

}  // namespace ezone
