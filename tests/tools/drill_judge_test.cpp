// The judging half of `ezctl drill idc-down` (tools/ezctl/drill_judge):
// which acknowledged writes count against the RPO, and which verification
// problems are silent losses (the drill's exit code) rather than versions
// the runtime kept in its conflict table or quarantine.
#include <gtest/gtest.h>

#include "tools/ezctl/drill_judge.hpp"

namespace ezctl::drill {
namespace {

using ezone::loadgen::CallEvent;
using ezone::loadgen::FlowStep;
using ezone::loadgen::Problem;
using ezone::loadgen::ProblemKind;

CallEvent ack(int64_t wall_ms, int64_t order, FlowStep step, const std::string& zone, ezone::ShardId shard = 1) {
  return CallEvent{wall_ms, shard, order, step, true, zone, ""};
}

TEST(DrillJudgeTest, StatesRankInFlowOrder) {
  EXPECT_EQ(state_rank(""), 0);
  EXPECT_EQ(state_rank("bogus"), 0);
  EXPECT_LT(state_rank("created"), state_rank("accepted"));
  EXPECT_LT(state_rank("accepted"), state_rank("picked_up"));
  EXPECT_LT(state_rank("picked_up"), state_rank("delivered"));
}

TEST(DrillJudgeTest, TheLogKeepsEachOrdersNewestAckAndWhoServedIt) {
  AckLog log;
  log.record(ack(100, 7, FlowStep::create, "bj"));
  log.record(ack(110, 7, FlowStep::accept, "bj"));
  log.record(ack(120, 8, FlowStep::create, "bj"));
  log.record(ack(130, 8, FlowStep::accept, "sh"));  // order 8 moved on at sh
  log.record(CallEvent{140, 1, 9, FlowStep::accept, false, "", "unavailable"});
  EXPECT_EQ(log.calls(), 5u);
  const auto by_bj = log.served_by("bj", 1000);
  ASSERT_EQ(by_bj.size(), 1u);
  EXPECT_EQ(by_bj.at(7).state, "accepted");
  EXPECT_TRUE(log.served_by("bj", 105).empty());  // 7's newest ack came later
  EXPECT_EQ(log.served_by("sh", 1000).size(), 1u);
}

TEST(DrillJudgeTest, TheFirstTakeoverAckIsASurvivorsAckOnTheFailedZonesShards) {
  AckLog log;
  log.record(ack(100, 1, FlowStep::create, "bj", 1));
  log.record(ack(200, 2, FlowStep::create, "sh", 2));  // sh's own shard: not a takeover
  log.record(ack(300, 3, FlowStep::create, "bj", 1));  // bj still answering
  EXPECT_EQ(log.first_takeover_ack({1}, "bj", 150), 0);
  log.record(ack(450, 4, FlowStep::create, "sh", 1));
  log.record(ack(400, 5, FlowStep::accept, "sh", 1));  // answers can arrive out of order
  EXPECT_EQ(log.first_takeover_ack({1}, "bj", 150), 400);
  EXPECT_EQ(log.first_takeover_ack({1}, "bj", 420), 450);
}

TEST(DrillJudgeTest, RpoListsWritesTheSurvivorLackedOrHeldInAnEarlierState) {
  std::map<int64_t, AckedState> acked{{1, {1, "accepted", "bj", 10}},
                                      {2, {1, "created", "bj", 10}},
                                      {3, {1, "picked_up", "bj", 10}},
                                      {4, {1, "accepted", "bj", 10}}};
  std::map<int64_t, std::string> rows{{1, "accepted"}, {3, "accepted"}, {4, "delivered"}};
  const auto rpo = rpo_entries(acked, rows, "sh");
  ASSERT_EQ(rpo.size(), 2u);
  EXPECT_EQ(rpo[0].order_id, 2);
  EXPECT_EQ(rpo[0].survivor_state, "");
  EXPECT_EQ(rpo[1].order_id, 3);
  EXPECT_EQ(rpo[1].acked_state, "picked_up");
  EXPECT_EQ(rpo[1].survivor_state, "accepted");
  EXPECT_EQ(rpo[1].survivor, "sh");
}

TEST(DrillJudgeTest, OnlyProblemsOutsideConflictsAndQuarantineAreSilentLosses) {
  std::vector<Problem> problems{{ProblemKind::wrong_state, 5, "bj", "accepted, expected picked_up"},
                                {ProblemKind::lost, 6, "sh", "missing"},
                                {ProblemKind::unreadable, 0, "sh", "timeout"}};
  const LossVerdict v = judge_problems(problems, {"[5]", "[99]"});
  ASSERT_EQ(v.explained.size(), 1u);
  EXPECT_EQ(v.explained[0].id, 5);
  ASSERT_EQ(v.silent.size(), 2u);
  EXPECT_EQ(v.silent[0].id, 6);
  EXPECT_EQ(v.silent[1].kind, ProblemKind::unreadable);  // cannot prove nothing was lost
  EXPECT_TRUE(judge_problems({}, {}).silent.empty());
}

TEST(DrillJudgeTest, TheTextReportSaysPassOrFailAndListsSilentLosses) {
  nlohmann::json r{{"zone", "bj"}, {"mode", "isolate"}, {"ok", false},
                   {"clients", {{"requests", 40}, {"errors", {{"http_503", 7}}}}},
                   {"failover", {{"rto_ms", 2400}, {"workflow", "drill-1"}, {"outcome", "done"}, {"shards", {1, 3}}}},
                   {"rpo", {{"acked_by_zone", 10}, {"missing", 1},
                            {"entries", {{{"order", 9}, {"shard", 1}, {"acked_state", "accepted"}, {"survivor", "sh"},
                                          {"survivor_state", "created"}, {"after_restore", "accepted"}}}}}},
                   {"loss", {{"orders", 50}, {"problems", 1}, {"silent", 1},
                             {"silent_problems", {{{"kind", "lost"}, {"id", 12}, {"site", "sh"}, {"detail", "missing"}}}}}}};
  const std::string text = report_text(r);
  EXPECT_NE(text.find("FAIL"), std::string::npos) << text;
  EXPECT_NE(text.find("2400 ms"), std::string::npos) << text;
  EXPECT_NE(text.find("order 9 shard 1: acked accepted, survivor sh had created; after restore: accepted"),
            std::string::npos) << text;
  EXPECT_NE(text.find("SILENT lost order 12 at sh"), std::string::npos) << text;
  EXPECT_NE(text.find("error http_503: 7"), std::string::npos) << text;
  EXPECT_EQ(text.find("incident grade"), std::string::npos) << "a report without a grade shows none";
}

TEST(DrillJudgeTest, TheIncidentIsGradedByFailedRequestsAndTheOrdersMissingOrLost) {
  std::vector<ezone::loadgen::AckedOrder> acked;
  for (int64_t id = 1; id <= 2000; ++id) acked.push_back({id, 1, 7, 8, 2500, "delivered", ""});
  acked[9].amount_cents = 990'000;  // order 10
  const nlohmann::json clients{{"requests", 10000}, {"errors", {{"http_503", 30}, {"timeout", 20}}}};
  // Order 10 missing at takeover and lost silently too: counted once.
  std::vector<RpoEntry> rpo{{10, 1, "accepted", "", "sh"}, {11, 1, "created", "accepted", "sh"}};
  std::vector<Problem> silent{{ProblemKind::lost, 10, "sh", "missing"}, {ProblemKind::unreadable, 0, "sh", "timeout"}};
  nlohmann::json inc = incident_json(clients, rpo, silent, acked, ezone::IncidentPolicy::defaults());
  EXPECT_EQ(inc["failed_requests"], 50);
  EXPECT_DOUBLE_EQ(inc["error_ratio"].get<double>(), 0.005);
  EXPECT_EQ(inc["orders"], 2000);
  EXPECT_EQ(inc["orders_lost"], 2);
  EXPECT_EQ(inc["money_lost_cents"], 992'500);
  // 2 of 2,000 orders is 0.1%: P1, above what the failed requests (0.5%:
  // P4) and the money (9,925.00: P3) give.
  EXPECT_EQ(inc["grade"], "P1");
  EXPECT_EQ(inc["reason"], "lost orders 0.1% >= 0.1%");
  nlohmann::json r{{"zone", "bj"}, {"ok", true}, {"incident", inc}};
  const std::string text = report_text(r);
  EXPECT_NE(text.find("incident grade: P1 (lost orders 0.1% >= 0.1%)"), std::string::npos) << text;
  EXPECT_NE(text.find("failed requests 0.500% of 10000; orders missing at takeover or lost: 2 of 2000 (0.1000%), "
                      "carrying 9925.00"),
            std::string::npos)
      << text;

  // A drill that lost nothing and failed nothing is P5.
  nlohmann::json quiet = incident_json({{"requests", 10000}, {"errors", nlohmann::json::object()}}, {}, {}, acked,
                                       ezone::IncidentPolicy::defaults());
  EXPECT_EQ(quiet["grade"], "P5");
  EXPECT_EQ(quiet["orders_lost"], 0);

  // Under a stricter policy (a site's [incident]), the same drill is P0.
  ezone::IncidentPolicy strict = ezone::IncidentPolicy::defaults();
  strict.rules[0].orders_lost_min = 1;
  EXPECT_EQ(incident_json(clients, rpo, silent, acked, strict)["grade"], "P0");
}

}  // namespace
}  // namespace ezctl::drill
