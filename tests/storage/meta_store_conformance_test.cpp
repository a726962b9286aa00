// One body of tests, run against both MetaStore implementations, so that the
// in-memory store the simulator uses really behaves like etcd.
//
// Time is the only thing the two see differently: the memory store runs on
// a ManualClock that pass_ms() advances; etcd runs on real time, so
// pass_ms() sleeps. Every wait is bounded.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/clock.hpp"
#include "storage/etcd/etcd_meta_store.hpp"
#include "storage/meta/memory_meta_store.hpp"
#include "tests/support/etcd_process.hpp"
#include "tests/support/watch_recorder.hpp"

namespace ezone::meta {
namespace {

using test::WatchRecorder;

// Generous bounds: a test never fails because the machine is slow.
constexpr int64_t kWaitMs = 15000;

class Harness {
 public:
  virtual ~Harness() = default;
  virtual MetaStore& store() = 0;
  // Lets ms of the store's time pass.
  virtual void pass_ms(int64_t ms) = 0;
  virtual Status compact(int64_t revision) = 0;
};

class MemoryHarness final : public Harness {
 public:
  MetaStore& store() override { return store_; }
  void pass_ms(int64_t ms) override {
    clock_.advance_ms(ms);
    store_.tick();
  }
  Status compact(int64_t revision) override {
    store_.compact(revision);
    return Status::ok();
  }

 private:
  ManualClock clock_;
  MemoryMetaStore store_{clock_};
};

class EtcdHarness final : public Harness {
 public:
  explicit EtcdHarness(std::unique_ptr<test::EtcdProcess> etcd) : etcd_(std::move(etcd)) {
    EtcdMetaStoreConfig config;
    config.endpoints = {etcd_->endpoint()};
    auto store = EtcdMetaStore::create(config);
    EXPECT_TRUE(store.ok()) << store.status().to_string();
    store_ = std::move(store).value();
  }
  MetaStore& store() override { return *store_; }
  void pass_ms(int64_t ms) override { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }
  Status compact(int64_t revision) override { return store_->compact(revision); }

 private:
  std::unique_ptr<test::EtcdProcess> etcd_;
  std::unique_ptr<EtcdMetaStore> store_;
};

class MetaStoreConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      harness_ = std::make_unique<MemoryHarness>();
      return;
    }
    auto etcd = test::EtcdProcess::start();
    ASSERT_TRUE(etcd.ok()) << etcd.status().to_string();
    harness_ = std::make_unique<EtcdHarness>(std::move(etcd).value());
  }

  MetaStore& store() { return harness_->store(); }

  int64_t revision() {
    auto result = store().range("zzz-revision-probe");
    EXPECT_TRUE(result.ok()) << result.status().to_string();
    return result.ok() ? result->revision : -1;
  }

  bool key_exists(const std::string& key) {
    auto result = store().range(key);
    EXPECT_TRUE(result.ok()) << result.status().to_string();
    return result.ok() && !result->kvs.empty();
  }

  // Lets time pass in steps until pred holds; false after limit_ms.
  template <class Pred>
  bool eventually(Pred pred, int64_t limit_ms = kWaitMs) {
    for (int64_t waited = 0; waited <= limit_ms; waited += 100) {
      if (pred()) return true;
      harness_->pass_ms(100);
    }
    return pred();
  }

  std::unique_ptr<Harness> harness_;
};

TEST_P(MetaStoreConformance, PutBumpsRevisionAndTracksVersions) {
  auto first = store().put("a", "1");
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  auto second = store().put("a", "2");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, *first + 1);
  auto read = store().range("a");
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->kvs.size(), 1u);
  const KeyValue& kv = read->kvs[0];
  EXPECT_EQ(kv.value, "2");
  EXPECT_EQ(kv.create_revision, *first);
  EXPECT_EQ(kv.mod_revision, *second);
  EXPECT_EQ(kv.version, 2);
  EXPECT_EQ(kv.lease, 0);
  EXPECT_EQ(read->revision, *second);
}

TEST_P(MetaStoreConformance, MissingKeyReadsEmpty) {
  auto read = store().range("nothing-here");
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read->kvs.empty());
  EXPECT_GE(read->revision, 1);
}

TEST_P(MetaStoreConformance, EmptyKeyIsInvalid) {
  EXPECT_EQ(store().put("", "x").status().code(), Errc::invalid_argument);
  EXPECT_EQ(store().range("").status().code(), Errc::invalid_argument);
  EXPECT_EQ(store().del("").status().code(), Errc::invalid_argument);
}

TEST_P(MetaStoreConformance, PrefixRangeIsSortedAndPrefixDeleteIsOneRevision) {
  for (const char* key : {"p/b", "p/a", "p/c", "q/a", "p"}) ASSERT_TRUE(store().put(key, key).ok());
  auto read = store().range("p/", true);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->kvs.size(), 3u);
  EXPECT_EQ(read->kvs[0].key, "p/a");
  EXPECT_EQ(read->kvs[1].key, "p/b");
  EXPECT_EQ(read->kvs[2].key, "p/c");
  int64_t before = revision();
  auto deleted = store().del("p/", true);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 3);
  EXPECT_EQ(revision(), before + 1);
  EXPECT_TRUE(store().range("p/", true)->kvs.empty());
  EXPECT_TRUE(key_exists("q/a"));
  EXPECT_TRUE(key_exists("p"));
  auto everything = store().range("", true);
  ASSERT_TRUE(everything.ok());
  EXPECT_EQ(everything->kvs.size(), 2u);
}

TEST_P(MetaStoreConformance, DeletingNothingKeepsTheRevision) {
  ASSERT_TRUE(store().put("x", "1").ok());
  int64_t before = revision();
  auto deleted = store().del("absent");
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 0);
  EXPECT_EQ(revision(), before);
}

TEST_P(MetaStoreConformance, CasCreatesOnlyOnceAndLosersSeeTheWinner) {
  auto created = store().cas("epoch", 0, "1");
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  EXPECT_TRUE(created->succeeded);
  ASSERT_EQ(created->current.size(), 1u);
  int64_t mod = created->current[0].mod_revision;
  EXPECT_EQ(mod, created->revision);

  auto again = store().cas("epoch", 0, "other");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->succeeded);
  ASSERT_EQ(again->current.size(), 1u);
  EXPECT_EQ(again->current[0].value, "1");
  EXPECT_EQ(again->revision, created->revision);  // a failed CAS writes nothing

  auto next = store().cas("epoch", mod, "2");
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(next->succeeded);
  auto stale = store().cas("epoch", mod, "3");
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(stale->succeeded);
  ASSERT_EQ(stale->current.size(), 1u);
  EXPECT_EQ(stale->current[0].value, "2");
  EXPECT_EQ(stale->current[0].version, 2);
}

TEST_P(MetaStoreConformance, TxnComparesVersionAndValue) {
  TxnRequest absent_value;
  absent_value.compares.push_back({"k", Compare::Target::value, 0, ""});
  absent_value.failure.push_back({Op::Kind::put, "k", "from-failure", 0});
  auto first = store().txn(absent_value);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_FALSE(first->succeeded);  // a value compare on an absent key fails
  ASSERT_EQ(first->current.size(), 1u);
  EXPECT_EQ(first->current[0].value, "from-failure");

  TxnRequest by_version;
  by_version.compares.push_back({"k", Compare::Target::version, 1, {}});
  by_version.compares.push_back({"k", Compare::Target::value, 0, "from-failure"});
  by_version.success.push_back({Op::Kind::del, "k", "", 0});
  by_version.success.push_back({Op::Kind::put, "k2", "v", 0});
  auto second = store().txn(by_version);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->succeeded);
  EXPECT_TRUE(second->current.empty());  // k is gone afterwards
  EXPECT_FALSE(key_exists("k"));
  auto k2 = store().range("k2");
  ASSERT_EQ(k2->kvs.size(), 1u);
  EXPECT_EQ(k2->kvs[0].mod_revision, second->revision);
}

TEST_P(MetaStoreConformance, TxnWritingOneKeyTwiceIsRejected) {
  TxnRequest request;
  request.success.push_back({Op::Kind::put, "dup", "1", 0});
  request.success.push_back({Op::Kind::put, "dup", "2", 0});
  EXPECT_EQ(store().txn(request).status().code(), Errc::invalid_argument);
  TxnRequest put_and_delete;
  put_and_delete.failure.push_back({Op::Kind::del, "dup", "", 0});
  put_and_delete.failure.push_back({Op::Kind::put, "dup", "2", 0});
  EXPECT_EQ(store().txn(put_and_delete).status().code(), Errc::invalid_argument);
  EXPECT_FALSE(key_exists("dup"));
  TxnRequest delete_twice;  // etcd allows this one
  delete_twice.success.push_back({Op::Kind::del, "dup", "", 0});
  delete_twice.success.push_back({Op::Kind::del, "dup", "", 0});
  EXPECT_TRUE(store().txn(delete_twice).ok());
}

TEST_P(MetaStoreConformance, PutWithUnknownLeaseIsNotFound) {
  EXPECT_EQ(store().put("k", "v", 123456789).status().code(), Errc::not_found);
  EXPECT_FALSE(key_exists("k"));
  EXPECT_EQ(store().lease_keepalive(123456789).status().code(), Errc::not_found);
  EXPECT_TRUE(store().lease_revoke(123456789).is_ok());
}

TEST_P(MetaStoreConformance, LeaseTtlIsRaisedToTheMinimumAndCapped) {
  for (int64_t ttl : {0, -5}) {
    auto lease = store().lease_grant(ttl);
    ASSERT_TRUE(lease.ok()) << ttl << ": " << lease.status().to_string();
    EXPECT_GE(lease->ttl_s, 1);
    EXPECT_NE(lease->id, 0);
  }
  EXPECT_EQ(store().lease_grant(kLeaseTtlMaxS + 1).status().code(), Errc::invalid_argument);
}

TEST_P(MetaStoreConformance, KeepaliveKeepsLeasedKeysAlive) {
  auto lease = store().lease_grant(1);
  ASSERT_TRUE(lease.ok()) << lease.status().to_string();
  ASSERT_GE(lease->ttl_s, 1);
  ASSERT_TRUE(store().put("owner/bj", "alive", lease->id).ok());
  int64_t period_ms = lease->ttl_s * 1000 / 4;
  for (int64_t passed = 0; passed < lease->ttl_s * 3000; passed += period_ms) {
    auto ttl = store().lease_keepalive(lease->id);
    ASSERT_TRUE(ttl.ok()) << ttl.status().to_string();
    EXPECT_EQ(*ttl, lease->ttl_s);
    harness_->pass_ms(period_ms);
  }
  auto read = store().range("owner/bj");
  ASSERT_EQ(read->kvs.size(), 1u);
  EXPECT_EQ(read->kvs[0].lease, lease->id);
}

TEST_P(MetaStoreConformance, TimeToLiveReadsALeaseWithoutRenewingIt) {
  auto lease = store().lease_grant(10);
  ASSERT_TRUE(lease.ok()) << lease.status().to_string();
  auto fresh = store().lease_time_to_live(lease->id);
  ASSERT_TRUE(fresh.ok()) << fresh.status().to_string();
  EXPECT_GE(*fresh, 9);  // whole seconds, truncated
  EXPECT_LE(*fresh, 10);
  harness_->pass_ms(1100);
  auto later = store().lease_time_to_live(lease->id);
  ASSERT_TRUE(later.ok()) << later.status().to_string();
  EXPECT_LE(*later, *fresh - 1) << "reading it renewed it";
  EXPECT_GE(*later, *fresh - 2);
  ASSERT_TRUE(store().lease_keepalive(lease->id).ok());
  auto renewed = store().lease_time_to_live(lease->id);
  ASSERT_TRUE(renewed.ok());
  EXPECT_GE(*renewed, 9);
  EXPECT_EQ(store().lease_time_to_live(123456789).status().code(), Errc::not_found);
  ASSERT_TRUE(store().lease_revoke(lease->id).is_ok());
  EXPECT_EQ(store().lease_time_to_live(lease->id).status().code(), Errc::not_found);
}

TEST_P(MetaStoreConformance, LeaseExpiryDeletesKeysWithDeleteEvents) {
  WatchRecorder recorder;
  auto watch = store().watch("owner/", true, 0, recorder.callbacks());
  ASSERT_TRUE(watch.ok()) << watch.status().to_string();
  auto lease = store().lease_grant(1);
  ASSERT_TRUE(lease.ok());
  ASSERT_TRUE(store().put("owner/a", "1", lease->id).ok());
  ASSERT_TRUE(store().put("owner/b", "1", lease->id).ok());
  ASSERT_TRUE(eventually([&] { return store().range("owner/", true)->kvs.empty(); }));
  ASSERT_TRUE(recorder.wait_events(4, kWaitMs));
  auto events = recorder.events();
  EXPECT_EQ(events[2].type, WatchEvent::Type::del);
  EXPECT_EQ(events[3].type, WatchEvent::Type::del);
  EXPECT_EQ(events[2].kv.mod_revision, events[3].kv.mod_revision);  // one revoke, one revision
  EXPECT_EQ(store().lease_keepalive(lease->id).status().code(), Errc::not_found);
  EXPECT_EQ(store().put("owner/c", "1", lease->id).status().code(), Errc::not_found);
}

TEST_P(MetaStoreConformance, RevokeDeletesKeysAtOnce) {
  auto lease = store().lease_grant(60);
  ASSERT_TRUE(lease.ok());
  ASSERT_TRUE(store().put("r/1", "x", lease->id).ok());
  ASSERT_TRUE(store().put("r/2", "x", lease->id).ok());
  ASSERT_TRUE(store().put("r/3", "x").ok());
  ASSERT_TRUE(store().lease_revoke(lease->id).is_ok());
  auto left = store().range("r/", true);
  ASSERT_EQ(left->kvs.size(), 1u);
  EXPECT_EQ(left->kvs[0].key, "r/3");
  EXPECT_EQ(store().lease_keepalive(lease->id).status().code(), Errc::not_found);
  EXPECT_TRUE(store().lease_revoke(lease->id).is_ok());
}

TEST_P(MetaStoreConformance, PutMovesKeyOffItsOldLease) {
  auto lease = store().lease_grant(60);
  ASSERT_TRUE(lease.ok());
  ASSERT_TRUE(store().put("moved", "1", lease->id).ok());
  ASSERT_TRUE(store().put("moved", "2").ok());
  ASSERT_TRUE(store().lease_revoke(lease->id).is_ok());
  EXPECT_TRUE(key_exists("moved"));
}

TEST_P(MetaStoreConformance, WatchDeliversPutsAndDeletesInOrder) {
  WatchRecorder recorder;
  auto watch = store().watch("w", false, 0, recorder.callbacks());
  ASSERT_TRUE(watch.ok()) << watch.status().to_string();
  auto r1 = store().put("w", "1");
  auto r2 = store().put("w", "2");
  ASSERT_TRUE(store().put("other", "x").ok());
  auto gone = store().del("w");
  ASSERT_TRUE(r1.ok() && r2.ok() && gone.ok());
  ASSERT_TRUE(recorder.wait_events(3, kWaitMs));
  auto events = recorder.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, WatchEvent::Type::put);
  EXPECT_EQ(events[0].kv.value, "1");
  EXPECT_EQ(events[0].kv.mod_revision, *r1);
  EXPECT_EQ(events[1].kv.value, "2");
  EXPECT_EQ(events[1].kv.version, 2);
  EXPECT_EQ(events[2].type, WatchEvent::Type::del);
  EXPECT_EQ(events[2].kv.key, "w");
  EXPECT_EQ(events[2].kv.mod_revision, *r2 + 2);
  EXPECT_FALSE(recorder.saw_overlap());
}

TEST_P(MetaStoreConformance, WatchFromPastRevisionReplaysThenContinues) {
  auto first = store().put("h/1", "a");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(store().put("h/2", "b").ok());
  ASSERT_TRUE(store().put("x", "not watched").ok());
  ASSERT_TRUE(store().put("h/1", "c").ok());
  WatchRecorder recorder;
  auto watch = store().watch("h/", true, *first, recorder.callbacks());
  ASSERT_TRUE(watch.ok());
  ASSERT_TRUE(recorder.wait_events(3, kWaitMs));
  ASSERT_TRUE(store().put("h/3", "d").ok());
  ASSERT_TRUE(recorder.wait_events(4, kWaitMs));
  auto events = recorder.events();
  ASSERT_EQ(events.size(), 4u);
  std::vector<std::string> values;
  for (const auto& event : events) values.push_back(event.kv.value);
  EXPECT_EQ(values, (std::vector<std::string>{"a", "b", "c", "d"}));
  for (size_t i = 1; i < events.size(); ++i)
    EXPECT_LT(events[i - 1].kv.mod_revision, events[i].kv.mod_revision);
}

TEST_P(MetaStoreConformance, TxnEventsShareOneRevision) {
  WatchRecorder recorder;
  auto watch = store().watch("t/", true, 0, recorder.callbacks());
  ASSERT_TRUE(watch.ok());
  ASSERT_TRUE(store().put("t/gone", "1").ok());
  TxnRequest request;
  request.success.push_back({Op::Kind::put, "t/a", "1", 0});
  request.success.push_back({Op::Kind::put, "t/b", "1", 0});
  request.success.push_back({Op::Kind::del, "t/gone", "", 0});
  auto result = store().txn(request);
  ASSERT_TRUE(result.ok());
  ASSERT_TRUE(recorder.wait_events(4, kWaitMs));
  auto events = recorder.events();
  for (size_t i = 1; i < 4; ++i) EXPECT_EQ(events[i].kv.mod_revision, result->revision);
}

TEST_P(MetaStoreConformance, DestroyedWatchDeliversNothingMore) {
  WatchRecorder recorder;
  auto watch = store().watch("c", false, 0, recorder.callbacks());
  ASSERT_TRUE(watch.ok());
  ASSERT_TRUE(store().put("c", "1").ok());
  ASSERT_TRUE(recorder.wait_events(1, kWaitMs));
  watch->reset();
  ASSERT_TRUE(store().put("c", "2").ok());
  // Watch a second key written after it, to know the store has moved on.
  WatchRecorder later;
  auto marker = store().watch("c", false, 0, later.callbacks());
  ASSERT_TRUE(marker.ok());
  ASSERT_TRUE(store().put("c", "3").ok());
  ASSERT_TRUE(later.wait_events(1, kWaitMs));
  EXPECT_EQ(recorder.events().size(), 1u);
}

TEST_P(MetaStoreConformance, WatchFromCompactedRevisionReportsNotFound) {
  auto first = store().put("z", "1");
  ASSERT_TRUE(first.ok());
  auto second = store().put("z", "2");
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(harness_->compact(*second).is_ok());
  WatchRecorder recorder;
  auto watch = store().watch("z", false, *first, recorder.callbacks());
  ASSERT_TRUE(watch.ok()) << watch.status().to_string();
  ASSERT_TRUE(recorder.wait_status(Errc::not_found, kWaitMs));
  EXPECT_TRUE(recorder.events().empty());
  // Starting at the compaction revision itself is still fine.
  WatchRecorder fine;
  auto from_second = store().watch("z", false, *second, fine.callbacks());
  ASSERT_TRUE(from_second.ok());
  ASSERT_TRUE(fine.wait_events(1, kWaitMs));
  EXPECT_EQ(fine.events()[0].kv.value, "2");
}

TEST_P(MetaStoreConformance, HealthIsOk) { EXPECT_TRUE(store().health().is_ok()); }

INSTANTIATE_TEST_SUITE_P(Backends, MetaStoreConformance, ::testing::Values("memory", "etcd"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace ezone::meta
