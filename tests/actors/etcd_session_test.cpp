// The node's etcd session (actors/node/etcd_session.hpp): its registration
// is a compare-and-swap, and a registration key that another lease took is
// a lost lease (DESIGN.md invariant 8: a node may count its lease valid
// only while etcd names that lease for its ezone).
#include "actors/node/etcd_session.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "storage/meta/memory_meta_store.hpp"
#include "tests/support/eventually.hpp"

namespace ezone {
namespace {

using std::chrono::seconds;

// A store whose first lease grant is followed, before its answer, by
// `intrude` (what a late request of a previous process would do).
class IntrudingStore final : public meta::MetaStore {
 public:
  explicit IntrudingStore(meta::MetaStore& inner) : inner_(inner) {}
  std::function<void()> intrude;
  std::atomic<int> raced{0};

  Result<meta::RangeResult> range(const std::string& key, bool prefix) override { return inner_.range(key, prefix); }
  Result<int64_t> put(const std::string& key, const std::string& value, int64_t lease) override {
    return inner_.put(key, value, lease);
  }
  Result<int64_t> del(const std::string& key, bool prefix) override { return inner_.del(key, prefix); }
  Result<meta::TxnResult> txn(const meta::TxnRequest& request) override {
    auto r = inner_.txn(request);
    if (r && !r->succeeded) ++raced;
    return r;
  }
  Result<meta::LeaseGrant> lease_grant(int64_t ttl_s) override {
    auto grant = inner_.lease_grant(ttl_s);
    if (intrude) std::exchange(intrude, nullptr)();
    return grant;
  }
  Result<int64_t> lease_keepalive(int64_t lease_id) override { return inner_.lease_keepalive(lease_id); }
  Status lease_revoke(int64_t lease_id) override { return inner_.lease_revoke(lease_id); }
  Result<std::unique_ptr<meta::Watch>> watch(const std::string& key, bool prefix, int64_t start_revision,
                                             meta::WatchCallbacks callbacks) override {
    return inner_.watch(key, prefix, start_revision, std::move(callbacks));
  }
  Status health() override { return inner_.health(); }

 private:
  meta::MetaStore& inner_;
};

class EtcdSessionTest : public ::testing::Test {
 protected:
  EtcdSessionTest() : store_(clock_), intruding_(store_) {
    config_.ezone = "bj";
    config_.timeouts.lease_ttl_s = 1;  // a keepalive every 333 ms
    config_.timeouts.etcd_check_interval_ms = 10;
  }
  int64_t registered_lease() {
    auto r = store_.range(node_registration_key("bj"));
    return r && !r->kvs.empty() ? r->kvs[0].lease : 0;
  }
  // Another process of ezone bj puts the key under its own lease.
  int64_t register_intruder() {
    auto lease = store_.lease_grant(60);
    EXPECT_TRUE(lease.ok());
    EXPECT_TRUE(store_.put(node_registration_key("bj"), "{\"intruder\":true}", lease->id).ok());
    return lease->id;
  }

  ManualClock clock_{1'000'000};
  meta::MemoryMetaStore store_;
  IntrudingStore intruding_;
  NodeConfig config_;
  Metrics metrics_{"bj"};
  std::shared_ptr<spdlog::logger> logger_ =
      std::make_shared<spdlog::logger>("etcd_session_test", std::make_shared<spdlog::sinks::null_sink_mt>());
};

TEST_F(EtcdSessionTest, ARegistrationMadeBetweenTheReadAndTheWriteIsNotOverwritten) {
  int64_t intruder = 0;
  intruding_.intrude = [&] { intruder = register_intruder(); };
  EtcdSession session(intruding_, config_, "{}", logger_, metrics_);
  session.start();
  // The first attempt's CAS fails on the intruder's key; the next one reads
  // it and takes the key over under a lease of its own.
  ASSERT_TRUE(test::eventually([&] { return session.state().registered; }, seconds(5)));
  EXPECT_EQ(intruding_.raced.load(), 1);
  EXPECT_NE(intruder, 0);
  EXPECT_NE(session.state().lease_id, intruder);
  EXPECT_EQ(registered_lease(), session.state().lease_id);
  session.stop();
}

TEST_F(EtcdSessionTest, AProcessDisplacedByANewerOneStaysFencedWhileThatOneLives) {
  EtcdSession session(store_, config_, "{}", logger_, metrics_);
  session.start();
  ASSERT_TRUE(session.state().registered);
  const int64_t first = session.state().lease_id;
  EXPECT_EQ(registered_lease(), first);
  ASSERT_TRUE(session.lease_valid());
  // A second process of ezone bj registers over this one's live lease
  // (two processes started for one ezone): within a keepalive interval
  // this one counts its lease lost, and it does not take the key back.
  const int64_t newer = register_intruder();
  ASSERT_TRUE(test::eventually([&] { return !session.state().registered; }, seconds(5)));
  std::string why;
  EXPECT_FALSE(session.lease_valid(&why));
  EXPECT_NE(why.find("another process of ezone bj"), std::string::npos) << why;
  std::this_thread::sleep_for(std::chrono::milliseconds(700));  // two keepalive intervals
  EXPECT_FALSE(session.state().registered);
  EXPECT_EQ(registered_lease(), newer);
  // Once the other's registration is gone (it stopped), this one registers
  // again under a new lease.
  ASSERT_TRUE(store_.lease_revoke(newer).is_ok());
  ASSERT_TRUE(test::eventually(
      [&] {
        const EtcdState s = session.state();
        return s.registered && s.lease_id != first && registered_lease() == s.lease_id;
      },
      seconds(5)));
  // A key deleted outright is registered again at once.
  const int64_t second = session.state().lease_id;
  ASSERT_TRUE(store_.del(node_registration_key("bj")).ok());
  ASSERT_TRUE(test::eventually(
      [&] {
        const EtcdState s = session.state();
        return s.registered && s.lease_id != second && registered_lease() == s.lease_id;
      },
      seconds(5)));
  session.stop();
}

}  // namespace
}  // namespace ezone
