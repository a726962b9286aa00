#include "actors/router/router_metrics.hpp"

namespace ezone {
namespace {

constexpr const char* kReasonNames[kRejectReasons] = {
    "no_endpoint", "method_not_allowed", "bad_header", "missing_key", "malformed_key", "unknown_key",
    "unresolvable_key", "unavailable", "write_forbidden", "stale_epoch", "hop_limit", "loop", "fenced", "isolated",
    "unauthorized"};
constexpr int kReasonStatus[kRejectReasons] = {404, 405, 400, 400, 400, 404, 400, 503,
                                               503, 503, 508, 508, 503, 503, 401};
constexpr const char* kOutcomeNames[kOutcomes] = {"local", "forwarded", "rejected"};
constexpr const char* kHoldNames[3] = {"released", "expired", "overflow"};

const char* entrance_label(int e) {
  return e == RouterMetrics::kNoEntrance ? "none" : entrance_name(static_cast<Entrance>(e));
}

}  // namespace

const char* reject_reason_name(RejectReason reason) { return kReasonNames[static_cast<int>(reason)]; }
int reject_status(RejectReason reason) { return kReasonStatus[static_cast<int>(reason)]; }

RouterMetrics RouterMetrics::create(Metrics& metrics) {
  RouterMetrics m{};
  for (int e = 0; e <= kEntrances; ++e) {
    for (int o = 0; o < kOutcomes; ++o) {
      MetricLabels labels{{"entrance", entrance_label(e)}, {"outcome", kOutcomeNames[o]}};
      m.requests[e][o] = &metrics.counter("ezone_router_requests_total",
                                          "Requests routed, by entrance and outcome", labels);
      m.latency[e][o] = &metrics.histogram("ezone_router_request_duration_seconds",
                                           "Time from routing a request to its answer", labels,
                                           latency_buckets_seconds());
    }
    for (int r = 0; r < kRejectReasons; ++r)
      m.rejections[e][r] = &metrics.counter("ezone_router_rejections_total",
                                            "Requests the router answered with an error, by reason",
                                            {{"entrance", entrance_label(e)}, {"reason", kReasonNames[r]}});
  }
  const char* const classes[3] = {"1xx-3xx", "4xx", "5xx"};
  for (size_t c = 0; c < 3; ++c)
    m.client_answers[c] = &metrics.counter("ezone_router_client_answers_total",
                                           "Answers to clients (not to a forwarding router), by status class",
                                           {{"class", classes[c]}});
  m.held = &metrics.gauge("ezone_router_held_requests",
                          "Requests held while their shard is write-forbidden or the epoch catches up");
  for (int h = 0; h < 3; ++h)
    m.holds[h] = &metrics.counter("ezone_router_holds_total", "Held requests, by how the hold ended",
                                  {{"result", kHoldNames[h]}});
  m.untrusted_trails = &metrics.counter("ezone_router_untrusted_trails_total",
                                        "Requests whose X-Ezone-Epoch or Via came without the peer token "
                                        "(routed as from a client: never held for them)");
  m.bad_traceparents = &metrics.counter("ezone_router_bad_traceparents_total",
                                        "Malformed W3C traceparent headers, dropped (the request is served untraced)");
  return m;
}

}  // namespace ezone
