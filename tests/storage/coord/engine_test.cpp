// The coordinator's engine against the in-memory store and scripted sites:
// every step of a switchover and a failover, cancels at each step, resume
// after a crash, idempotent submits, dry runs and the timeouts.
#include "storage/coord/engine.hpp"

#include <gtest/gtest.h>

#include "storage/meta/memory_meta_store.hpp"

namespace ezone::coord {
namespace {

// Sites as the coordinator sees them: scripted answers.
struct FakeSites final : SiteProbe {
  std::map<std::string, Epoch> acked;
  std::map<std::string, uint64_t> head;
  std::map<std::pair<std::string, std::string>, uint64_t> applied_map;  // (ezone, origin)
  std::set<std::string> unreachable;
  int probes = 0;

  Result<Epoch> acknowledged_epoch(const std::string& z) override {
    ++probes;
    if (unreachable.count(z)) return Status(Errc::unavailable, z + " does not answer");
    return acked[z];
  }
  Result<uint64_t> outbox_head(const std::string& z) override {
    if (unreachable.count(z)) return Status(Errc::unavailable, z + " does not answer");
    return head[z];
  }
  Result<uint64_t> applied(const std::string& z, const std::string& origin) override {
    if (unreachable.count(z)) return Status(Errc::unavailable, z + " does not answer");
    return applied_map[{z, origin}];
  }
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<ShardRoute> shards{{0, "north", "bj", ShardState::active},
                                   {1, "east", "bj", ShardState::active},
                                   {2, "south", "sh", ShardState::active}};
    std::map<std::string, HostPort> sites{{"bj", HostPort{"127.0.0.1", 7100}}, {"sh", HostPort{"127.0.0.1", 7200}}};
    auto t = RouteTable::create(1, shards, sites);
    ASSERT_TRUE(t);
    ASSERT_TRUE(routes.bootstrap(*t));
    register_node("bj");
    register_node("sh");
  }

  void register_node(const std::string& z) {
    auto lease = store.lease_grant(10);
    ASSERT_TRUE(lease);
    leases[z] = lease->id;
    ASSERT_TRUE(store.put(std::string(kNodeKeyPrefix) + z, "{\"admin\":\"127.0.0.1:1\"}", lease->id));
  }
  void kill_node(const std::string& z) { ASSERT_TRUE(store.lease_revoke(leases[z])); }

  RouteTable table() { return *routes.load(); }
  // Steps until the workflow stops progressing; returns the last result.
  StepResult settle(WorkflowEngine& e, const std::string& id) {
    StepResult last;
    for (int i = 0; i < 50; ++i) {
      auto r = e.step(id);
      EXPECT_TRUE(r) << r.status().message();
      if (!r) break;
      last = *r;
      if (!r->progressed) break;
    }
    return last;
  }
  // Every live node acknowledges whatever epoch the table is at.
  void ack_all() {
    for (const char* z : {"bj", "sh"}) sites.acked[z] = table().epoch();
  }

  ManualClock clock{1'000'000};
  meta::MemoryMetaStore store{clock};
  RouteStore routes{store};
  FakeSites sites;
  std::map<std::string, int64_t> leases;
};

TEST_F(EngineTest, SwitchoverWaitsForAcksThenTheWatermarkThenMoves) {
  WorkflowEngine e(store, sites, clock);
  auto sub = e.submit_switchover({0, 1}, "sh", "so-1", false);
  ASSERT_TRUE(sub) << sub.status().message();
  EXPECT_EQ(table().epoch(), 1);  // submitting changes nothing yet

  StepResult r = settle(e, "so-1");
  EXPECT_EQ(r.state.workflow.step, Step::await_acks);
  EXPECT_EQ(table().epoch(), 2);
  EXPECT_EQ(table().find(0)->state, ShardState::write_forbidden);
  EXPECT_EQ(table().find(0)->owner, "bj");
  EXPECT_NE(r.waiting_on.find("acknowledgement of epoch 2"), std::string::npos) << r.waiting_on;

  sites.acked["bj"] = 2;  // sh has not acknowledged yet
  sites.head["bj"] = 40;
  r = settle(e, "so-1");
  EXPECT_EQ(r.state.workflow.step, Step::await_acks);
  EXPECT_NE(r.waiting_on.find("sh at epoch 0"), std::string::npos) << r.waiting_on;

  sites.acked["sh"] = 2;
  sites.applied_map[{"sh", "bj"}] = 39;
  r = settle(e, "so-1");
  EXPECT_EQ(r.state.workflow.step, Step::await_apply);
  EXPECT_EQ(r.state.workflow.high_water.at("bj"), 40u);
  EXPECT_NE(r.waiting_on.find("sh applied bj 39/40"), std::string::npos) << r.waiting_on;
  EXPECT_EQ(table().find(1)->owner, "bj");  // nothing moves before the watermark

  clock.advance_ms(120);
  sites.applied_map[{"sh", "bj"}] = 40;
  r = settle(e, "so-1");
  const Workflow& w = r.state.workflow;
  EXPECT_EQ(w.outcome, Outcome::done) << w.detail;
  EXPECT_EQ(w.final_epoch, 3);
  EXPECT_EQ(w.window_ms(), 120);
  EXPECT_EQ(table().find(0)->owner, "sh");
  EXPECT_EQ(table().find(1)->state, ShardState::active);
  EXPECT_EQ(table().find(2)->owner, "sh");
}

TEST_F(EngineTest, SubmitIsIdempotentAndDryRunWritesNothing) {
  WorkflowEngine e(store, sites, clock);
  auto dry = e.submit_switchover({0}, "sh", "so-1", true);
  ASSERT_TRUE(dry);
  EXPECT_EQ(dry->workflow.from.at(0), "bj");
  EXPECT_EQ(e.journal().load("so-1").status().code(), Errc::not_found);

  auto first = e.submit_switchover({0}, "sh", "so-1", false);
  auto again = e.submit_switchover({1}, "sh", "so-1", false);  // same id: the first one
  ASSERT_TRUE(first && again);
  EXPECT_EQ(again->workflow.shards, std::vector<ShardId>{0});
  ack_all();
  settle(e, "so-1");
  ack_all();
  settle(e, "so-1");
  EXPECT_EQ(e.journal().load("so-1")->workflow.outcome, Outcome::done);
  // Running the same switchover again under a new id is a no-op.
  Epoch before = table().epoch();
  auto repeat = e.submit_switchover({0}, "sh", "so-2", false);
  ASSERT_TRUE(repeat);
  EXPECT_EQ(repeat->workflow.outcome, Outcome::done);
  EXPECT_EQ(table().epoch(), before);
}

TEST_F(EngineTest, CancelAtEveryStepReturnsTheShardsToTheirOwner) {
  for (Step cancel_at : {Step::forbid, Step::await_acks, Step::await_apply}) {
    std::string id = std::string("so-") + step_name(cancel_at);
    std::replace(id.begin(), id.end(), '_', '-');
    WorkflowEngine e(store, sites, clock);
    ASSERT_TRUE(e.submit_switchover({0, 1}, "sh", id, false));
    sites.head["bj"] = 10;
    if (cancel_at != Step::forbid) settle(e, id);  // at await_acks
    if (cancel_at == Step::await_apply) {
      ack_all();
      settle(e, id);
      ASSERT_EQ(e.journal().load(id)->workflow.step, Step::await_apply);
    }
    ASSERT_TRUE(e.cancel(id));
    ASSERT_TRUE(e.cancel(id));  // idempotent
    StepResult r = settle(e, id);
    EXPECT_EQ(r.state.workflow.outcome, Outcome::cancelled) << step_name(cancel_at);
    EXPECT_EQ(r.state.workflow.detail.rfind("cancelled on request", 0), 0u) << r.state.workflow.detail;
    EXPECT_EQ(table().find(0)->owner, "bj");
    EXPECT_EQ(table().find(0)->state, ShardState::active);
    EXPECT_EQ(table().find(1)->state, ShardState::active);
    EXPECT_EQ(e.cancel(id).status().code(), Errc::conflict);  // finished
  }
}

TEST_F(EngineTest, ResumesAfterTheCoordinatorCrashesBetweenCommitAndJournal) {
  WorkflowEngine e(store, sites, clock);
  auto sub = e.submit_switchover({0}, "sh", "so-1", false);
  ASSERT_TRUE(sub);
  // The crashed coordinator committed the write-forbidden epoch but never
  // journaled it: the table says forbidden, the journal says forbid.
  auto forbidden = forbid_table(table(), sub->workflow);
  ASSERT_TRUE(routes.commit(1, *forbidden));
  WorkflowEngine resumed(store, sites, clock);
  StepResult r = settle(resumed, "so-1");
  EXPECT_EQ(r.state.workflow.step, Step::await_acks);
  EXPECT_EQ(table().epoch(), 2);  // not forbidden twice
  EXPECT_EQ(r.state.workflow.forbid_epoch, 2);
  ack_all();
  // Again: the transfer landed, the journal did not hear of it.
  auto moved = transfer_table(table(), r.state.workflow);
  ASSERT_TRUE(routes.commit(2, *moved));
  r = settle(resumed, "so-1");
  EXPECT_EQ(r.state.workflow.outcome, Outcome::done);
  EXPECT_EQ(table().epoch(), 3);
}

TEST_F(EngineTest, AckTimeoutCancelsAndNamesTheSilentNode) {
  WorkflowEngine e(store, sites, clock, EngineOptions{500, 30000, 1000, 60000});
  ASSERT_TRUE(e.submit_switchover({0}, "sh", "so-1", false));
  sites.unreachable.insert("sh");
  sites.acked["bj"] = 99;
  settle(e, "so-1");
  clock.advance_ms(501);
  StepResult r = settle(e, "so-1");
  EXPECT_EQ(r.state.workflow.outcome, Outcome::cancelled);
  EXPECT_NE(r.state.workflow.detail.find("sh (sh does not answer)"), std::string::npos) << r.state.workflow.detail;
  EXPECT_EQ(table().find(0)->state, ShardState::active);
  EXPECT_EQ(table().find(0)->owner, "bj");
}

TEST_F(EngineTest, ApplyTimeoutAndADeadTargetCancel) {
  WorkflowEngine e(store, sites, clock, EngineOptions{500, 800, 1000, 60000});
  ASSERT_TRUE(e.submit_switchover({0}, "sh", "so-1", false));
  sites.head["bj"] = 5;
  settle(e, "so-1");
  ack_all();
  settle(e, "so-1");
  clock.advance_ms(801);
  StepResult r = settle(e, "so-1");
  EXPECT_EQ(r.state.workflow.outcome, Outcome::cancelled);
  EXPECT_NE(r.state.workflow.detail.find("sh applied bj 0/5"), std::string::npos) << r.state.workflow.detail;

  ASSERT_TRUE(e.submit_switchover({0}, "sh", "so-2", false));
  settle(e, "so-2");
  kill_node("sh");
  r = settle(e, "so-2");
  EXPECT_EQ(r.state.workflow.outcome, Outcome::cancelled);
  EXPECT_NE(r.state.workflow.detail.find("target sh"), std::string::npos) << r.state.workflow.detail;
  EXPECT_EQ(table().find(0)->state, ShardState::active);
}

TEST_F(EngineTest, AnOldOwnerThatDiesMidSwitchoverIsFailedOverAfterTheSkewMargin) {
  WorkflowEngine e(store, sites, clock, EngineOptions{500, 800, 1000, 60000});
  ASSERT_TRUE(e.submit_switchover({0}, "sh", "so-1", false));
  settle(e, "so-1");
  kill_node("bj");
  sites.acked["sh"] = table().epoch();
  StepResult r = settle(e, "so-1");
  EXPECT_EQ(r.state.workflow.dead_ezone, "bj");
  EXPECT_EQ(r.state.workflow.step, Step::transfer);
  EXPECT_TRUE(r.state.workflow.high_water.empty());  // nothing to wait for from a dead site
  EXPECT_NE(r.waiting_on.find("skew margin"), std::string::npos) << r.waiting_on;
  EXPECT_EQ(table().find(0)->owner, "bj");
  clock.advance_ms(1000);
  r = settle(e, "so-1");
  EXPECT_EQ(r.state.workflow.outcome, Outcome::done);
  EXPECT_NE(r.state.workflow.detail.find("conflict policy"), std::string::npos);
  EXPECT_EQ(table().find(0)->owner, "sh");
}

TEST_F(EngineTest, FailoverWaitsForTheLeaseThenSpreadsTheShards) {
  WorkflowEngine e(store, sites, clock, EngineOptions{500, 800, 1000, 2000});
  auto sub = e.submit_failover("bj", false, "fo-1", false);
  ASSERT_TRUE(sub) << sub.status().message();
  StepResult r = settle(e, "fo-1");
  EXPECT_NE(r.waiting_on.find("bj still holds its lease"), std::string::npos);
  kill_node("bj");
  r = settle(e, "fo-1");
  EXPECT_EQ(r.state.workflow.step, Step::await_lease_expiry);
  clock.advance_ms(999);
  r = settle(e, "fo-1");
  EXPECT_EQ(table().find(0)->owner, "bj");
  clock.advance_ms(1);
  r = settle(e, "fo-1");
  EXPECT_EQ(r.state.workflow.outcome, Outcome::done) << r.state.workflow.detail;
  EXPECT_EQ(table().find(0)->owner, "sh");
  EXPECT_EQ(table().find(1)->owner, "sh");
}

TEST_F(EngineTest, FailoverOfALiveZoneGivesUpAndAReturningZoneCancelsIt) {
  WorkflowEngine e(store, sites, clock, EngineOptions{500, 800, 1000, 2000});
  ASSERT_TRUE(e.submit_failover("bj", false, "fo-1", false));
  settle(e, "fo-1");
  clock.advance_ms(2001);
  StepResult r = settle(e, "fo-1");
  EXPECT_EQ(r.state.workflow.outcome, Outcome::cancelled);
  EXPECT_NE(r.state.workflow.detail.find("use a switchover"), std::string::npos);

  ASSERT_TRUE(e.submit_failover("bj", false, "fo-2", false));
  kill_node("bj");
  settle(e, "fo-2");
  register_node("bj");
  r = settle(e, "fo-2");
  EXPECT_EQ(r.state.workflow.outcome, Outcome::cancelled);
  EXPECT_EQ(table().find(0)->owner, "bj");
}

TEST_F(EngineTest, ForcedFailoverMovesAtOnce) {
  WorkflowEngine e(store, sites, clock);
  ASSERT_TRUE(e.submit_failover("bj", true, "fo-1", false));
  StepResult r = settle(e, "fo-1");
  EXPECT_EQ(r.state.workflow.outcome, Outcome::done);
  EXPECT_EQ(table().find(1)->owner, "sh");
}

TEST_F(EngineTest, AChangeBehindTheWorkflowFailsItLoudly) {
  WorkflowEngine e(store, sites, clock);
  ASSERT_TRUE(e.submit_switchover({0}, "sh", "so-1", false));
  settle(e, "so-1");
  // An operator's raw move of the forbidden shard elsewhere.
  auto odd = set_shard_state(table(), {0}, ShardState::active);
  ASSERT_TRUE(routes.commit(table().epoch(), *odd));
  StepResult r = settle(e, "so-1");
  EXPECT_EQ(r.state.workflow.outcome, Outcome::failed);
  EXPECT_NE(r.state.workflow.detail.find("writable again"), std::string::npos) << r.state.workflow.detail;
}

TEST_F(EngineTest, RunnerClaimIsExclusiveAndGoesWithTheLease) {
  WorkflowEngine e(store, sites, clock);
  ASSERT_TRUE(e.submit_switchover({0}, "sh", "so-1", false));
  EXPECT_TRUE(*e.journal().claim("so-1", "bj", leases["bj"]));
  EXPECT_TRUE(*e.journal().claim("so-1", "bj", leases["bj"]));
  EXPECT_FALSE(*e.journal().claim("so-1", "sh", leases["sh"]));
  kill_node("bj");
  EXPECT_TRUE(*e.journal().claim("so-1", "sh", leases["sh"]));
  EXPECT_EQ(*e.journal().runner("so-1"), "sh");
}

}  // namespace
}  // namespace ezone::coord
