#include "zones/incident_grade.hpp"

#include <cstdio>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "core/json.hpp"

namespace ezone {
namespace {

constexpr int kGrades = 5;  // rules for P0..P4; P5 is the floor

std::string percent(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g%%", ratio * 100);
  return buf;
}

std::string money(int64_t cents) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld.%02lld", static_cast<long long>(cents / 100),
                static_cast<long long>(cents % 100));
  return buf;
}

// The first threshold of rule that impact meets, or "".
std::string met(const IncidentImpact& impact, const IncidentRule& rule) {
  // Every threshold needs some impact: a threshold of 0 means "any", not
  // "always".
  if (rule.error_ratio_min >= 0 && impact.failed_requests > 0 && impact.error_ratio() >= rule.error_ratio_min)
    return "failed requests " + percent(impact.error_ratio()) + " >= " + percent(rule.error_ratio_min);
  if (rule.loss_ratio_min >= 0 && impact.orders > 0 && impact.orders_lost > 0 &&
      impact.loss_ratio() >= rule.loss_ratio_min)
    return "lost orders " + percent(impact.loss_ratio()) + " >= " + percent(rule.loss_ratio_min);
  if (rule.orders_lost_min >= 0 && impact.orders_lost > 0 &&
      impact.orders_lost >= static_cast<uint64_t>(rule.orders_lost_min))
    return "lost orders " + std::to_string(impact.orders_lost) + " >= " + std::to_string(rule.orders_lost_min);
  if (rule.money_cents_min >= 0 && impact.money_lost_cents > 0 && impact.money_lost_cents >= rule.money_cents_min)
    return "money lost " + money(impact.money_lost_cents) + " >= " + money(rule.money_cents_min);
  return "";
}

// A milder grade's threshold may not be above a more severe one's (unused
// thresholds are negative and skipped).
template <class T>
bool monotone(const std::vector<IncidentRule>& rules, T IncidentRule::*field) {
  for (size_t i = 0; i < rules.size(); ++i)
    for (size_t j = i + 1; j < rules.size(); ++j)
      if (rules[i].*field >= 0 && rules[j].*field >= 0 && rules[j].*field > rules[i].*field) return false;
  return true;
}

}  // namespace

double IncidentImpact::error_ratio() const {
  return requests == 0 ? 0.0 : static_cast<double>(failed_requests) / static_cast<double>(requests);
}

double IncidentImpact::loss_ratio() const {
  return orders == 0 ? 0.0 : static_cast<double>(orders_lost) / static_cast<double>(orders);
}

IncidentPolicy IncidentPolicy::defaults() {
  IncidentPolicy p;
  //            grade  failed  lost ratio  lost n  money (cents)
  p.rules.push_back({0, 0.20, 0.01, -1, 100'000'000});
  p.rules.push_back({1, 0.10, 0.001, -1, 10'000'000});
  p.rules.push_back({2, 0.05, 0.0001, -1, 1'000'000});
  p.rules.push_back({3, 0.01, -1, 1, 100'000});
  p.rules.push_back({4, 0.001, -1, -1, 10'000});
  return p;
}

Status IncidentPolicy::validate() const {
  auto bad = [](const std::string& why) { return Status(Errc::invalid_argument, "incident policy: " + why); };
  if (rules.size() != kGrades) return bad("needs one rule for each of P0..P4");
  for (size_t i = 0; i < rules.size(); ++i) {
    const IncidentRule& r = rules[i];
    std::string name = "P" + std::to_string(i);
    if (r.grade != static_cast<int>(i)) return bad("rule " + std::to_string(i) + " must be " + name);
    if (r.error_ratio_min < 0 && r.loss_ratio_min < 0 && r.orders_lost_min < 0 && r.money_cents_min < 0)
      return bad(name + " has no threshold");
    if (r.error_ratio_min > 1 || r.loss_ratio_min > 1) return bad(name + ": a ratio above 1 is never met");
  }
  if (!monotone(rules, &IncidentRule::error_ratio_min) || !monotone(rules, &IncidentRule::loss_ratio_min) ||
      !monotone(rules, &IncidentRule::orders_lost_min) || !monotone(rules, &IncidentRule::money_cents_min))
    return bad("a milder grade has a threshold above a more severe grade's");
  return Status::ok();
}

IncidentGrade grade_incident(const IncidentImpact& impact, const IncidentPolicy& policy) {
  for (const IncidentRule& rule : policy.rules) {
    std::string why = met(impact, rule);
    if (!why.empty()) return IncidentGrade{rule.grade, why};
  }
  return IncidentGrade{kGrades, "below every threshold of P0..P4"};
}

nlohmann::json incident_policy_json(const IncidentPolicy& policy) {
  nlohmann::json failed = nlohmann::json::array(), lost = nlohmann::json::array(), orders = nlohmann::json::array(),
                 money = nlohmann::json::array();
  for (const IncidentRule& r : policy.rules) {
    failed.push_back(r.error_ratio_min);
    lost.push_back(r.loss_ratio_min);
    orders.push_back(r.orders_lost_min);
    money.push_back(r.money_cents_min);
  }
  return nlohmann::json{{"failed_ratio", failed}, {"lost_ratio", lost}, {"lost_orders", orders}, {"money_cents", money}};
}

Result<IncidentPolicy> parse_incident_policy(std::string_view text) {
  auto bad = [](const std::string& why) { return Status(Errc::invalid_argument, "incident policy: " + why); };
  nlohmann::json doc = parse_json_or_discarded(text);
  if (!doc.is_object()) return bad("not a JSON object");
  IncidentPolicy p;
  p.rules.resize(kGrades);
  for (int g = 0; g < kGrades; ++g) p.rules[static_cast<size_t>(g)].grade = g;
  auto read = [&](const char* key, auto IncidentRule::*field) -> Status {
    const nlohmann::json& list = doc.contains(key) ? doc[key] : nlohmann::json();
    if (!list.is_array() || list.size() != kGrades) return bad(std::string(key) + " is not five thresholds");
    for (size_t i = 0; i < kGrades; ++i) {
      if (!list[i].is_number()) return bad(std::string(key) + " has an item that is not a number");
      using T = std::remove_reference_t<decltype(p.rules[i].*field)>;
      p.rules[i].*field = list[i].get<T>();
    }
    return Status::ok();
  };
  if (Status s = read("failed_ratio", &IncidentRule::error_ratio_min); !s) return s;
  if (Status s = read("lost_ratio", &IncidentRule::loss_ratio_min); !s) return s;
  if (Status s = read("lost_orders", &IncidentRule::orders_lost_min); !s) return s;
  if (Status s = read("money_cents", &IncidentRule::money_cents_min); !s) return s;
  if (Status s = p.validate(); !s) return s;
  return p;
}

}  // namespace ezone
