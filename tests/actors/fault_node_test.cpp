// Fault injection on one Node (in-memory metadata store): the admin
// endpoints' gate and validation, and an isolation's effect on the lease,
// the router and the fence, through to the heal. The two-zone failover
// under writes is tests/integration/fault_process_test.cpp.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

#include "actors/node/etcd_session.hpp"
#include "actors/node/node.hpp"
#include "storage/net/http_client.hpp"
#include "tests/actors/node_fixture.hpp"
#include "tests/support/eventually.hpp"

namespace ezone {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::eventually;

class FaultNodeTest : public test::TwoNodeTest {
 protected:
  Result<net::HttpResponse> admin(const std::string& method, const std::string& target, const std::string& body = "") {
    return net::http_request({"127.0.0.1", bj_ports_.admin}, method, target, body,
                             body.empty() ? "" : "application/json", 2000);
  }
  json fault_state() {
    auto r = admin("GET", "/admin/v1/fault");
    EXPECT_TRUE(r.ok() && r->status == 200);
    return r.ok() ? json::parse(r->body, nullptr, false) : json();
  }
  bool registered_in_store() { return !store_->range(node_registration_key("bj"))->kvs.empty(); }
};

TEST_F(FaultNodeTest, IsolateAndHealAre403UnlessTheConfigAllowsThem) {
  auto bj = start("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  for (const char* action : {"/admin/v1/fault/isolate", "/admin/v1/fault/heal"}) {
    auto r = admin("POST", action, R"({"duration_ms": 1000})");
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->status, 403) << action;
    EXPECT_NE(r->body.find("allow_fault_injection = true"), std::string::npos) << r->body;
    EXPECT_NE(r->body.find("[admin]"), std::string::npos) << r->body;
  }
  json state = fault_state();
  EXPECT_EQ(state["isolated"], false);
  EXPECT_EQ(state["allowed"], false);
  EXPECT_TRUE((*bj)->etcd_state().registered);
}

TEST_F(FaultNodeTest, MalformedIsolateRequestsAre400Or405) {
  configure = [](NodeConfig& c) { c.admin_api.allow_fault_injection = true; };
  auto bj = start("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  for (const char* body : {"not json", "[1]", R"({"duration_ms": 0})", R"({"duration_ms": 600001})",
                           R"({"duration_ms": "5s"})", R"({"duration_ms": 1.5})", R"({"duration": 100})"}) {
    auto r = admin("POST", "/admin/v1/fault/isolate", body);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->status, 400) << body;
    EXPECT_NE(r->body.find("duration_ms"), std::string::npos) << r->body;
  }
  EXPECT_EQ(admin("GET", "/admin/v1/fault/isolate")->status, 405);
  EXPECT_EQ(admin("POST", "/admin/v1/fault")->status, 405);
  EXPECT_EQ(fault_state()["isolated"], false);
}

TEST_F(FaultNodeTest, AnIsolatedNodeFencesLetsItsLeaseExpireAndRecoversAfterTheHeal) {
  configure = [](NodeConfig& c) {
    c.admin_api.allow_fault_injection = true;
    c.timeouts.lease_ttl_s = 1;
  };
  auto bj = start("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  ASSERT_TRUE(eventually([&] { return fault_state()["fenced"] == false; })) << fault_state().dump();
  const int64_t lease_before = (*bj)->etcd_state().lease_id;

  auto r = admin("POST", "/admin/v1/fault/isolate", R"({"duration_ms": 600000})");
  ASSERT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().to_string());
  json state = json::parse(r->body);
  EXPECT_EQ(state["isolated"], true);
  EXPECT_EQ(state["heals_at_wall_ms"].get<int64_t>() - state["since_wall_ms"].get<int64_t>(), 600000);
  // The data plane is dark; the admin API answers.
  auto probe = net::http_request({"127.0.0.1", bj_ports_.http}, "GET", "/ezone/v1/probe", "", "", 2000);
  ASSERT_TRUE(probe.ok()) << probe.status().to_string();
  EXPECT_EQ(probe->status, 503);
  EXPECT_EQ(json::parse(probe->body)["reason"], "isolated") << probe->body;
  // The lease is not renewed: the node fences itself, then the store expires it (nobody revoked it).
  ASSERT_TRUE(eventually([&] { return fault_state()["fenced"] == true; }, 5s)) << fault_state().dump();
  EXPECT_FALSE((*bj)->etcd_state().reachable);
  ASSERT_TRUE(eventually([&] { return !registered_in_store(); }, 5s));

  r = admin("POST", "/admin/v1/fault/heal");
  ASSERT_TRUE(r.ok() && r->status == 200);
  EXPECT_EQ(json::parse(r->body)["isolated"], false);
  // Back as after a lost lease: a new one, and unfenced once caught up.
  ASSERT_TRUE(eventually([&] { return fault_state()["fenced"] == false; }, 5s)) << fault_state().dump();
  EXPECT_TRUE(registered_in_store());
  EXPECT_NE((*bj)->etcd_state().lease_id, lease_before);
  probe = net::http_request({"127.0.0.1", bj_ports_.http}, "GET", "/ezone/v1/probe", "", "", 2000);
  ASSERT_TRUE(probe.ok());
  EXPECT_NE(json::parse(probe->body).value("reason", ""), "isolated") << probe->body;

  // An isolation heals by itself at its deadline.
  r = admin("POST", "/admin/v1/fault/isolate", R"({"duration_ms": 200})");
  ASSERT_TRUE(r.ok() && r->status == 200);
  ASSERT_TRUE(eventually([&] { return fault_state()["isolated"] == false; }, 5s));
  EXPECT_NE((*bj)->metrics().render().find("ezone_fault_isolations_total{ezone=\"bj\"} 2\n"), std::string::npos)
      << (*bj)->metrics().render();
}

// The node's live incident grade (GET /admin/v1/incident) follows what its
// router answered its clients: an isolated node's 503s make it P0.
TEST_F(FaultNodeTest, TheIncidentGradeFollowsTheShareOfFailedAnswersToClients) {
  configure = [](NodeConfig& c) { c.admin_api.allow_fault_injection = true; };
  auto bj = start("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  auto grade = [&] {
    auto r = admin("GET", "/admin/v1/incident?window_s=60");
    EXPECT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().to_string());
    return r.ok() ? json::parse(r->body, nullptr, false) : json();
  };
  json quiet = grade();
  EXPECT_EQ(quiet["grade"], "P5") << quiet.dump();
  EXPECT_EQ(quiet["requests"], 0);
  EXPECT_EQ(quiet["window_s"], 60);
  EXPECT_EQ(quiet["policy"]["failed_ratio"][0], 0.20) << "the config's policy, here the defaults";
  auto call = [&](const char* path) {
    auto r = net::http_request({"127.0.0.1", bj_ports_.http}, "GET", path, "", "", 2000);
    return r.ok() ? r->status : 0;
  };
  for (int i = 0; i < 16; ++i) ASSERT_EQ(call("/nowhere"), 404);  // a client's mistake is not a failure
  json still = grade();
  EXPECT_EQ(still["requests"], 16);
  EXPECT_EQ(still["failed_requests"], 0);
  EXPECT_EQ(still["grade"], "P5");

  ASSERT_EQ(admin("POST", "/admin/v1/fault/isolate", R"({"duration_ms": 60000})")->status, 200);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(call("/nowhere"), 503);
  json dark = grade();
  EXPECT_EQ(dark["requests"], 20);
  EXPECT_EQ(dark["failed_requests"], 4);
  EXPECT_EQ(dark["grade"], "P0") << dark.dump();
  EXPECT_EQ(dark["reason"], "failed requests 20% >= 20%");
  ASSERT_EQ(admin("POST", "/admin/v1/fault/heal")->status, 200);

  for (const char* bad : {"?window_s=0", "?window_s=9", "?window_s=3601", "?window_s=abc", "?window_s=60x"}) {
    auto r = admin("GET", std::string("/admin/v1/incident") + bad);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 400) << bad;
    EXPECT_NE(r->body.find("window_s"), std::string::npos) << r->body;
  }
  EXPECT_EQ(admin("POST", "/admin/v1/incident")->status, 405);
  EXPECT_NE((*bj)->metrics().render().find(
                "ezone_admin_bad_requests_total{ezone=\"bj\",endpoint=\"incident\"} 5\n"),
            std::string::npos);
}

}  // namespace
}  // namespace ezone
