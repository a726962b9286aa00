// RouteStore and RouteWatcher, run against both MetaStore implementations
// (MemoryMetaStore and a real etcd), so the route table's compare-and-swap
// rule is checked where it really runs.
//
// A HookedStore between RouteStore and the backend injects what is hard to
// time for real: a writer that slips in between a commit's read and its
// compare-and-swap, a timeout after (or instead of) a write, a compaction
// between the watcher's read and its watch, and a compaction notice.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/metrics.hpp"
#include "storage/route/route_store.hpp"
#include "storage/route/route_watcher.hpp"
#include "tests/storage/route/route_test_doubles.hpp"

namespace ezone {
namespace {

using test::eventually;
using test::HookedStore;
using test::TableRecorder;
using test::TxnFault;

RouteTable table_at(Epoch epoch, const std::string& owner_of_0 = "bj") {
  auto table = RouteTable::create(epoch,
                                  {{0, "beijing", owner_of_0, ShardState::active},
                                   {1, "shanghai", "sh", ShardState::active},
                                   {2, "jiangsu", "sh", ShardState::active},
                                   {3, "zhejiang", "sh", ShardState::active}},
                                  {{"bj", {"10.0.0.1", 7100}}, {"sh", {"10.0.1.1", 7100}}});
  EXPECT_TRUE(table.ok()) << table.status().to_string();
  return std::move(table).value();
}

// ---- the tests ----

class RouteStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      harness_ = std::make_unique<test::MemoryHarness>();
    } else {
      auto etcd = test::EtcdProcess::start();
      ASSERT_TRUE(etcd.ok()) << etcd.status().to_string();
      harness_ = std::make_unique<test::EtcdHarness>(std::move(etcd).value());
    }
    hooked_ = std::make_unique<HookedStore>(harness_->store());
    routes_ = std::make_unique<RouteStore>(*hooked_, &metrics_);
  }
  void TearDown() override {
    routes_.reset();
    hooked_.reset();
    harness_.reset();
  }

  void bootstrap(Epoch epoch = 1) {
    auto table = routes_->bootstrap(table_at(epoch));
    ASSERT_TRUE(table.ok()) << table.status().to_string();
  }
  std::unique_ptr<RouteWatcher> watch(TableRecorder& recorder, Epoch after_epoch = 0) {
    RouteWatchOptions options;
    options.after_epoch = after_epoch;
    options.retry_min_ms = 20;
    options.retry_max_ms = 200;
    auto watcher = routes_->watch(options, recorder.callbacks());
    EXPECT_TRUE(watcher.ok()) << watcher.status().to_string();
    return watcher.ok() ? std::move(watcher).value() : nullptr;
  }
  // Commits a move of shard 0 on top of the stored table.
  Result<RouteTable> move_zero() {
    auto current = routes_->load();
    if (!current.ok()) return current.status();
    std::string to = current->find(0)->owner == "bj" ? "sh" : "bj";
    auto next = move_shards(*current, {0}, to);
    if (!next.ok()) return next.status();
    return routes_->commit(current->epoch(), *next);
  }

  Metrics metrics_{"test"};
  std::unique_ptr<test::Harness> harness_;
  std::unique_ptr<HookedStore> hooked_;
  std::unique_ptr<RouteStore> routes_;
};

TEST_P(RouteStoreTest, NothingStoredIsNotFound) {
  auto loaded = routes_->load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), Errc::not_found);
  EXPECT_NE(loaded.status().message().find(kRouteTableKey), std::string::npos);
  auto committed = routes_->commit(1, table_at(2));
  EXPECT_EQ(committed.status().code(), Errc::not_found);
}

TEST_P(RouteStoreTest, BootstrapCreatesOnceThenReturnsTheExistingTable) {
  auto first = routes_->bootstrap(table_at(1));
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_EQ(*first, table_at(1));
  auto second = routes_->bootstrap(table_at(5, "sh"));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, table_at(1));  // not replaced
  // The stored document is the documented JSON, readable by etcdctl.
  auto raw = harness_->store().range(kRouteTableKey);
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(raw->kvs.size(), 1u);
  EXPECT_EQ(raw->kvs[0].value, encode_route_table_json(table_at(1)));
}

TEST_P(RouteStoreTest, CommitAdvancesTheEpoch) {
  bootstrap();
  auto next = move_shards(table_at(1), {0}, "sh");
  ASSERT_TRUE(next.ok()) << next.status().to_string();
  auto committed = routes_->commit(1, *next);
  ASSERT_TRUE(committed.ok()) << committed.status().to_string();
  auto loaded = routes_->load_stored();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->table, *next);
  EXPECT_EQ(loaded->table.epoch(), 2);
  EXPECT_GT(loaded->mod_revision, 0);
}

TEST_P(RouteStoreTest, CommitWithAFailedConditionChangesNothing) {
  // The failover's guard: "the dead zone's registration is still absent".
  bootstrap();
  auto next = move_shards(table_at(1), {0}, "sh");
  ASSERT_TRUE(next.ok());
  const std::string reg = "/ezone/v1/nodes/bj";
  std::vector<meta::Compare> absent{meta::Compare{reg, meta::Compare::Target::version, 0, ""}};
  ASSERT_TRUE(harness_->store().put(reg, "{}").ok());  // bj registered again
  auto refused = routes_->commit(1, *next, absent);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Errc::conflict);
  EXPECT_NE(refused.status().message().find("condition"), std::string::npos) << refused.status().message();
  EXPECT_EQ(routes_->load()->epoch(), 1);
  ASSERT_TRUE(harness_->store().del(reg).ok());
  auto committed = routes_->commit(1, *next, absent);
  ASSERT_TRUE(committed.ok()) << committed.status().to_string();
  EXPECT_EQ(routes_->load()->epoch(), 2);
}

TEST_P(RouteStoreTest, StaleChangeFailsWithAClearError) {
  bootstrap();
  ASSERT_TRUE(move_zero().ok());  // epoch 2
  ASSERT_TRUE(move_zero().ok());  // epoch 3
  // An operator computed a change from epoch 1.
  auto stale = set_shard_state(table_at(1), {2}, ShardState::write_forbidden);
  ASSERT_TRUE(stale.ok());
  auto committed = routes_->commit(1, *stale);
  ASSERT_FALSE(committed.ok());
  EXPECT_EQ(committed.status().code(), Errc::conflict);
  EXPECT_EQ(committed.status().message(), "route table epoch moved: expected 1, now 3; re-read and retry");
  EXPECT_EQ(routes_->load()->epoch(), 3);
  EXPECT_EQ(routes_->conflict_count(), 1u);
  EXPECT_NE(metrics_.render().find("ezone_route_commit_conflicts_total{ezone=\"test\"} 1"),
            std::string::npos)
      << metrics_.render();
}

TEST_P(RouteStoreTest, CommitMustCarryTheNextEpoch) {
  bootstrap();
  auto skip = routes_->commit(1, table_at(3));
  ASSERT_FALSE(skip.ok());
  EXPECT_EQ(skip.status().code(), Errc::invalid_argument);
  EXPECT_NE(skip.status().message().find("must carry epoch 2"), std::string::npos);
  EXPECT_EQ(routes_->commit(0, table_at(1)).status().code(), Errc::invalid_argument);
  EXPECT_EQ(routes_->load()->epoch(), 1);
}

TEST_P(RouteStoreTest, WriterBetweenReadAndSwapMakesTheCommitConflict) {
  bootstrap();
  hooked_->inject(TxnFault::lose_race, encode_route_table_json(table_at(2, "sh")));
  auto mine = set_shard_state(table_at(1), {1}, ShardState::write_forbidden);
  ASSERT_TRUE(mine.ok());
  auto committed = routes_->commit(1, *mine);
  ASSERT_FALSE(committed.ok());
  EXPECT_EQ(committed.status().code(), Errc::conflict);
  EXPECT_EQ(committed.status().message(), "route table epoch moved: expected 1, now 2; re-read and retry");
  EXPECT_EQ(*routes_->load(), table_at(2, "sh"));  // the other writer's table stands
}

TEST_P(RouteStoreTest, TimeoutAfterTheWriteLandedIsConfirmedByReRead) {
  bootstrap();
  hooked_->inject(TxnFault::apply_then_timeout);
  auto committed = move_zero();
  ASSERT_TRUE(committed.ok()) << committed.status().to_string();
  EXPECT_EQ(routes_->load()->epoch(), 2);
}

TEST_P(RouteStoreTest, TimeoutWithoutTheWriteSaysSo) {
  bootstrap();
  hooked_->inject(TxnFault::timeout_without_apply);
  auto committed = move_zero();
  ASSERT_FALSE(committed.ok());
  EXPECT_EQ(committed.status().code(), Errc::timeout);
  EXPECT_NE(committed.status().message().find("may or may not have landed"), std::string::npos);
  EXPECT_EQ(routes_->load()->epoch(), 1);
}

TEST_P(RouteStoreTest, MalformedStoredTableIsAParseError) {
  ASSERT_TRUE(harness_->store().put(kRouteTableKey, "{\"format\":1,\"epoch\":\"x\"}").ok());
  auto loaded = routes_->load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), Errc::parse_error);
  EXPECT_NE(loaded.status().message().find(std::string("etcd key ") + kRouteTableKey + " (mod_revision"),
            std::string::npos)
      << loaded.status().message();
  EXPECT_EQ(routes_->bootstrap(table_at(1)).status().code(), Errc::parse_error);
  EXPECT_EQ(routes_->commit(1, table_at(2)).status().code(), Errc::parse_error);
}

TEST_P(RouteStoreTest, RepairReplacesAMalformedOrDeletedTable) {
  bootstrap(6);
  auto refused = routes_->repair(table_at(7));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Errc::conflict);
  EXPECT_NE(refused.status().message().find("is valid (epoch 6)"), std::string::npos);

  TableRecorder recorder;
  auto watcher = watch(recorder);
  ASSERT_TRUE(watcher);
  ASSERT_TRUE(recorder.wait_epoch(6));
  ASSERT_TRUE(harness_->store().put(kRouteTableKey, "{broken").ok());
  ASSERT_TRUE(recorder.wait_status(Errc::parse_error));
  auto repaired = routes_->repair(table_at(7, "sh"));
  ASSERT_TRUE(repaired.ok()) << repaired.status().to_string();
  ASSERT_TRUE(recorder.wait_epoch(7));
  EXPECT_EQ(*recorder.last(), table_at(7, "sh"));

  ASSERT_TRUE(harness_->store().del(kRouteTableKey).ok());
  ASSERT_TRUE(routes_->repair(table_at(8)).ok());
  ASSERT_TRUE(recorder.wait_epoch(8));
  EXPECT_EQ(recorder.epochs(), (std::vector<Epoch>{6, 7, 8}));
  ASSERT_TRUE(move_zero().ok());  // commits work again on the repaired table
  EXPECT_EQ(routes_->load()->epoch(), 9);
}

// Every thread commits a different change on top of the same epoch: the
// compare-and-swap lets exactly one of them through, every round.
TEST_P(RouteStoreTest, ConcurrentCommitsOnOneEpochHaveExactlyOneWinner) {
  bootstrap();
  constexpr int kThreads = 4;
  for (int round = 0; round < 5; ++round) {
    auto base = routes_->load();
    ASSERT_TRUE(base.ok());
    std::vector<RouteTable> changes;
    for (int t = 0; t < kThreads; ++t) {
      auto change = set_shard_state(*base, {static_cast<ShardId>(t)},
                                    base->find(t)->state == ShardState::active
                                        ? ShardState::write_forbidden
                                        : ShardState::active);
      ASSERT_TRUE(change.ok());
      changes.push_back(*change);
    }
    std::atomic<int> ready{0};
    std::vector<Result<RouteTable>> results(kThreads, Status(Errc::internal, "not run"));
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        ready.fetch_add(1);
        while (ready.load() < kThreads) std::this_thread::yield();
        results[t] = routes_->commit(base->epoch(), changes[t]);
      });
    }
    for (auto& thread : threads) thread.join();
    int winners = 0;
    int winner = -1;
    for (int t = 0; t < kThreads; ++t) {
      if (results[t].ok()) {
        ++winners;
        winner = t;
        continue;
      }
      EXPECT_EQ(results[t].status().code(), Errc::conflict) << results[t].status().to_string();
    }
    ASSERT_EQ(winners, 1) << "round " << round;
    EXPECT_EQ(*routes_->load(), changes[winner]);
  }
}

TEST_P(RouteStoreTest, WatchDeliversTheCurrentTableThenEveryCommitInOrder) {
  bootstrap();
  TableRecorder recorder;
  auto watcher = watch(recorder);
  ASSERT_TRUE(watcher);
  ASSERT_TRUE(recorder.wait_epoch(1));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(move_zero().ok());
  ASSERT_TRUE(recorder.wait_epoch(6));
  EXPECT_EQ(recorder.epochs(), (std::vector<Epoch>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(*recorder.last(), *routes_->load());
  EXPECT_EQ(watcher->delivered_epoch(), 6);
  EXPECT_TRUE(eventually([&] { return watcher->arm_count() == 1u; }));
  EXPECT_FALSE(recorder.saw_overlap());
}

TEST_P(RouteStoreTest, WatchSkipsEpochsTheNodeAlreadyHas) {
  bootstrap();
  ASSERT_TRUE(move_zero().ok());  // epoch 2, as if loaded from the LMDB cache
  TableRecorder recorder;
  auto watcher = watch(recorder, 2);
  ASSERT_TRUE(watcher);
  ASSERT_TRUE(move_zero().ok());
  ASSERT_TRUE(recorder.wait_epoch(3));
  EXPECT_EQ(recorder.epochs(), (std::vector<Epoch>{3}));
}

TEST_P(RouteStoreTest, WatchIgnoresMalformedStaleAndDeletedDocuments) {
  bootstrap(4);
  TableRecorder recorder;
  auto watcher = watch(recorder);
  ASSERT_TRUE(watcher);
  ASSERT_TRUE(recorder.wait_epoch(4));
  ASSERT_TRUE(harness_->store().put(kRouteTableKey, "not json").ok());
  ASSERT_TRUE(recorder.wait_status(Errc::parse_error));
  ASSERT_TRUE(harness_->store().put(kRouteTableKey, encode_route_table_json(table_at(2))).ok());
  ASSERT_TRUE(recorder.wait_status(Errc::conflict));
  EXPECT_NE(recorder.status_text(Errc::conflict).find("older than the delivered epoch 4"),
            std::string::npos);
  ASSERT_TRUE(harness_->store().del(kRouteTableKey).ok());
  ASSERT_TRUE(recorder.wait_status(Errc::not_found));
  EXPECT_NE(recorder.status_text(Errc::not_found).find("keeping epoch 4"), std::string::npos);
  EXPECT_EQ(watcher->malformed_count(), 1u);
  EXPECT_EQ(watcher->stale_count(), 1u);
  // A table put back by bootstrap (a new epoch) is delivered again.
  bootstrap(10);
  ASSERT_TRUE(recorder.wait_epoch(10));
  EXPECT_EQ(recorder.epochs(), (std::vector<Epoch>{4, 10}));
  std::string metrics = metrics_.render();
  EXPECT_NE(metrics.find("ezone_route_table_rejected_total{ezone=\"test\",reason=\"malformed\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("reason=\"stale\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("reason=\"deleted\"} 1"), std::string::npos);
}

TEST_P(RouteStoreTest, WatchStartedWhileTheStoreIsDownCatchesUp) {
  bootstrap(3);
  harness_->outage(true);
  TableRecorder recorder;
  auto watcher = watch(recorder);
  ASSERT_TRUE(watcher);
  ASSERT_TRUE(recorder.wait_status(Errc::unavailable));
  EXPECT_TRUE(recorder.epochs().empty());
  harness_->outage(false);
  ASSERT_TRUE(recorder.wait_epoch(3));
  ASSERT_TRUE(move_zero().ok());
  ASSERT_TRUE(recorder.wait_epoch(4));
  EXPECT_EQ(recorder.epochs(), (std::vector<Epoch>{3, 4}));
}

TEST_P(RouteStoreTest, WatchRidesOutAnOutage) {
  bootstrap();
  TableRecorder recorder;
  auto watcher = watch(recorder);
  ASSERT_TRUE(watcher);
  ASSERT_TRUE(recorder.wait_epoch(1));
  harness_->outage(true);
  ASSERT_TRUE(recorder.wait_status(Errc::unavailable));
  harness_->outage(false);
  // The first commits after a restart may race etcd's recovery; retry a
  // bounded number of times.
  Result<RouteTable> committed = Status(Errc::unavailable, "not tried");
  for (int attempt = 0; attempt < 50 && !committed.ok(); ++attempt) {
    committed = move_zero();
    if (!committed.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(committed.ok()) << committed.status().to_string();
  ASSERT_TRUE(recorder.wait_epoch(2));
  EXPECT_EQ(recorder.epochs(), (std::vector<Epoch>{1, 2}));
}

// History is compacted between the watcher's read and its watch, so the
// watch cannot start; the watcher re-reads and delivers the newest table.
TEST_P(RouteStoreTest, CompactionBetweenReadAndWatchIsRecovered) {
  bootstrap();
  hooked_->before_next_watch([this](int64_t) {
    ASSERT_TRUE(move_zero().ok());
    auto last = move_zero();  // two writes, so the compaction passes the start
    ASSERT_TRUE(last.ok());
    auto revision = harness_->store().range(kRouteTableKey);
    ASSERT_TRUE(revision.ok());
    ASSERT_TRUE(harness_->compact(revision->revision).is_ok());
  });
  TableRecorder recorder;
  auto watcher = watch(recorder);
  ASSERT_TRUE(watcher);
  ASSERT_TRUE(recorder.wait_epoch(3));
  ASSERT_TRUE(recorder.wait_status(Errc::not_found));
  EXPECT_EQ(recorder.epochs(), (std::vector<Epoch>{1, 3}));
  EXPECT_TRUE(eventually([&] { return watcher->arm_count() >= 1u; }));
  ASSERT_TRUE(move_zero().ok());
  ASSERT_TRUE(recorder.wait_epoch(4));
}

// A live watch told "compacted" may have missed events: the watcher must
// re-read rather than trust its stream.
TEST_P(RouteStoreTest, CompactionNoticeMakesTheWatcherReRead) {
  bootstrap();
  TableRecorder recorder;
  auto watcher = watch(recorder);
  ASSERT_TRUE(watcher);
  ASSERT_TRUE(recorder.wait_epoch(1));
  hooked_->suppress_events(true);
  ASSERT_TRUE(move_zero().ok());  // epoch 2 is missed by the stream
  ASSERT_TRUE(eventually([&] { return hooked_->suppressed_batches() >= 1; }));
  hooked_->suppress_events(false);
  EXPECT_EQ(recorder.epochs(), (std::vector<Epoch>{1}));
  hooked_->deliver_status(Status(Errc::not_found, "injected: history compacted"));
  ASSERT_TRUE(recorder.wait_epoch(2));
  EXPECT_TRUE(eventually([&] { return watcher->arm_count() == 2u; }));
  ASSERT_TRUE(move_zero().ok());
  ASSERT_TRUE(recorder.wait_epoch(3));
  EXPECT_EQ(recorder.epochs(), (std::vector<Epoch>{1, 2, 3}));
}

// With MemoryMetaStore the callback runs inside the committing call; reading
// the watcher from it must not deadlock.
TEST_P(RouteStoreTest, CallbacksMayReadTheWatcher) {
  bootstrap();
  std::atomic<RouteWatcher*> self{nullptr};
  std::atomic<Epoch> seen{0};
  RouteWatchCallbacks callbacks;
  callbacks.on_table = [&](std::shared_ptr<const RouteTable>) {
    if (RouteWatcher* w = self.load()) seen = w->delivered_epoch();
  };
  auto watcher = routes_->watch({}, callbacks);
  ASSERT_TRUE(watcher.ok());
  self = watcher->get();
  ASSERT_TRUE(eventually([&] { return (*watcher)->delivered_epoch() == 1; }));
  ASSERT_TRUE(move_zero().ok());
  ASSERT_TRUE(eventually([&] { return seen.load() == 2; }));
  self = nullptr;
}

TEST_P(RouteStoreTest, WatchNeedsAnOnTableCallback) {
  auto watcher = routes_->watch({}, {});
  ASSERT_FALSE(watcher.ok());
  EXPECT_EQ(watcher.status().code(), Errc::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(Backends, RouteStoreTest, ::testing::Values("memory", "etcd"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace ezone
