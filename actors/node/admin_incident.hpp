// GET /admin/v1/incident[?window_s=N]: this node's incident grade now
// (zones/incident_grade.hpp, under the config's [incident] policy), from
// what its router answered its clients over the last N seconds (default
// [incident] window_s, 300; 10..3600):
//
//   {"ezone": "bj", "window_s": 300, "span_s": 300.0, "requests": N,
//    "failed_requests": F, "error_ratio": F/N, "grade": "P4",
//    "reason": "failed requests 0.2% >= 0.1%", "graded_by": "...",
//    "policy": {"failed_ratio": [P0..P4], ...}}
//
// `ezctl drill` grades a drill under the policy a survivor serves here.
//
// Failed means answered 5xx (503 while a shard moves or the node is fenced
// included: the client saw no answer). Requests that another router
// forwarded here are that router's clients', graded there. Lost orders and
// money are graded where they are known: `ezctl drill idc-down` grades
// what a drill cost. span_s is shorter than the window right after a
// start. A malformed window_s is 400, counted in
// ezone_admin_bad_requests_total{endpoint="incident"}; another method 405.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "actors/http/http_types.hpp"
#include "actors/router/router.hpp"
#include "config/node_config.hpp"
#include "core/metrics.hpp"

namespace ezone {

struct IncidentAdminSources {
  std::string ezone;
  IncidentSettings settings;
  // The router's answers over a window in ms; null while there is no router.
  std::function<Router::Answers(int64_t window_ms)> answers;
  Counter* bad_requests = nullptr;  // required
};

// The answer for GET /admin/v1/incident, nullopt for any other path.
std::optional<HttpResponse> handle_incident_admin(const IncidentAdminSources& sources, const HttpRequest& req);

}  // namespace ezone
