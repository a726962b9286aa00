// SoaRegistry on its own, over an in-memory metadata store: what it reads
// at start, what it follows through the watch, and how it catches up when
// the store could not be reached.
#include "actors/soa/soa_registry.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "actors/soa/soa_proxy.hpp"
#include "core/clock.hpp"
#include "storage/meta/memory_meta_store.hpp"
#include "tests/support/eventually.hpp"
#include "zones/soa_registration.hpp"

namespace ezone {
namespace {

using nlohmann::json;

class SoaRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SoaSettings settings;
    SoaServiceConfig pricing;
    pricing.name = "pricing";
    pricing.mode = SoaMode::route;
    settings.services = {pricing};
    settings.probe_interval_ms = 60000;
    lanes_ = IoThreads::start(1, "soa-reg");
    auto proxy = SoaProxy::start("bj", {"bj", "sh"}, settings, lanes_, metrics_, nullptr);
    ASSERT_TRUE(proxy.ok()) << proxy.status().to_string();
    proxy_ = std::move(*proxy);
  }
  void TearDown() override {
    if (registry_) registry_->stop();
    if (proxy_) proxy_->stop();
    if (lanes_) lanes_->stop();
  }
  void start_registry() {
    registry_ = std::make_unique<SoaRegistry>("bj", store_, *proxy_, metrics_,
                                              std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>()));
  }
  // The addresses the proxy serves, "ezone/host:port", in its order.
  std::vector<std::string> served() {
    std::vector<std::string> out;
    const json doc = json::parse(proxy_->status_json());
    for (const auto& in : doc["services"][0]["instances"])
      out.push_back(in["ezone"].get<std::string>() + "/" + in["address"].get<std::string>());
    return out;
  }
  // A registration written as the registering node writes it, under a
  // lease of ttl_s; returns the lease.
  int64_t registered(const std::string& zone, uint16_t port, int64_t ttl_s = 30) {
    auto lease = store_.lease_grant(ttl_s);
    EXPECT_TRUE(lease.ok());
    SoaRegistration r{"pricing", zone, {"127.0.0.1", port}};
    EXPECT_TRUE(store_.put(soa_instance_key(r), soa_instance_value(r, 0, ttl_s), lease->id).ok());
    return lease->id;
  }
  uint64_t counter(const std::string& name) { return metrics_.counter(name, "").value(); }

  Metrics metrics_{"bj"};
  meta::MemoryMetaStore store_{SystemClock::instance()};
  std::shared_ptr<IoThreads> lanes_;
  std::unique_ptr<SoaProxy> proxy_;
  std::unique_ptr<SoaRegistry> registry_;
};

TEST_F(SoaRegistryTest, ItServesWhatIsRegisteredAtStartAndFollowsTheWatch) {
  registered("sh", 7401);
  start_registry();
  EXPECT_EQ(served(), std::vector<std::string>({"sh/127.0.0.1:7401"})) << "read before the constructor returns";
  const int64_t lease = registered("bj", 7301);
  EXPECT_EQ(served(), std::vector<std::string>({"bj/127.0.0.1:7301", "sh/127.0.0.1:7401"}));
  ASSERT_TRUE(store_.lease_revoke(lease).is_ok());
  EXPECT_EQ(served(), std::vector<std::string>({"sh/127.0.0.1:7401"}));
  ASSERT_TRUE(store_.del(std::string(kSoaInstancePrefix), true).ok());
  EXPECT_TRUE(served().empty());
  EXPECT_EQ(counter("ezone_soa_registry_resyncs_total"), 1u);
}

TEST_F(SoaRegistryTest, WhenTheStoreCannotBeReachedItReadsEverythingOnceItCan) {
  registered("sh", 7401);
  store_.set_available(false);
  start_registry();
  EXPECT_TRUE(served().empty());
  EXPECT_GE(counter("ezone_soa_registry_errors_total"), 1u);
  // A registration nobody could tell the registry about: it is found by
  // the full read that follows the outage.
  store_.set_available(true);
  registered("bj", 7301);
  ASSERT_TRUE(test::eventually([&] { return served().size() == 2; }, std::chrono::seconds(10)));
  EXPECT_EQ(served(), std::vector<std::string>({"bj/127.0.0.1:7301", "sh/127.0.0.1:7401"}));
  EXPECT_GE(counter("ezone_soa_registry_resyncs_total"), 2u);
  // And the watch runs from there.
  registered("sh", 7402);
  EXPECT_EQ(served().size(), 3u);
}

}  // namespace
}  // namespace ezone
