#include "actors/node/admin_incident.hpp"

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "zones/incident_grade.hpp"

namespace ezone {

std::optional<HttpResponse> handle_incident_admin(const IncidentAdminSources& sources, const HttpRequest& req) {
  if (req.path() != "/admin/v1/incident") return std::nullopt;
  if (req.method != "GET") return HttpResponse::error(405, req.method + " not allowed on /admin/v1/incident; use GET");
  int64_t window_s = sources.settings.window_s;
  const std::string text = req.query_param("window_s");
  if (!text.empty()) {
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (*end != '\0' || v < 10 || v > 3600) {
      sources.bad_requests->inc();
      return HttpResponse::error(400, "window_s must be a whole number of seconds in 10..3600, not '" +
                                          text.substr(0, 40) + "'");
    }
    window_s = v;
  }
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
                     {"policy", nlohmann::json::parse(incident_policy_json(sources.settings.policy))}};
  return HttpResponse::json(200, doc.dump() + "\n");
}

}  // namespace ezone
