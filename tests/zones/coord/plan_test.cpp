#include "zones/coord/plan.hpp"

#include <gtest/gtest.h>

namespace ezone::coord {
namespace {

RouteTable table(std::vector<std::pair<std::string, ShardState>> owners, Epoch epoch = 5) {
  std::vector<ShardRoute> shards;
  for (size_t i = 0; i < owners.size(); ++i)
    shards.push_back(ShardRoute{static_cast<ShardId>(i), "s" + std::to_string(i), owners[i].first, owners[i].second});
  std::map<std::string, HostPort> sites{{"bj", HostPort{"127.0.0.1", 7100}},
                                        {"sh", HostPort{"127.0.0.1", 7200}},
                                        {"gz", HostPort{"127.0.0.1", 7300}}};
  auto t = RouteTable::create(epoch, std::move(shards), std::move(sites));
  EXPECT_TRUE(t) << t.status().message();
  return *t;
}
constexpr ShardState A = ShardState::active;
constexpr ShardState F = ShardState::write_forbidden;

TEST(PlanSwitchover, RecordsOwnersAndSkipsShardsAlreadyThere) {
  RouteTable t = table({{"bj", A}, {"bj", A}, {"sh", A}});
  auto w = plan_switchover(t, {2, 0, 1}, "sh", "so-1", 1000);
  ASSERT_TRUE(w) << w.status().message();
  EXPECT_EQ(w->shards, (std::vector<ShardId>{0, 1}));
  EXPECT_EQ(w->from.at(0), "bj");
  EXPECT_EQ(w->to.at(1), "sh");
  EXPECT_EQ(w->step, Step::forbid);
  EXPECT_EQ(w->outcome, Outcome::running);
  EXPECT_EQ(w->base_epoch, 5);
}

TEST(PlanSwitchover, NothingToMoveIsDoneAtOnce) {
  RouteTable t = table({{"sh", A}, {"bj", A}});
  auto w = plan_switchover(t, {0}, "sh", "so-1", 1000);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->outcome, Outcome::done);
  EXPECT_EQ(w->step, Step::finished);
  EXPECT_NE(w->detail.find("already owned by sh"), std::string::npos);
}

TEST(PlanSwitchover, RefusesBadRequests) {
  RouteTable t = table({{"bj", A}, {"bj", F}});
  EXPECT_EQ(plan_switchover(t, {}, "sh", "x", 0).status().code(), Errc::invalid_argument);
  EXPECT_EQ(plan_switchover(t, {0, 0}, "sh", "x", 0).status().code(), Errc::invalid_argument);
  EXPECT_EQ(plan_switchover(t, {9}, "sh", "x", 0).status().code(), Errc::invalid_argument);
  EXPECT_EQ(plan_switchover(t, {0}, "mars", "x", 0).status().code(), Errc::invalid_argument);
  auto moving = plan_switchover(t, {1}, "sh", "x", 0);
  EXPECT_EQ(moving.status().code(), Errc::conflict);
  EXPECT_NE(moving.status().message().find("another workflow"), std::string::npos);
}

TEST(PlanFailover, SpreadsShardsByCapacityHeaviestFirst) {
  // bj owns 4 shards; sh and gz own none. gz has twice sh's capacity.
  RouteTable t = table({{"bj", A}, {"bj", A}, {"bj", A}, {"bj", F}});
  auto w = plan_failover(t, "bj", {}, {{"sh", 1.0}, {"gz", 2.0}}, {}, false, "fo-1", 1000);
  ASSERT_TRUE(w) << w.status().message();
  EXPECT_EQ(w->shards.size(), 4u);
  int to_gz = 0;
  for (const auto& [s, to] : w->to) to_gz += to == "gz";
  EXPECT_EQ(to_gz, 3);  // loads 3/2 vs 1/1 is the best greedy spread
  EXPECT_EQ(w->step, Step::await_lease_expiry);
  EXPECT_EQ(w->dead_ezone, "bj");
  // A write-forbidden shard of the dead ezone counts as still its own.
  EXPECT_EQ(placement(t, *w), Placement::before);
}

TEST(PlanFailover, RespectsExclusionsAndNamesEmptyCases) {
  RouteTable t = table({{"bj", A}, {"sh", A}});
  auto w = plan_failover(t, "bj", {"gz"}, {}, {}, true, "fo-1", 0);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->to.at(0), "sh");
  EXPECT_TRUE(w->force);
  EXPECT_EQ(plan_failover(t, "gz", {}, {}, {}, false, "fo-2", 0).status().code(), Errc::conflict);
  EXPECT_EQ(plan_failover(t, "bj", {"sh", "gz"}, {}, {}, false, "fo-3", 0).status().code(), Errc::invalid_argument);
}

TEST(PlanRebalance, MovesTowardTheTargetAndStops) {
  // 10 shards all at bj, equal weights; target 50/50 between bj and sh.
  std::vector<std::pair<std::string, ShardState>> owners(10, {"bj", A});
  RouteTable t = table(owners);
  auto plan = plan_rebalance(t, {}, {{"bj", 50}, {"sh", 50}});
  ASSERT_TRUE(plan) << plan.status().message();
  EXPECT_EQ(plan->moves.size(), 5u);
  EXPECT_DOUBLE_EQ(plan->share_before.at("bj"), 100);
  EXPECT_DOUBLE_EQ(plan->share_after.at("sh"), 50);
  for (const Move& m : plan->moves) EXPECT_EQ(m.to, "sh");
}

TEST(PlanRebalance, UsesMeasuredTrafficAndRefusesBadTargets) {
  RouteTable t = table({{"bj", A}, {"bj", A}, {"sh", A}});
  // Shard 0 carries most of the traffic: moving it alone gets closest to 52/48.
  auto plan = plan_rebalance(t, {{0, 50}, {1, 10}, {2, 40}}, {{"bj", 52}, {"sh", 48}});
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->moves.size(), 1u);
  EXPECT_EQ(plan->moves[0].shard, 1u);  // 50+40 vs 10 -> 50 / 50: the closest single move
  EXPECT_EQ(plan_rebalance(t, {}, {{"bj", 60}, {"sh", 60}}).status().code(), Errc::invalid_argument);
  EXPECT_EQ(plan_rebalance(t, {}, {{"mars", 100}}).status().code(), Errc::invalid_argument);
  auto none = plan_rebalance(t, {}, {{"bj", 67}, {"sh", 33}});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->moves.empty());
}

TEST(Placement, FollowsTheWorkflowThroughItsTables) {
  RouteTable t = table({{"bj", A}, {"bj", A}, {"sh", A}});
  auto w = plan_switchover(t, {0, 1}, "sh", "so-1", 0);
  ASSERT_TRUE(w);
  EXPECT_EQ(placement(t, *w), Placement::before);
  auto forbidden = forbid_table(t, *w);
  ASSERT_TRUE(forbidden);
  EXPECT_EQ(forbidden->epoch(), 6);
  EXPECT_EQ(placement(*forbidden, *w), Placement::forbidden);
  auto moved = transfer_table(*forbidden, *w);
  ASSERT_TRUE(moved);
  EXPECT_EQ(placement(*moved, *w), Placement::after);
  EXPECT_EQ(moved->find(0)->owner, "sh");
  EXPECT_EQ(moved->find(1)->state, ShardState::active);
  auto restored = restore_table(*forbidden, *w);
  ASSERT_TRUE(restored);
  EXPECT_EQ(placement(*restored, *w), Placement::before);
  // Someone moved shard 1 to gz behind the workflow.
  auto odd = move_shards(*forbidden, {1}, "gz");
  ASSERT_TRUE(odd);
  std::string why;
  EXPECT_EQ(placement(*odd, *w, &why), Placement::elsewhere);
  EXPECT_NE(why.find("owned by gz"), std::string::npos) << why;
}

}  // namespace
}  // namespace ezone::coord
