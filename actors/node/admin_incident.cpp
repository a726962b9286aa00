#include "actors/node/admin_incident.hpp"

#include <nlohmann/json.hpp>

#include "zones/incident_grade.hpp"

namespace ezone {

std::optional<HttpResponse> handle_incident_admin(const IncidentAdminSources& sources, const HttpRequest& req) {
  if (req.path() != "/admin/v1/incident") return std::nullopt;
  if (req.method != "GET") return HttpResponse::error(405, req.method + " not allowed on /admin/v1/incident; use GET");
  auto window = parse_window_seconds(req.query_param("window_s"), sources.settings.window_s, 10, 3600);
  if (!window) {
    sources.bad_requests->inc();
    return HttpResponse::error(400, window.status().message());
  }
  const int64_t window_s = *window;
  if (!sources.answers) return HttpResponse::error(503, "this node has no router yet");
  const Router::Answers a = sources.answers(window_s * 1000);
  IncidentImpact impact;
  impact.requests = a.answers;
  impact.failed_requests = a.failures;
  const IncidentGrade g = grade_incident(impact, sources.settings.policy);
  nlohmann::json doc{{"ezone", sources.ezone},
                     {"window_s", window_s},
                     {"span_s", a.span_ms / 1000.0},
                     {"requests", impact.requests},
                     {"failed_requests", impact.failed_requests},
                     {"error_ratio", impact.error_ratio()},
                     {"grade", g.name()},
                     {"reason", g.reason},
                     {"graded_by", "the failed share of this node's router's answers to its clients; lost orders "
                                   "and money are graded where they are known (ezctl drill idc-down)"},
                     {"policy", incident_policy_json(sources.settings.policy)}};
  return HttpResponse::json(200, doc.dump() + "\n");
}

}  // namespace ezone
