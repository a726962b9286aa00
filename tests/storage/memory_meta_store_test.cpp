// MemoryMetaStore beyond the shared conformance tests: simulated time,
// bounded history, outages, and the delivery rules of its callbacks.
#include "storage/meta/memory_meta_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/support/watch_recorder.hpp"

namespace ezone::meta {
namespace {

using test::WatchRecorder;

class MemoryMetaStoreTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  MemoryMetaStore store_{clock_};
};

TEST_F(MemoryMetaStoreTest, RevisionStartsAtOneAsInEtcd) {
  EXPECT_EQ(store_.revision(), 1);
  EXPECT_EQ(*store_.put("a", "1"), 2);
}

TEST_F(MemoryMetaStoreTest, TickExpiresLeasesExactlyAtTheirDeadline) {
  WatchRecorder recorder;
  auto watch = store_.watch("lease/", true, 0, recorder.callbacks());
  ASSERT_TRUE(watch.ok());
  auto lease = store_.lease_grant(5);
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(lease->ttl_s, 5);
  ASSERT_TRUE(store_.put("lease/k", "v", lease->id).ok());
  clock_.advance_ms(4999);
  store_.tick();
  EXPECT_EQ(recorder.events().size(), 1u);
  clock_.advance_ms(1);
  store_.tick();  // no other call: the tick alone expires and notifies
  ASSERT_EQ(recorder.events().size(), 2u);
  EXPECT_EQ(recorder.events()[1].type, WatchEvent::Type::del);
  EXPECT_EQ(store_.lease_keepalive(lease->id).status().code(), Errc::not_found);
}

TEST_F(MemoryMetaStoreTest, KeepaliveRestartsTheTtl) {
  auto lease = store_.lease_grant(2);
  ASSERT_TRUE(store_.put("k", "v", lease->id).ok());
  clock_.advance_ms(1500);
  ASSERT_TRUE(store_.lease_keepalive(lease->id).ok());
  clock_.advance_ms(1500);
  store_.tick();
  EXPECT_EQ(store_.range("k")->kvs.size(), 1u);
  clock_.advance_ms(500);
  store_.tick();
  EXPECT_TRUE(store_.range("k")->kvs.empty());
}

TEST_F(MemoryMetaStoreTest, TinyTtlIsRaisedToTheMinimum) {
  MemoryMetaStore store(clock_, MemoryMetaStoreOptions{3, 100});
  EXPECT_EQ(store.lease_grant(1)->ttl_s, 3);
  EXPECT_EQ(store.lease_grant(-4)->ttl_s, 3);
  EXPECT_EQ(store.lease_grant(9'000'000'001).status().code(), Errc::invalid_argument);
}

TEST_F(MemoryMetaStoreTest, ExpiringALeaseWithoutKeysKeepsTheRevision) {
  ASSERT_TRUE(store_.lease_grant(1).ok());
  int64_t before = store_.revision();
  clock_.advance_ms(1000);
  store_.tick();
  EXPECT_EQ(store_.revision(), before);
}

TEST_F(MemoryMetaStoreTest, LeasesExpireInDeadlineOrderEachInItsOwnRevision) {
  auto late = store_.lease_grant(3);
  auto early = store_.lease_grant(2);
  ASSERT_TRUE(store_.put("late", "x", late->id).ok());
  ASSERT_TRUE(store_.put("early", "x", early->id).ok());
  WatchRecorder recorder;
  auto watch = store_.watch("", true, 0, recorder.callbacks());
  ASSERT_TRUE(watch.ok());
  clock_.advance_ms(10000);
  store_.tick();
  auto events = recorder.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kv.key, "early");
  EXPECT_EQ(events[1].kv.key, "late");
  EXPECT_EQ(events[1].kv.mod_revision, events[0].kv.mod_revision + 1);
}

TEST_F(MemoryMetaStoreTest, LeasesSurviveAnOutageAndAreRenewedAfterIt) {
  auto lease = store_.lease_grant(2);
  ASSERT_TRUE(store_.put("k", "v", lease->id).ok());
  store_.set_available(false);
  clock_.advance_ms(10000);
  store_.tick();
  store_.set_available(true);
  EXPECT_EQ(store_.range("k")->kvs.size(), 1u);  // renewed, as etcd's new leader does
  clock_.advance_ms(2000);
  store_.tick();
  EXPECT_TRUE(store_.range("k")->kvs.empty());
}

TEST_F(MemoryMetaStoreTest, HistoryBeyondItsBoundIsReportedCompacted) {
  MemoryMetaStore store(clock_, MemoryMetaStoreOptions{1, 10});
  auto first = store.put("k", "0");
  for (int i = 1; i < 30; ++i) ASSERT_TRUE(store.put("k", std::to_string(i)).ok());
  WatchRecorder old_start;
  auto compacted = store.watch("k", false, *first, old_start.callbacks());
  ASSERT_TRUE(compacted.ok());
  EXPECT_EQ(old_start.status_count(Errc::not_found), 1u);
  EXPECT_TRUE(old_start.events().empty());
  ASSERT_TRUE(store.put("k", "after").ok());
  EXPECT_TRUE(old_start.events().empty());  // a compacted watch is over

  WatchRecorder recent;
  auto replay = store.watch("k", false, store.revision() - 5, recent.callbacks());
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(recent.events().size(), 6u);
}

TEST_F(MemoryMetaStoreTest, WatchFromTheFutureWaitsForThatRevision) {
  WatchRecorder recorder;
  auto watch = store_.watch("k", false, store_.revision() + 3, recorder.callbacks());
  ASSERT_TRUE(watch.ok());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(store_.put("k", std::to_string(i)).ok());
  auto events = recorder.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kv.value, "2");
}

TEST_F(MemoryMetaStoreTest, AnOutageFailsCallsAndIsReportedToWatches) {
  WatchRecorder recorder;
  auto watch = store_.watch("k", false, 0, recorder.callbacks());
  ASSERT_TRUE(watch.ok());
  store_.set_available(false);
  EXPECT_EQ(store_.health().code(), Errc::unavailable);
  EXPECT_EQ(store_.put("k", "v").status().code(), Errc::unavailable);
  EXPECT_EQ(store_.range("k").status().code(), Errc::unavailable);
  store_.set_available(true);
  ASSERT_TRUE(store_.put("k", "v").ok());
  auto statuses = recorder.statuses();
  ASSERT_EQ(statuses.size(), 2u);
  EXPECT_EQ(statuses[0].code(), Errc::unavailable);
  EXPECT_TRUE(statuses[1].is_ok());
  EXPECT_EQ(recorder.events().size(), 1u);
}

TEST_F(MemoryMetaStoreTest, CallbacksMayCallBackIntoTheStoreWithoutNesting) {
  std::vector<std::string> seen;
  int depth = 0;
  bool nested = false;
  WatchCallbacks callbacks;
  callbacks.on_events = [&](const std::vector<WatchEvent>& events) {
    nested = nested || depth > 0;
    ++depth;
    for (const auto& event : events) {
      seen.push_back(event.kv.value);
      if (event.kv.value == "1") {
        ASSERT_TRUE(store_.put("k", "2").ok());  // re-entrant write
      }
      ASSERT_TRUE(store_.range("k").ok());
    }
    --depth;
  };
  auto watch = store_.watch("k", false, 0, callbacks);
  ASSERT_TRUE(watch.ok());
  ASSERT_TRUE(store_.put("k", "1").ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"1", "2"}));
  EXPECT_FALSE(nested);
}

TEST_F(MemoryMetaStoreTest, AWatchMayDestroyItselfFromItsCallback) {
  std::unique_ptr<Watch> watch;
  int calls = 0;
  WatchCallbacks callbacks;
  callbacks.on_events = [&](const std::vector<WatchEvent>&) {
    ++calls;
    watch.reset();
  };
  watch = std::move(store_.watch("k", false, 0, callbacks)).value();
  ASSERT_TRUE(store_.put("k", "1").ok());
  ASSERT_TRUE(store_.put("k", "2").ok());
  EXPECT_EQ(calls, 1);
}

TEST_F(MemoryMetaStoreTest, ConcurrentWritersDeliverInRevisionOrderOneCallbackAtATime) {
  WatchRecorder recorder;
  auto watch = store_.watch("c/", true, 0, recorder.callbacks());
  ASSERT_TRUE(watch.ok());
  constexpr int kThreads = 4;
  constexpr int kPuts = 500;
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < kPuts; ++i) ASSERT_TRUE(store_.put("c/" + std::to_string(t), "x").ok());
    });
  for (auto& writer : writers) writer.join();
  auto events = recorder.events();
  ASSERT_EQ(events.size(), static_cast<size_t>(kThreads * kPuts));
  for (size_t i = 1; i < events.size(); ++i)
    ASSERT_EQ(events[i].kv.mod_revision, events[i - 1].kv.mod_revision + 1) << i;
  EXPECT_FALSE(recorder.saw_overlap());
}

TEST_F(MemoryMetaStoreTest, DestroyingAWatchWaitsForItsRunningCallback) {
  std::atomic<bool> in_callback{false};
  std::atomic<bool> release{false};
  std::atomic<bool> finished{false};
  WatchCallbacks callbacks;
  callbacks.on_events = [&](const std::vector<WatchEvent>&) {
    in_callback = true;
    while (!release.load()) std::this_thread::yield();
    finished = true;
  };
  auto watch = std::move(store_.watch("k", false, 0, callbacks)).value();
  std::thread writer([&] { ASSERT_TRUE(store_.put("k", "v").ok()); });
  while (!in_callback.load()) std::this_thread::yield();
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    release = true;
  });
  watch.reset();
  EXPECT_TRUE(finished.load());
  writer.join();
  releaser.join();
}

}  // namespace
}  // namespace ezone::meta
