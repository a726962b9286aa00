#include "actors/node/admin_fault.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/json.hpp"
#include "core/status.hpp"

namespace ezone {
namespace {

using nlohmann::json;

constexpr const char* kFaultPath = "/admin/v1/fault";
constexpr const char* kIsolatePath = "/admin/v1/fault/isolate";
constexpr const char* kHealPath = "/admin/v1/fault/heal";

HttpResponse state_answer(const FaultAdminSources& s) {
  const FaultState::Snapshot f = s.fault->snapshot();
  std::string why;
  const bool fenced = s.may_write && !s.may_write(&why);
  json doc{{"ezone", s.ezone},
           {"isolated", f.isolated},
           {"since_wall_ms", f.since_wall_ms},
           {"heals_at_wall_ms", f.heals_at_wall_ms},
           {"allowed", s.allowed},
           {"fenced", fenced},
           {"fence_reason", fenced ? why : ""}};
  return HttpResponse::json(200, doc.dump(2) + "\n");
}

// duration_ms from an isolate request's body; an empty body takes the default.
Result<int64_t> isolation_duration_ms(const std::string& body) {
  const std::string usage = "the body must be empty or {\"duration_ms\": N} with N in " +
                            std::to_string(FaultState::kIsolationMsMin) + ".." +
                            std::to_string(FaultState::kIsolationMsMax);
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return FaultState::kIsolationMsDefault;
  const json doc = parse_json_or_discarded(body);
  if (!doc.is_object()) return Status(Errc::invalid_argument, "not a JSON object; " + usage);
  for (auto it = doc.begin(); it != doc.end(); ++it)
    if (it.key() != "duration_ms") return Status(Errc::invalid_argument, "unknown key '" + it.key() + "'; " + usage);
  if (!doc.contains("duration_ms")) return FaultState::kIsolationMsDefault;
  const json& d = doc["duration_ms"];
  if (!d.is_number_integer()) return Status(Errc::invalid_argument, "duration_ms is not an integer; " + usage);
  const int64_t ms = d.get<int64_t>();
  if (ms < FaultState::kIsolationMsMin || ms > FaultState::kIsolationMsMax)
    return Status(Errc::invalid_argument, "duration_ms " + std::to_string(ms) + " is out of range; " + usage);
  return ms;
}

HttpResponse isolate(const FaultAdminSources& s, const HttpRequest& req) {
  auto duration_ms = isolation_duration_ms(req.body);
  if (!duration_ms) return HttpResponse::error(400, duration_ms.status().message());
  const bool began = s.fault->isolate(*duration_ms);
  if (began) s.isolations->inc();
  s.logger->warn("event=fault_isolated ezone={} duration_ms={} heals_at_wall_ms={} began={} (drill: data plane "
                 "dark, etcd lease not renewed, DRC stopped)",
                 s.ezone, *duration_ms, s.fault->snapshot().heals_at_wall_ms, began);
  return state_answer(s);
}

HttpResponse heal(const FaultAdminSources& s) {
  const bool was = s.fault->heal();
  s.logger->warn("event=fault_healed ezone={} reason=operator was_isolated={}", s.ezone, was);
  return state_answer(s);
}

}  // namespace

std::optional<HttpResponse> handle_fault_admin(const FaultAdminSources& s, const HttpRequest& req) {
  const std::string path = req.path();
  const bool action = path == kIsolatePath || path == kHealPath;
  if (path != kFaultPath && !action) return std::nullopt;
  const std::string method = action ? "POST" : "GET";
  if (req.method != method) return HttpResponse::error(405, req.method + " not allowed on " + path + "; use " + method);
  if (!action) return state_answer(s);
  if (!s.allowed)
    return HttpResponse::error(403, "fault injection is off on ezone " + s.ezone + ": set allow_fault_injection = "
                                    "true in the [admin] section of " + s.config_source +
                                    " (admin.allow_fault_injection) and restart ezoned");
  return path == kIsolatePath ? isolate(s, req) : heal(s);
}

}  // namespace ezone
