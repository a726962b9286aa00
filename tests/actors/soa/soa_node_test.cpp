// The SOA proxy inside two Nodes (bj and sh, in-memory metadata store): a
// [soa] config serves its services on node.http, and the admin API shows
// the instances' state.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/gzs/gzs.hpp"
#include "actors/soa/soa_proxy.hpp"
#include "storage/net/http_client.hpp"
#include "tests/actors/node_fixture.hpp"
#include "tests/actors/soa/soa_instance.hpp"
#include "tests/support/eventually.hpp"

namespace ezone {
namespace {

using nlohmann::json;

class SoaNodeTest : public test::TwoNodeTest {
 protected:
  Result<net::HttpResponse> get(uint16_t port, const std::string& target) {
    return net::http_request({"127.0.0.1", port}, "GET", target, "", "", 3000);
  }
};

TEST_F(SoaNodeTest, ANodeWithSoaServesItsServicesAndReportsTheirInstances) {
  test::Instance bj1("bj-1"), sh1("sh-1");
  configure = [&](NodeConfig& c) {
    SoaServiceConfig ledger;
    ledger.name = "ledger";
    ledger.mode = SoaMode::prefix;
    ledger.fallback = SoaFallback::reads;
    ledger.instances = {{"bj", {*parse_host_port(bj1.address())}}, {"sh", {*parse_host_port(sh1.address())}}};
    c.soa.services = {ledger};
    c.soa.probe_interval_ms = 100;
  };
  const std::string shards = std::string(EZONE_TEST_SOURCE_DIR) + "/config/shards/test-fences.toml";
  auto bj = start("bj", {}, shards);
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  auto sh = start("sh", {}, shards);
  ASSERT_TRUE(sh.ok()) << sh.status().to_string();
  // Routing starts once both have the route table.
  ASSERT_TRUE(test::eventually([&] { return (*bj)->gzs().epoch() > 0 && (*sh)->gzs().epoch() > 0; }));

  // Entering at bj, the call for sh's ledger is carried to sh and served by
  // sh's instance.
  auto r = get(bj_ports_.http, "/soa/v1/sh.ledger/balance?account=7");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->status, 200) << r->body;
  auto body = json::parse(r->body, nullptr, false);
  EXPECT_EQ(body["instance"], "sh-1");
  EXPECT_EQ(body["target"], "/balance?account=7");
  auto local = get(bj_ports_.http, "/soa/v1/bj.ledger/balance");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(json::parse(local->body, nullptr, false)["instance"], "bj-1");

  // sh's instance falls sick: reads for sh go to bj's instance.
  sh1.healthy = false;
  ASSERT_TRUE(test::eventually([&] {
    auto s = get(sh_ports_.admin, "/admin/v1/soa");
    if (!s.ok() || s->status != 200) return false;
    auto doc = json::parse(s->body, nullptr, false);
    return doc["ezone"] == "sh" && doc["services"][0]["instances"][0]["ezone"] == "sh" &&
           doc["services"][0]["instances"][0]["up"] == false;
  }));
  auto fallback = get(bj_ports_.http, "/soa/v1/sh.ledger/balance");
  ASSERT_TRUE(fallback.ok());
  EXPECT_EQ(fallback->status, 200) << fallback->body;
  EXPECT_EQ(json::parse(fallback->body, nullptr, false)["instance"], "bj-1");

  auto metrics = get(sh_ports_.admin, "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find("ezone_soa_calls_total{ezone=\"sh\",service=\"ledger\",served_by=\"peer\"} 1"),
            std::string::npos)
      << metrics->body.substr(std::min(metrics->body.size(), metrics->body.find("ezone_soa_calls_total")), 600);
}

TEST_F(SoaNodeTest, ANodeWithoutSoaSaysSo) {
  auto bj = start("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  auto r = get(bj_ports_.admin, "/admin/v1/soa");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("no [soa] section"), std::string::npos) << r->body;
  auto call = get(bj_ports_.http, "/soa/v1/bj.ledger/x");
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->status, 404);
}

}  // namespace
}  // namespace ezone
