// The node's etcd session (actors/node/etcd_session.hpp): its registration
// is a compare-and-swap, and a registration key that another lease took is
// a lost lease (DESIGN.md invariant 8: a node may count its lease valid
// only while etcd names that lease for its ezone). A process that finds its
// ezone's registration held by a running process (a twin) does not take it.
#include "actors/node/etcd_session.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "core/process_identity.hpp"
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
  Result<int64_t> lease_time_to_live(int64_t lease_id) override { return inner_.lease_time_to_live(lease_id); }
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
  // Another process of ezone bj puts the key under its own lease of
  // ttl_s (the store's clock is manual: it runs out only when the test
  // advances it). By default the registration names a process of this
  // machine that is gone (an earlier node of this process, whose session
  // no longer lives): a crashed predecessor's late request.
  int64_t register_intruder(const std::string& registration = registration_of(ProcessIdentity::self("gone")),
                            int64_t ttl_s = 60) {
    auto lease = store_.lease_grant(ttl_s);
    EXPECT_TRUE(lease.ok());
    EXPECT_TRUE(store_.put(node_registration_key("bj"), registration, lease->id).ok());
    return lease->id;
  }
  static std::string registration_of(const ProcessIdentity& process) {
    return nlohmann::json{{"ezone", "bj"}, {"process", process.to_json()}}.dump();
  }
  // A process of bj on another machine.
  static ProcessIdentity elsewhere() {
    ProcessIdentity p = ProcessIdentity::self("remote");
    p.host = "another-machine";
    return p;
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
  ASSERT_TRUE(session.start().is_ok());
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
  ASSERT_TRUE(session.start().is_ok());
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

TEST_F(EtcdSessionTest, ARunningProcessOfTheEzoneIsATwinAndOnlyTakeoverReplacesIt) {
  EtcdSession first(store_, config_, registration_of(ProcessIdentity::self("first")), logger_, metrics_);
  ASSERT_TRUE(first.start().is_ok());
  const int64_t first_lease = first.state().lease_id;
  ASSERT_NE(first_lease, 0);
  // A second session of bj in this process, whose first lives: refused at
  // once, naming the running process and the way out.
  EtcdSession twin(store_, config_, registration_of(ProcessIdentity::self("twin")), logger_, metrics_);
  const auto began = std::chrono::steady_clock::now();
  Status refused = twin.check_alone();
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(1)) << "no lease watch on this machine";
  // start() (a twin that registered after the check) refuses the same way.
  EXPECT_EQ(twin.start().code(), Errc::conflict);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.code(), Errc::conflict);
  EXPECT_NE(refused.message().find("already run by pid " + std::to_string(::getpid())), std::string::npos)
      << refused.message();
  EXPECT_NE(refused.message().find("--takeover"), std::string::npos) << refused.message();
  EXPECT_FALSE(twin.state().registered);
  EXPECT_FALSE(twin.state().twin.empty());
  EXPECT_EQ(registered_lease(), first_lease);
  EXPECT_TRUE(first.lease_valid());
  // --takeover registers over it, and the running one is fenced.
  EtcdSession taker(store_, config_, registration_of(ProcessIdentity::self("taker")), logger_, metrics_);
  taker.set_takeover(true);
  ASSERT_TRUE(taker.start().is_ok());
  EXPECT_TRUE(taker.state().registered);
  EXPECT_EQ(registered_lease(), taker.state().lease_id);
  ASSERT_TRUE(test::eventually([&] { return !first.lease_valid(); }, seconds(5)));
  taker.stop();
  first.stop();
}

TEST_F(EtcdSessionTest, ACrashedPredecessorOnThisMachineIsReplacedAtOnce) {
  // Its lease (60 s, on a clock that does not move) would outlive the test:
  // the process table says the holder is gone, so nothing waits for it.
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  ProcessIdentity reaped = ProcessIdentity::self("reaped");
  reaped.pid = child;
  ProcessIdentity rebooted = ProcessIdentity::self("rebooted");
  rebooted.boot_id = "an earlier boot";
  ProcessIdentity reused = ProcessIdentity::self("reused");  // this PID, started at another time
  reused.start_ticks += 1;
  for (const ProcessIdentity& gone : {ProcessIdentity::self("gone"), reaped, rebooted, reused}) {
    SCOPED_TRACE(gone.instance);
    const int64_t stale = register_intruder(registration_of(gone));
    EtcdSession session(store_, config_, registration_of(ProcessIdentity::self("restarted")), logger_, metrics_);
    const auto began = std::chrono::steady_clock::now();
    ASSERT_TRUE(session.check_alone().is_ok());
    ASSERT_TRUE(session.start().is_ok());
    EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(1));
    EXPECT_TRUE(session.state().registered);
    EXPECT_NE(session.state().lease_id, stale);
    EXPECT_EQ(registered_lease(), session.state().lease_id);
    session.stop();
  }
}

TEST_F(EtcdSessionTest, AHolderElsewhereIsReplacedOnlyOnceItsLeaseRunsOut) {
  // Not renewed: its remaining TTL only falls. Registration waits for the
  // lease to run out (here: when the test moves the store's clock on).
  // check_alone() watches for up to its own TTL plus 4 s, and the holder's lease
  // shows 10 s: a slow machine cannot run either out first.
  config_.timeouts.lease_ttl_s = 10;
  const int64_t held = register_intruder(registration_of(elsewhere()), 10);
  EtcdSession session(store_, config_, registration_of(ProcessIdentity::self("new")), logger_, metrics_);
  auto started = std::async(std::launch::async, [&] { return session.check_alone(); });
  ASSERT_TRUE(test::eventually([&] { return session.state().last_error.find("10 s left") != std::string::npos; },
                               seconds(5)))
      << session.state().last_error;
  clock_.advance_ms(5000);
  ASSERT_TRUE(test::eventually([&] { return session.state().last_error.find("5 s left") != std::string::npos; },
                               seconds(5)))
      << session.state().last_error;
  EXPECT_FALSE(session.state().registered);
  EXPECT_EQ(registered_lease(), held);
  clock_.advance_ms(6000);  // expired: etcd deletes the key with it
  ASSERT_EQ(started.wait_for(seconds(5)), std::future_status::ready);
  EXPECT_TRUE(started.get().is_ok());
  EXPECT_FALSE(session.state().registered) << "the check writes nothing";
  ASSERT_TRUE(session.start().is_ok());
  EXPECT_TRUE(session.state().registered);
  EXPECT_EQ(registered_lease(), session.state().lease_id);
  session.stop();
}

TEST_F(EtcdSessionTest, AHolderElsewhereWhoseLeaseIsRenewedIsATwin) {
  config_.timeouts.lease_ttl_s = 10;  // check_alone() watches for up to 14 s
  const int64_t held = register_intruder(registration_of(elsewhere()), 60);
  EtcdSession session(store_, config_, registration_of(ProcessIdentity::self("new")), logger_, metrics_);
  auto started = std::async(std::launch::async, [&] { return session.check_alone(); });
  ASSERT_TRUE(test::eventually([&] { return session.state().last_error.find("60 s left") != std::string::npos; },
                               seconds(5)));
  clock_.advance_ms(10'000);
  ASSERT_TRUE(test::eventually([&] { return session.state().last_error.find("50 s left") != std::string::npos; },
                               seconds(5)));
  ASSERT_TRUE(store_.lease_keepalive(held).ok());  // the holder renews: its TTL grows back
  ASSERT_EQ(started.wait_for(seconds(5)), std::future_status::ready);
  Status refused = started.get();
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.message().find("pid " + std::to_string(::getpid()) + " on host another-machine, whose lease is "
                                   "being renewed"),
            std::string::npos)
      << refused.message();
  EXPECT_EQ(registered_lease(), held);
}

TEST_F(EtcdSessionTest, ALeaseThatOutlivesTheTtlItShowedWasRenewed) {
  // An older ezoned's registration records no process, so it is watched
  // like one from elsewhere. Its 1 s lease never runs out (the store's
  // clock stands still): 3 s past its 1 s (etcd's rounding and revocation)
  // it must have been renewed, so check_alone() refuses, about 4 s in,
  // within the session's TTL plus 4 s (7 s).
  config_.timeouts.lease_ttl_s = 3;
  const int64_t held = register_intruder("{\"ezone\":\"bj\"}", 1);
  EtcdSession session(store_, config_, registration_of(ProcessIdentity::self("new")), logger_, metrics_);
  Status refused = session.check_alone();
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.message().find("a process that did not record its identity, whose lease is being renewed"),
            std::string::npos)
      << refused.message();
  EXPECT_EQ(registered_lease(), held);
}

TEST_F(EtcdSessionTest, ATwinFoundAfterTheStartStaysUnregisteredWhileTheOtherRuns) {
  EtcdSession first(store_, config_, registration_of(ProcessIdentity::self("first")), logger_, metrics_);
  ASSERT_TRUE(first.start().is_ok());
  // etcd is down while the second starts: nothing to judge, so it starts.
  store_.set_available(false);
  EtcdSession second(store_, config_, registration_of(ProcessIdentity::self("second")), logger_, metrics_);
  ASSERT_TRUE(second.check_alone().is_ok());
  ASSERT_TRUE(second.start().is_ok());
  EXPECT_FALSE(second.state().registered);
  store_.set_available(true);
  // Back up: the second finds the first running and stays fenced; the first
  // keeps (or takes back) its registration.
  ASSERT_TRUE(test::eventually([&] { return !second.state().twin.empty(); }, seconds(5)));
  ASSERT_TRUE(test::eventually([&] { return first.state().registered; }, seconds(5)));
  std::this_thread::sleep_for(std::chrono::milliseconds(700));  // two keepalive intervals
  EXPECT_FALSE(second.state().registered);
  EXPECT_FALSE(second.lease_valid());
  EXPECT_EQ(registered_lease(), first.state().lease_id);
  EXPECT_TRUE(first.lease_valid());
  // The first stops (its lease revoked): the second registers.
  first.stop();
  ASSERT_TRUE(test::eventually([&] { return second.state().registered; }, seconds(5)));
  EXPECT_TRUE(second.state().twin.empty());
  EXPECT_EQ(registered_lease(), second.state().lease_id);
  second.stop();
}

}  // namespace
}  // namespace ezone
