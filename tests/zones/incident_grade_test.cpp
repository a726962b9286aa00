// Incident grading: each kind of impact alone reaches its grade at its
// threshold and not below it, the most severe grade wins, and policies that
// make no sense are refused.
#include "zones/incident_grade.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace ezone {
namespace {

IncidentImpact requests(uint64_t total, uint64_t failed) {
  IncidentImpact i;
  i.requests = total;
  i.failed_requests = failed;
  return i;
}

IncidentImpact orders(uint64_t total, uint64_t lost, int64_t money = 0) {
  IncidentImpact i;
  i.orders = total;
  i.orders_lost = lost;
  i.money_lost_cents = money;
  return i;
}

int grade_of(const IncidentImpact& i) { return grade_incident(i, IncidentPolicy::defaults()).grade; }

TEST(IncidentGrade, TheDefaultPolicyIsValid) { EXPECT_TRUE(IncidentPolicy::defaults().validate().is_ok()); }

TEST(IncidentGrade, FailedRequestsGradeAtEachThreshold) {
  EXPECT_EQ(grade_of(requests(1000, 200)), 0);
  EXPECT_EQ(grade_of(requests(1000, 199)), 1);
  EXPECT_EQ(grade_of(requests(1000, 100)), 1);
  EXPECT_EQ(grade_of(requests(1000, 50)), 2);
  EXPECT_EQ(grade_of(requests(1000, 10)), 3);
  EXPECT_EQ(grade_of(requests(1000, 9)), 4);
  EXPECT_EQ(grade_of(requests(10000, 10)), 4);
  EXPECT_EQ(grade_of(requests(10000, 9)), 5);
  EXPECT_EQ(grade_of(requests(0, 0)), 5) << "no requests, no ratio";
  IncidentPolicy any = IncidentPolicy::defaults();
  any.rules[4].error_ratio_min = 0;
  EXPECT_EQ(grade_incident(requests(1000, 0), any).grade, 5) << "a threshold of 0 is any failure, not always";
  EXPECT_EQ(grade_incident(requests(1000000, 1), any).grade, 4);
  IncidentGrade g = grade_incident(requests(1000, 60), IncidentPolicy::defaults());
  EXPECT_EQ(g.name(), "P2");
  EXPECT_EQ(g.reason, "failed requests 6% >= 5%");
}

TEST(IncidentGrade, LostOrdersGradeByShareAndAnyOneIsAtLeastP3) {
  EXPECT_EQ(grade_of(orders(1000, 10)), 0);
  EXPECT_EQ(grade_of(orders(1000, 9)), 1);
  EXPECT_EQ(grade_of(orders(10000, 10)), 1);
  EXPECT_EQ(grade_of(orders(100000, 10)), 2);
  EXPECT_EQ(grade_of(orders(1000000, 10)), 3);
  EXPECT_EQ(grade_of(orders(1000000, 1)), 3) << "one lost order is never below P3";
  EXPECT_EQ(grade_of(orders(1000000, 0)), 5);
  EXPECT_EQ(grade_incident(orders(1000000, 1), IncidentPolicy::defaults()).reason, "lost orders 1 >= 1");
}

TEST(IncidentGrade, MoneyLostGradesOnItsOwn) {
  IncidentImpact i;
  i.money_lost_cents = 100'000'000;
  EXPECT_EQ(grade_of(i), 0);
  i.money_lost_cents = 99'999'999;
  EXPECT_EQ(grade_of(i), 1);
  i.money_lost_cents = 100'000;
  EXPECT_EQ(grade_of(i), 3);
  i.money_lost_cents = 10'000;
  EXPECT_EQ(grade_of(i), 4);
  EXPECT_EQ(grade_incident(i, IncidentPolicy::defaults()).reason, "money lost 100.00 >= 100.00");
  i.money_lost_cents = 9'999;
  EXPECT_EQ(grade_of(i), 5);
}

TEST(IncidentGrade, TheMostSevereGradeAnyImpactMeetsWins) {
  IncidentImpact i = orders(1'000'000, 1, 5'000);  // P3 by the order, P5 by the money
  i.requests = 1000;
  i.failed_requests = 120;  // P1
  IncidentGrade g = grade_incident(i, IncidentPolicy::defaults());
  EXPECT_EQ(g.grade, 1);
  EXPECT_EQ(g.reason, "failed requests 12% >= 10%");
  EXPECT_EQ(grade_incident(IncidentImpact{}, IncidentPolicy::defaults()).reason, "below every threshold of P0..P4");
}

TEST(IncidentGrade, APolicyThatMakesNoSenseIsRefused) {
  auto broken = [](auto edit) {
    IncidentPolicy p = IncidentPolicy::defaults();
    edit(p);
    return p.validate();
  };
  EXPECT_FALSE(broken([](IncidentPolicy& p) { p.rules.pop_back(); }).is_ok());
  EXPECT_FALSE(broken([](IncidentPolicy& p) { std::swap(p.rules[0], p.rules[1]); }).is_ok());
  EXPECT_FALSE(broken([](IncidentPolicy& p) { p.rules[4] = IncidentRule{4}; }).is_ok()) << "no threshold";
  EXPECT_FALSE(broken([](IncidentPolicy& p) { p.rules[0].error_ratio_min = 1.5; }).is_ok());
  Status s = broken([](IncidentPolicy& p) { p.rules[3].error_ratio_min = 0.5; });
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("milder grade"), std::string::npos) << s.message();
  EXPECT_TRUE(broken([](IncidentPolicy& p) { p.rules[2].money_cents_min = -1; }).is_ok()) << "an unused threshold";
}

TEST(IncidentGrade, APolicyTravelsAsJsonAndBadJsonIsRefused) {
  IncidentPolicy p = IncidentPolicy::defaults();
  p.rules[3].money_cents_min = 50'000;
  auto back = parse_incident_policy(incident_policy_json(p).dump());
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(back->rules[i].grade, static_cast<int>(i));
    EXPECT_DOUBLE_EQ(back->rules[i].error_ratio_min, p.rules[i].error_ratio_min);
    EXPECT_DOUBLE_EQ(back->rules[i].loss_ratio_min, p.rules[i].loss_ratio_min);
    EXPECT_EQ(back->rules[i].orders_lost_min, p.rules[i].orders_lost_min);
    EXPECT_EQ(back->rules[i].money_cents_min, p.rules[i].money_cents_min);
  }
  for (const char* bad : {"", "[]", "{}", R"({"failed_ratio": [1, 2]})",
                          R"({"failed_ratio": [0.2, 0.1, 0.05, 0.01, "x"], "lost_ratio": [-1,-1,-1,-1,-1],
                              "lost_orders": [-1,-1,-1,1,-1], "money_cents": [-1,-1,-1,-1,-1]})",
                          R"({"failed_ratio": [0.1, 0.2, 0.05, 0.01, 0.001], "lost_ratio": [-1,-1,-1,-1,-1],
                              "lost_orders": [-1,-1,-1,1,-1], "money_cents": [-1,-1,-1,-1,-1]})"})
    EXPECT_FALSE(parse_incident_policy(bad).ok()) << bad;
}

}  // namespace
}  // namespace ezone
