// The SOA proxy inside two Nodes (bj and sh, in-memory metadata store): a
// [soa] config serves its services on node.http, and the admin API shows
// the instances' state.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "actors/gzs/gzs.hpp"
#include "actors/soa/soa_proxy.hpp"
#include "actors/soa/soa_registrant.hpp"
#include "zones/soa_registration.hpp"
#include "storage/net/http_client.hpp"
#include "tests/actors/node_fixture.hpp"
#include "tests/actors/soa/soa_instance.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/ports.hpp"

namespace ezone {
namespace {

using nlohmann::json;

class SoaNodeTest : public test::TwoNodeTest {
 protected:
  Result<net::HttpResponse> get(uint16_t port, const std::string& target) { return send(port, "GET", target); }
  // With admin_token_ when a test set it (the nodes' [admin] token).
  Result<net::HttpResponse> send(uint16_t port, const std::string& method, const std::string& target,
                                 const std::string& body = "") {
    net::HttpRequest req{method, target, body, body.empty() ? "" : "application/json", {}};
    net::add_bearer_token(req, admin_token_);
    return net::HttpConnection({"127.0.0.1", port}, admin_tls_).request(req, 3000);
  }
  std::string admin_token_;
  net::TlsContextPtr admin_tls_;  // when a test gives the nodes [tls]
  // Starts bj and sh with a prefix-mode service "ledger" that lists no
  // instance, so every instance it has registered.
  void start_ledger_without_instances(std::function<void(NodeConfig&)> more = nullptr) {
    configure = [more](NodeConfig& c) {
      SoaServiceConfig ledger;
      ledger.name = "ledger";
      ledger.mode = SoaMode::prefix;
      ledger.fallback = SoaFallback::reads;
      c.soa.services = {ledger};
      c.soa.probe_interval_ms = 100;
      if (more) more(c);
    };
    const std::string shards = std::string(EZONE_TEST_SOURCE_DIR) + "/config/shards/test-fences.toml";
    auto bj = start("bj", {}, shards);
    ASSERT_TRUE(bj.ok()) << bj.status().to_string();
    bj_ = std::move(*bj);
    auto sh = start("sh", {}, shards);
    ASSERT_TRUE(sh.ok()) << sh.status().to_string();
    sh_ = std::move(*sh);
    ASSERT_TRUE(test::eventually([&] { return bj_->gzs().epoch() > 0 && sh_->gzs().epoch() > 0; }));
  }
  // The instances of the first service in a node's /admin/v1/soa.
  json instances(uint16_t admin) {
    auto s = get(admin, "/admin/v1/soa");
    if (!s.ok() || s->status != 200) return json::array();
    auto doc = json::parse(s->body, nullptr, false);
    return doc.is_discarded() ? json::array() : doc["services"][0]["instances"];
  }
  // A registrant of `instance` for "ledger" at sh's node.
  SoaRegistrantOptions ledger_at_sh(const test::Instance& instance) const {
    SoaRegistrantOptions o;
    o.node = {"127.0.0.1", sh_ports_.admin};
    o.service = "ledger";
    o.address = instance.address();
    return o;
  }
  uint64_t counter(Node& node, const std::string& name, MetricLabels labels = {}) {
    return node.metrics().counter(name, "", labels).value();
  }
  void TearDown() override {
    for (auto* n : {&bj_, &sh_})
      if (*n) (*n)->stop();
    test::TwoNodeTest::TearDown();
  }

  std::unique_ptr<Node> bj_, sh_;
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

TEST_F(SoaNodeTest, ARegisteredInstanceIsServedInEveryZoneUntilItDeregisters) {
  test::Instance sh1("sh-1");
  start_ledger_without_instances();
  auto none = get(bj_ports_.http, "/soa/v1/sh.ledger/balance");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->status, 503) << none->body;
  EXPECT_NE(none->body.find("it has none"), std::string::npos) << none->body;

  // sh-1 registers with its own zone's node.
  auto reg = send(sh_ports_.admin, "POST", "/admin/v1/soa/instances",
                  json{{"service", "ledger"}, {"address", sh1.address()}, {"ttl_s", 5}}.dump());
  ASSERT_TRUE(reg.ok()) << reg.status().to_string();
  ASSERT_EQ(reg->status, 201) << reg->body;
  auto grant = json::parse(reg->body);
  const int64_t lease = grant["lease"].get<int64_t>();
  EXPECT_EQ(grant["ezone"], "sh");
  EXPECT_EQ(grant["ttl_s"], 5);
  EXPECT_EQ(grant["keepalive_ms"], 5000 / 3);
  EXPECT_EQ(grant["key"], "/ezone/v1/soa/instances/ledger/sh/" + sh1.address());

  // Entering at bj, the call is carried to sh and served by sh-1; bj's
  // proxy knows the instance too (for fallbacks), from the watch.
  ASSERT_TRUE(test::eventually([&] {
    auto r = get(bj_ports_.http, "/soa/v1/sh.ledger/balance?account=7");
    return r.ok() && r->status == 200 && json::parse(r->body, nullptr, false)["instance"] == "sh-1";
  }));
  ASSERT_TRUE(test::eventually([&] { return instances(bj_ports_.admin).size() == 1; }));
  json seen = instances(bj_ports_.admin)[0];
  EXPECT_EQ(seen["ezone"], "sh");
  EXPECT_EQ(seen["address"], sh1.address());
  EXPECT_EQ(seen["source"], "registered");
  EXPECT_EQ(counter(*sh_, "ezone_soa_registrations_total"), 1u);

  // Registering again is no second instance.
  auto again = send(sh_ports_.admin, "POST", "/admin/v1/soa/instances",
                    json{{"service", "ledger"}, {"address", sh1.address()}}.dump());
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->status, 201) << again->body;
  const int64_t lease2 = json::parse(again->body)["lease"].get<int64_t>();
  EXPECT_NE(lease2, lease);
  EXPECT_EQ(instances(sh_ports_.admin).size(), 1u);
  // The key moved to the new lease: the old one holds no registration, so
  // its holder can neither renew it here nor deregister the new one.
  auto old_alive = send(sh_ports_.admin, "POST", "/admin/v1/soa/instances/" + std::to_string(lease) + "/keepalive");
  ASSERT_TRUE(old_alive.ok());
  EXPECT_EQ(old_alive->status, 404) << old_alive->body;
  auto old_gone = send(sh_ports_.admin, "DELETE", "/admin/v1/soa/instances/" + std::to_string(lease));
  ASSERT_TRUE(old_gone.ok());
  EXPECT_EQ(old_gone->status, 404) << old_gone->body;

  auto alive = send(sh_ports_.admin, "POST", "/admin/v1/soa/instances/" + std::to_string(lease2) + "/keepalive");
  ASSERT_TRUE(alive.ok());
  ASSERT_EQ(alive->status, 200) << alive->body;
  EXPECT_GE(json::parse(alive->body)["ttl_s"].get<int64_t>(), 9);

  // The API renews and revokes registrations only: not the node's own
  // ownership lease.
  const int64_t own = sh_->etcd_state().lease_id;
  ASSERT_GT(own, 0);
  for (const char* method : {"POST", "DELETE"}) {
    std::string target = "/admin/v1/soa/instances/" + std::to_string(own);
    auto r = send(sh_ports_.admin, method, std::string(method) == "POST" ? target + "/keepalive" : target);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 404) << method << " " << r->body;
    EXPECT_NE(r->body.find("holds no SOA registration"), std::string::npos) << r->body;
  }
  EXPECT_TRUE(sh_->etcd_state().registered);
  EXPECT_EQ(sh_->etcd_state().lease_id, own);

  // Deregistered: gone from both proxies, and calls get the 503 again.
  auto bye = send(sh_ports_.admin, "DELETE", "/admin/v1/soa/instances/" + std::to_string(lease2));
  ASSERT_TRUE(bye.ok());
  ASSERT_EQ(bye->status, 200) << bye->body;
  EXPECT_TRUE(instances(sh_ports_.admin).empty()) << "the registering node stops serving it at once";
  ASSERT_TRUE(test::eventually([&] { return instances(bj_ports_.admin).empty(); }));
  auto after = get(bj_ports_.http, "/soa/v1/sh.ledger/balance");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->status, 503) << after->body;
  EXPECT_EQ(counter(*bj_, "ezone_soa_registry_errors_total"), 0u);
}

TEST_F(SoaNodeTest, AnInstanceThatStopsRenewingIsRemovedWhenItsLeaseExpires) {
  test::Instance bj1("bj-1"), bj2("bj-2");
  start_ledger_without_instances();
  for (auto* in : {&bj1, &bj2}) {
    auto reg = send(bj_ports_.admin, "POST", "/admin/v1/soa/instances",
                    json{{"service", "ledger"}, {"address", in->address()}, {"ttl_s", 1}}.dump());
    ASSERT_TRUE(reg.ok());
    ASSERT_EQ(reg->status, 201) << reg->body;
  }
  ASSERT_TRUE(test::eventually([&] { return instances(sh_ports_.admin).size() == 2; }));
  // Nobody renews: etcd expires the leases (1 s) and both proxies drop
  // the instances. A live instance is not kept by its health alone.
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(test::eventually([&] {
    return instances(sh_ports_.admin).empty() && instances(bj_ports_.admin).empty();
  }));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500));
  EXPECT_EQ(sh_->metrics().gauge("ezone_soa_instances_up", "", {{"service", "ledger"}, {"instance_ezone", "bj"}}).value(),
            0);
  auto r = get(bj_ports_.http, "/soa/v1/bj.ledger/x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503) << r->body;
}

TEST_F(SoaNodeTest, BadRegistrationsAreRefusedWithTheirReasonAndCounted) {
  test::Instance a("a"), b("b");
  start_ledger_without_instances([](NodeConfig& c) {
    c.soa.registered_per_zone_max = 1;
    c.soa.registration_ttl_max_s = 30;
  });
  const std::string path = "/admin/v1/soa/instances";
  struct Case {
    std::string method, target, body;
    int status;
    std::string words;
  };
  const std::vector<Case> cases = {
      {"POST", path, "not json", 400, "JSON object"},
      {"POST", path, "[1]", 400, "JSON object"},
      {"POST", path, json{{"service", "ledger"}}.dump(), 400, "'address'"},
      {"POST", path, json{{"address", a.address()}}.dump(), 400, "'service'"},
      {"POST", path, json{{"service", "ledger"}, {"address", a.address()}, {"zone", "bj"}}.dump(), 400,
       "unknown field 'zone'"},
      {"POST", path, json{{"service", "Ledger!"}, {"address", a.address()}}.dump(), 400, "not a service name"},
      {"POST", path, json{{"service", "ledger"}, {"address", "127.0.0.1"}}.dump(), 400, "'address'"},
      {"POST", path, json{{"service", "ledger"}, {"address", "0.0.0.0:80"}}.dump(), 400, "listens on"},
      {"POST", path, json{{"service", "ledger"}, {"address", a.address()}, {"ttl_s", 0}}.dump(), 400, "'ttl_s'"},
      {"POST", path, json{{"service", "ledger"}, {"address", a.address()}, {"ttl_s", 31}}.dump(), 400, "1..30"},
      {"POST", path, json{{"service", "ledger"}, {"address", a.address()}, {"ttl_s", "5"}}.dump(), 400, "'ttl_s'"},
      {"POST", path + "/abc/keepalive", "", 400, "is not <lease>"},
      {"POST", path + "/-5/keepalive", "", 400, "is not <lease>"},
      {"DELETE", path + "/99999999999999999999", "", 400, "is not <lease>"},
      {"POST", path, json{{"service", "pricing"}, {"address", a.address()}}.dump(), 404, "no service 'pricing'"},
      {"POST", path + "/12345/keepalive", "", 404, "holds no SOA registration"},
      {"GET", path, "", 405, "use POST to register"},
      {"PUT", path + "/1", "", 405, "use DELETE"},
  };
  for (const Case& c : cases) {
    auto r = send(bj_ports_.admin, c.method, c.target, c.body);
    ASSERT_TRUE(r.ok()) << c.target;
    EXPECT_EQ(r->status, c.status) << c.method << " " << c.target << " " << c.body << ": " << r->body;
    EXPECT_NE(r->body.find(c.words), std::string::npos) << c.body << ": " << r->body;
  }
  EXPECT_EQ(counter(*bj_, "ezone_admin_bad_requests_total", {{"endpoint", "soa_instances"}}), 14u);

  // One registered instance per zone here: a second address is refused,
  // the same one again is not.
  auto first = send(bj_ports_.admin, "POST", path, json{{"service", "ledger"}, {"address", a.address()}}.dump());
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->status, 201) << first->body;
  auto second = send(bj_ports_.admin, "POST", path, json{{"service", "ledger"}, {"address", b.address()}}.dump());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->status, 409) << second->body;
  EXPECT_NE(second->body.find("registered_per_zone_max"), std::string::npos) << second->body;
  auto same = send(bj_ports_.admin, "POST", path, json{{"service", "ledger"}, {"address", a.address()}}.dump());
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->status, 201) << same->body;

  // A registrant the node refuses as malformed gives up and says why.
  SoaRegistrantOptions too_long;
  too_long.node = {"127.0.0.1", bj_ports_.admin};
  too_long.service = "ledger";
  too_long.address = b.address();
  too_long.ttl_s = 31;
  SoaRegistrant refused(too_long);
  ASSERT_TRUE(test::eventually([&] { return refused.state().refused; }));
  EXPECT_EQ(refused.state().registrations, 0u);
  EXPECT_NE(refused.state().last_error.find("1..30"), std::string::npos) << refused.state().last_error;
  refused.stop();

  // With etcd out of reach, the API answers 503 at once rather than
  // holding the admin port on etcd's timeouts.
  store_->set_available(false);
  ASSERT_TRUE(test::eventually([&] { return !bj_->etcd_state().reachable; }));
  for (const std::string& target : {path, path + "/1/keepalive"}) {
    auto r = send(bj_ports_.admin, "POST", target, json{{"service", "ledger"}, {"address", b.address()}}.dump());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 503) << r->body;
    EXPECT_NE(r->body.find("etcd cannot be reached"), std::string::npos) << r->body;
  }
  store_->set_available(true);
  ASSERT_TRUE(test::eventually([&] { return bj_->etcd_state().reachable; }));

  // Keys written behind the API's back: junk is counted and never served,
  // an ezone outside the cluster is refused by the proxies.
  ASSERT_TRUE(store_->put(std::string(kSoaInstancePrefix) + "ledger/bj", "x").ok());
  ASSERT_TRUE(store_->put(soa_instance_key({"ledger", "gz", {"127.0.0.1", 9}}), "x").ok());
  ASSERT_TRUE(store_->put(soa_instance_key({"pricing", "bj", {"127.0.0.1", 9}}), "x").ok());
  ASSERT_TRUE(test::eventually([&] {
    return counter(*sh_, "ezone_soa_registry_errors_total") == 1 &&
           counter(*sh_, "ezone_soa_registrations_refused_total") == 2;
  }));
  auto list = instances(sh_ports_.admin);
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0]["address"], a.address());
}

// The client side: a registrant keeps its instance registered, registers
// again when the lease is lost behind its back, and deregisters on stop.
TEST_F(SoaNodeTest, ARegistrantKeepsItsInstanceRegisteredUntilItStops) {
  test::Instance sh1("sh-1");
  start_ledger_without_instances();
  std::mutex lines_mutex;
  std::vector<std::string> lines;
  SoaRegistrantOptions o = ledger_at_sh(sh1);
  o.ttl_s = 3;  // renewed every second
  o.on_change = [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(lines_mutex);
    lines.push_back(line);
  };
  SoaRegistrant registrant(o);
  ASSERT_TRUE(test::eventually(
      [&] { return registrant.state().registered && instances(bj_ports_.admin).size() == 1; }));
  const SoaRegistrantState first = registrant.state();
  EXPECT_TRUE(first.registered);
  EXPECT_EQ(first.registrations, 1u);
  // Past its TTL it is still there: the keepalives hold the lease.
  std::this_thread::sleep_for(std::chrono::seconds(4));
  EXPECT_EQ(instances(bj_ports_.admin).size(), 1u);
  EXPECT_EQ(registrant.state().lease, first.lease);
  EXPECT_EQ(registrant.state().registrations, 1u);

  // The lease is lost (revoked behind its back): the next renewal finds
  // out, and the registrant registers again under a new lease.
  ASSERT_TRUE(store_->lease_revoke(first.lease).is_ok());
  ASSERT_TRUE(test::eventually([&] { return registrant.state().registrations == 2; }));
  EXPECT_NE(registrant.state().lease, first.lease);
  ASSERT_TRUE(test::eventually([&] { return instances(bj_ports_.admin).size() == 1; }));
  auto call = get(bj_ports_.http, "/soa/v1/sh.ledger/x");
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->status, 200) << call->body;

  registrant.stop();
  EXPECT_FALSE(registrant.state().registered);
  ASSERT_TRUE(test::eventually([&] { return instances(bj_ports_.admin).empty(); }));
  std::lock_guard<std::mutex> lock(lines_mutex);
  ASSERT_GE(lines.size(), 3u);
  EXPECT_NE(lines.front().find("registered " + sh1.address() + " (ledger)"), std::string::npos) << lines.front();
  EXPECT_NE(lines.back().find("deregistered"), std::string::npos) << lines.back();
}

// A node with an admin token: a registrant without it is refused for good
// (401 cannot turn into a success by retrying), one with it registers and
// deregisters.
TEST_F(SoaNodeTest, ARegistrantNeedsTheNodesAdminTokenWhenTheNodeHasOne) {
  const std::string token = "soa-test-admin-token-c0ffee42";
  test::Instance sh1("sh-1");
  start_ledger_without_instances([token](NodeConfig& c) { c.admin_api.token = token; });
  admin_token_ = token;
  SoaRegistrantOptions o = ledger_at_sh(sh1);
  o.retry_ms = 50;
  SoaRegistrant without(o);
  ASSERT_TRUE(test::eventually([&] { return without.state().refused; }));
  EXPECT_EQ(without.state().registrations, 0u);
  EXPECT_NE(without.state().last_error.find("401"), std::string::npos) << without.state().last_error;
  without.stop();

  o.admin_token = token;
  SoaRegistrant with(o);
  ASSERT_TRUE(test::eventually([&] { return with.state().registered && instances(bj_ports_.admin).size() == 1; }))
      << with.state().last_error;
  with.stop();
  EXPECT_FALSE(with.state().registered);
  // Deregistered at once, not left to its lease (10 s).
  EXPECT_TRUE(test::eventually([&] { return instances(bj_ports_.admin).empty(); }, std::chrono::seconds(3)));
}

// Nodes whose node.admin speaks TLS and asks for client certificates
// ([tls] client_certs): a registrant with the CA and a certificate from it
// registers; one without TLS never does, and keeps trying (the node may
// just be restarting).
TEST_F(SoaNodeTest, ARegistrantReachesANodeAdminOverTls) {
  const std::string d = std::string(EZONE_TEST_SOURCE_DIR) + "/tests/data/tls";
  auto server = net::TlsContext::server({d + "/node.crt", d + "/node.key", d + "/ca.crt"});
  auto client = net::TlsContext::client({d + "/client.crt", d + "/client.key", d + "/ca.crt"});
  ASSERT_TRUE(server.ok() && client.ok());
  test::Instance sh1("sh-1");
  start_ledger_without_instances([&](NodeConfig& c) {
    c.tls.server = *server;
    c.tls.client = *client;
    c.tls.client_certs = true;
  });
  admin_tls_ = *client;
  SoaRegistrantOptions o = ledger_at_sh(sh1);
  o.retry_ms = 50;
  SoaRegistrant plain(o);
  ASSERT_TRUE(test::eventually([&] { return !plain.state().last_error.empty(); }));
  EXPECT_FALSE(plain.state().registered);
  EXPECT_FALSE(plain.state().refused);
  plain.stop();
  EXPECT_GT(counter(*sh_, "ezone_http_tls_handshake_failures_total", {{"server", "admin"}}), 0u);

  o.tls = *client;
  SoaRegistrant over_tls(o);
  ASSERT_TRUE(test::eventually([&] { return over_tls.state().registered && instances(bj_ports_.admin).size() == 1; }))
      << over_tls.state().last_error;
  over_tls.stop();
  EXPECT_TRUE(test::eventually([&] { return instances(bj_ports_.admin).empty(); }, std::chrono::seconds(3)));
}

// A service with tls = true: an instance that serves HTTPS registers, and a
// call entering at the other node is carried to it over TLS.
TEST_F(SoaNodeTest, ARegisteredInstanceOfATlsServiceIsCalledOverTls) {
  const std::string d = std::string(EZONE_TEST_SOURCE_DIR) + "/tests/data/tls";
  auto served = net::TlsContext::server({d + "/node.crt", d + "/node.key", ""});
  auto client = net::TlsContext::client({d + "/client.crt", d + "/client.key", d + "/ca.crt"});
  ASSERT_TRUE(served.ok() && client.ok());
  test::Instance sh1("sh-1", *served);
  start_ledger_without_instances([&](NodeConfig& c) {
    c.soa.services[0].tls = true;
    c.soa.tls.context = *client;
  });
  SoaRegistrantOptions o = ledger_at_sh(sh1);
  o.retry_ms = 50;
  SoaRegistrant registrant(o);
  ASSERT_TRUE(test::eventually([&] { return registrant.state().registered && instances(bj_ports_.admin).size() == 1; }))
      << registrant.state().last_error;
  auto r = get(bj_ports_.http, "/soa/v1/sh.ledger/balance");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body, nullptr, false)["instance"], "sh-1");
  EXPECT_EQ(sh1.calls, 1);
  registrant.stop();
}

// A registrant given a token file follows a rotation without a restart:
// when the node moves to a new token, the keepalives get 401 until the
// registrant's file has it too, and no 401 makes it give up.
TEST_F(SoaNodeTest, ARegistrantWithATokenFileFollowsARotation) {
  const std::string old_token = "soa-rotation-old-token-1234", new_token = "soa-rotation-new-token-5678";
  const std::string node_file = dir_ + "/node_admin_token", client_file = dir_ + "/client_admin_token";
  std::ofstream(node_file) << old_token << "\n";
  std::ofstream(client_file) << new_token << "\n";  // ahead of the node: refused, and tried again
  test::Instance sh1("sh-1");
  start_ledger_without_instances([&](NodeConfig& c) {
    c.admin_api.token = LiveToken::from_file(*read_token_file(node_file, "admin token"), node_file);
  });
  admin_token_ = old_token;
  SoaRegistrantOptions o = ledger_at_sh(sh1);
  o.retry_ms = 50;
  o.ttl_s = 3;  // keepalives every second
  o.admin_token = "ignored-when-a-file-is-given";
  o.admin_token_file = client_file;
  SoaRegistrant registrant(o);
  ASSERT_TRUE(test::eventually([&] { return registrant.state().last_error.find("401") != std::string::npos; }));
  EXPECT_FALSE(registrant.state().refused) << "with a token file a 401 is tried again";
  std::ofstream(client_file) << old_token << "\n";
  ASSERT_TRUE(test::eventually([&] { return registrant.state().registered; })) << registrant.state().last_error;

  std::ofstream(node_file) << new_token << "\n";  // the nodes move on alone
  ASSERT_TRUE(sh_->reload_tokens().ok());
  ASSERT_TRUE(bj_->reload_tokens().ok());
  ASSERT_TRUE(test::eventually([&] { return registrant.state().last_error.find("401") != std::string::npos; },
                               std::chrono::seconds(5)));
  EXPECT_FALSE(registrant.state().refused);
  std::ofstream(client_file) << new_token << "\n";
  admin_token_ = new_token;
  ASSERT_TRUE(test::eventually([&] { return registrant.state().registered && registrant.state().last_error.empty(); },
                               std::chrono::seconds(5)))
      << registrant.state().last_error;
  EXPECT_TRUE(test::eventually([&] { return instances(bj_ports_.admin).size() == 1; }, std::chrono::seconds(5)));
  registrant.stop();
  EXPECT_TRUE(test::eventually([&] { return instances(bj_ports_.admin).empty(); }, std::chrono::seconds(3)))
      << "deregistered with the new token";
}

TEST(SoaRegistrantTest, WithNoNodeToRegisterWithItKeepsTryingAndStopsPromptly) {
  SoaRegistrantOptions o;
  o.node = {"127.0.0.1", test::free_loopback_port()};
  o.service = "ledger";
  o.address = "127.0.0.1:9";
  o.retry_ms = 50;
  SoaRegistrant registrant(o);
  ASSERT_TRUE(test::eventually([&] { return !registrant.state().last_error.empty(); }));
  EXPECT_FALSE(registrant.state().registered);
  const auto t0 = std::chrono::steady_clock::now();
  registrant.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10)) << "it does not wait for the node";
  EXPECT_EQ(registrant.state().registrations, 0u);
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
  auto reg = send(bj_ports_.admin, "POST", "/admin/v1/soa/instances", "{}");
  ASSERT_TRUE(reg.ok());
  EXPECT_EQ(reg->status, 404);
  EXPECT_NE(reg->body.find("lets no instance register"), std::string::npos) << reg->body;
}

}  // namespace
}  // namespace ezone
