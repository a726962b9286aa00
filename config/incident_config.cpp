// The optional [incident] section of a node config: the incident-grading
// policy (zones/incident_grade.hpp) and the live grade's default window.
//
//   [incident]
//   window_s = 300                                  # GET /admin/v1/incident's default, 10..3600
//   failed_ratio = [0.20, 0.10, 0.05, 0.01, 0.001]  # P0..P4: share of client requests failed
//   lost_ratio = [0.01, 0.001, 0.0001, -1, -1]      # share of acknowledged orders lost
//   lost_orders = [-1, -1, -1, 1, -1]               # lost orders, counted
//   money_cents = [100000000, 10000000, 1000000, 100000, 10000]  # money lost, in cents
//
// Each array has one threshold per grade P0..P4; -1 leaves it unused. An
// array left out keeps the default's.
#include <cmath>

#include "config/node_config.hpp"
#include "config/toml_reader.hpp"

namespace ezone::config_internal {
namespace {

constexpr size_t kRules = 5;

// Reads key as five numbers into each rule's field (as T), if present.
template <class T>
Status read_thresholds(TableReader& r, const std::string& key, bool integers, T IncidentRule::*field,
                       std::vector<IncidentRule>& rules) {
  const toml::node* node = r.get(key);
  if (!node) return Status::ok();
  const std::string fix = "give five " + std::string(integers ? "integers" : "numbers") +
                          ", the thresholds of P0..P4 (-1 for none), e.g. " +
                          (integers ? "[-1, -1, -1, 1, -1]" : "[0.20, 0.10, 0.05, 0.01, 0.001]");
  const toml::array* list = node->as_array();
  if (!list || list->size() != kRules) return r.error(key, "must be an array of five thresholds", fix);
  for (size_t i = 0; i < kRules; ++i) {
    const toml::node* item = list->get(i);
    const bool is_int = item->type() == toml::node_type::integer;
    if (!is_int && (integers || item->type() != toml::node_type::floating_point))
      return r.error(key, "item " + std::to_string(i) + " is not " + (integers ? "an integer" : "a number"), fix);
    const double v = is_int ? static_cast<double>(*item->value<int64_t>()) : *item->value<double>();
    if (!std::isfinite(v)) return r.error(key, "item " + std::to_string(i) + " is not a finite number", fix);
    if (v < 0 && v != -1) return r.error(key, "item " + std::to_string(i) + " is negative but not -1", fix);
    rules[i].*field = static_cast<T>(v);
  }
  return Status::ok();
}

}  // namespace

Status read_incident(const toml::table& root, NodeConfig& c) {
  const toml::table* table = nullptr;
  EZONE_TRY(optional_section(root, "incident", c.source, &table));
  if (!table) return Status::ok();
  TableReader r(table, "incident", c.source);
  IncidentSettings& s = c.incident;
  EZONE_TRY(r.integer("window_s", &s.window_s, 10, 3600));
  auto& rules = s.policy.rules;
  EZONE_TRY(read_thresholds(r, "failed_ratio", false, &IncidentRule::error_ratio_min, rules));
  EZONE_TRY(read_thresholds(r, "lost_ratio", false, &IncidentRule::loss_ratio_min, rules));
  EZONE_TRY(read_thresholds(r, "lost_orders", true, &IncidentRule::orders_lost_min, rules));
  EZONE_TRY(read_thresholds(r, "money_cents", true, &IncidentRule::money_cents_min, rules));
  EZONE_TRY(r.no_unknown_keys("window_s, failed_ratio, lost_ratio, lost_orders, money_cents"));
  if (Status v = s.policy.validate(); !v)
    return config_error(c.source, "incident", v.message(),
                        "keep each threshold of a milder grade at or below the same threshold of a more severe one, "
                        "ratios within 0..1, and at least one threshold per grade");
  return Status::ok();
}

}  // namespace ezone::config_internal
