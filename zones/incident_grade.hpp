// Incident grading (DESIGN.md, "health"): an incident's grade, P0 (the
// worst) to P5, from its impact on the business: the share of client
// requests that failed, the share of acknowledged orders that were lost (or
// not there when they were needed), and the money those orders carried.
//
// A policy lists the thresholds of P0 to P4, one rule per grade. An
// incident takes the most severe grade any of whose thresholds its impact
// meets; one that meets none of them is P5 (noticed, below every line). The
// defaults (IncidentPolicy::defaults) follow the practice of grading an
// outage by what it cost, not by what broke:
//
//   grade  failed requests  lost orders             money lost
//   P0     >= 20%           >= 1%                   >= 1,000,000.00
//   P1     >= 10%           >= 0.1%                 >=   100,000.00
//   P2     >= 5%            >= 0.01%                >=    10,000.00
//   P3     >= 1%            any (>= 1 order)        >=     1,000.00
//   P4     >= 0.1%          -                       >=       100.00
//
// Money is in cents of the app's currency. Pure logic: `ezctl drill`
// grades what a drill cost with it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/status.hpp"

namespace ezone {

struct IncidentImpact {
  uint64_t requests = 0;         // client requests during the incident
  uint64_t failed_requests = 0;  // of those, the ones that failed (errors, timeouts)
  uint64_t orders = 0;           // orders acknowledged during the incident
  uint64_t orders_lost = 0;      // acknowledged orders lost, or missing when needed
  int64_t money_lost_cents = 0;  // what the lost orders carried

  double error_ratio() const;  // failed / requests (0 without requests)
  double loss_ratio() const;   // lost / orders (0 without orders)
};

// One grade's thresholds: any one met gives the grade. A negative
// threshold is not used.
struct IncidentRule {
  int grade = 0;                  // 0..4 for P0..P4
  double error_ratio_min = -1;    // failed / requests
  double loss_ratio_min = -1;     // lost / orders
  int64_t orders_lost_min = -1;   // lost orders, counted
  int64_t money_cents_min = -1;   // money lost
};

struct IncidentPolicy {
  std::vector<IncidentRule> rules;  // P0 first; one rule per grade 0..4

  static IncidentPolicy defaults();
  // invalid_argument unless there is one rule per grade 0..4 in order, each
  // with at least one threshold, ratios in [0, 1], and no threshold of a
  // milder grade above the same threshold of a more severe one.
  Status validate() const;
};

struct IncidentGrade {
  int grade = 5;       // 0..5: P0..P5
  std::string reason;  // what met the threshold, e.g. "lost orders 0.31% >= 0.01%"; for P5, that none did
  std::string name() const { return "P" + std::to_string(grade); }
};

// The grade of impact under policy (which must validate).
IncidentGrade grade_incident(const IncidentImpact& impact, const IncidentPolicy& policy);

// A policy as JSON, the thresholds of P0..P4 in arrays ({"failed_ratio":
// [...], "lost_ratio": [...], "lost_orders": [...], "money_cents": [...]},
// -1 for none), as GET /admin/v1/incident serves it and `ezctl drill` reads
// it back; parse errors and policies that do not validate are
// invalid_argument.
nlohmann::json incident_policy_json(const IncidentPolicy& policy);
Result<IncidentPolicy> parse_incident_policy(std::string_view json);

}  // namespace ezone
