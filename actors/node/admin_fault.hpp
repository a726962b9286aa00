// Admin endpoints of fault injection, for disaster-recovery drills (ezctl
// drill idc-down). They isolate this node's data plane while the process
// and its admin API stay up (core/fault_state.hpp says what isolation does):
//
//   POST /admin/v1/fault/isolate   body optional: {"duration_ms": N}, N in
//                                  1..600000, default 60000. Isolates the
//                                  node until N ms from now; a node already
//                                  isolated keeps its start and gets the new
//                                  deadline. 200 with the state below.
//   POST /admin/v1/fault/heal      ends the isolation at once (200 with the
//                                  state, also when none was on).
//   GET  /admin/v1/fault           the state:
//     {"isolated": bool, "since_wall_ms": ms, "heals_at_wall_ms": ms,
//      "allowed": bool, "fenced": bool, "fence_reason": "..."}
//     since/heals_at are 0 when not isolated; "fenced" is whether this node
//     refuses writes now (lease not valid, or not caught up with the epoch
//     current when it got its lease), with the reason when it does.
//
// The POSTs answer 403 naming the setting unless [admin]
// allow_fault_injection = true; a malformed body is 400; another method is
// 405. Each isolation begun counts in ezone_fault_isolations_total, and
// isolate and heal are logged (event=fault_isolated / fault_healed).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "actors/http/http_types.hpp"
#include "core/fault_state.hpp"
#include "core/metrics.hpp"

namespace spdlog {
class logger;
}

namespace ezone {

struct FaultAdminSources {
  std::string ezone;
  std::string config_source;     // the config file, named in the 403
  bool allowed = false;          // [admin] allow_fault_injection
  FaultState* fault = nullptr;   // required
  // Whether the node may accept writes now; `why` gets the reason when not.
  std::function<bool(std::string* why)> may_write;
  std::shared_ptr<spdlog::logger> logger;  // required
  Counter* isolations = nullptr;           // required: ezone_fault_isolations_total
};

// An answer for the paths above, nullopt for any other path. Everything in
// sources must outlive the calls.
std::optional<HttpResponse> handle_fault_admin(const FaultAdminSources& sources, const HttpRequest& req);

}  // namespace ezone
