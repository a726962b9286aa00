// The SOA proxy through two real routers, bj and sh, each with its own
// proxy, and service instances on loopback ports that say who they are. A
// test sees which instance in which zone answered each call
// (X-Ezone-Soa-Instance, X-Ezone-Soa-Zone, and the instance's own body).
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/actors/soa/soa_proxy_fixture.hpp"
#include "tests/support/fake_http_server.hpp"

namespace ezone {
namespace {

using namespace soa_test;  // NOLINT: the fixture's helpers, named as before
using test::eventually;
using test::Instance;

TEST_F(SoaProxyTest, ARouteModeCallRunsAtTheOwnersInstanceWhereverItEnters) {
  Instance bj1("bj-1"), sh1("sh-1");
  start({service("pricing", SoaMode::route, {bj1.address()}, {sh1.address()})});
  table_.set("order=77", "sh");
  table_.set("order=78", "bj");
  for (Site* entry : {&bj_, &sh_}) {
    auto r = call(*entry, "POST", "/soa/v1/pricing/quote/now?city=sh&x=1", {{"X-Ezone-Key", "order=77"}}, "{\"n\":1}");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-ezone-soa-zone"), "sh");
    EXPECT_EQ(r.header("x-ezone-soa-instance"), sh1.address());
    auto b = body_of(r);
    EXPECT_EQ(b["instance"], "sh-1");
    EXPECT_EQ(b["method"], "POST");
    EXPECT_EQ(b["target"], "/quote/now?city=sh&x=1") << "the path after the service, with its query";
    EXPECT_EQ(b["body"], "{\"n\":1}");
    EXPECT_EQ(b["shard"], "11") << "the router says which shard the call belongs to";
    EXPECT_EQ(b["hops"], "") << "the route trail stays between routers";
    EXPECT_EQ(b["host"], sh1.address());
  }
  auto root = call(bj_, "GET", "/soa/v1/pricing?q=1", {{"X-Ezone-Key", "order=78"}});
  ASSERT_EQ(root.status, 200) << root.body;
  EXPECT_EQ(body_of(root)["target"], "/?q=1");
  EXPECT_EQ(body_of(root)["instance"], "bj-1");
  EXPECT_EQ(sh1.calls, 2);
  EXPECT_EQ(bj1.calls, 1);
  EXPECT_EQ(sh_.counter("ezone_soa_calls_total", {{"service", "pricing"}, {"served_by", "local"}}), 2u);
  EXPECT_EQ(bj_.counter("ezone_soa_calls_total", {{"service", "pricing"}, {"served_by", "local"}}), 1u);
  // The router's rules hold for SOA calls: no key, an unknown key.
  EXPECT_EQ(call(bj_, "POST", "/soa/v1/pricing/quote").status, 400);
  EXPECT_EQ(call(bj_, "POST", "/soa/v1/pricing/quote", {{"X-Ezone-Key", "order=5"}}).status, 404);
  EXPECT_EQ(call(bj_, "POST", "/soa/v1/pricingx/quote", {{"X-Ezone-Key", "order=77"}}).status, 404);
}

TEST_F(SoaProxyTest, AWriteToAMovingShardIsHeldBackByTheRouterButAReadIsServed) {
  Instance bj1("bj-1"), sh1("sh-1");
  start({service("pricing", SoaMode::route, {bj1.address()}, {sh1.address()})});
  table_.set("order=77", "bj", /*write_forbidden=*/true);
  auto write = call(sh_, "POST", "/soa/v1/pricing/quote", {{"X-Ezone-Key", "order=77"}});
  EXPECT_EQ(write.status, 503) << write.body;
  EXPECT_EQ(bj1.calls, 0);
  auto read = call(sh_, "GET", "/soa/v1/pricing/quote", {{"X-Ezone-Key", "order=77"}});
  EXPECT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.header("x-ezone-soa-zone"), "bj");
}

TEST_F(SoaProxyTest, OrigStaysInTheCallersZoneAndPrefixGoesToTheNamedOne) {
  Instance bj1("bj-1"), bj2("bj-2"), sh1("sh-1");
  start({service("legacy", SoaMode::orig, {bj1.address(), bj2.address()}, {sh1.address()}),
         service("ledger", SoaMode::prefix, {bj1.address()}, {sh1.address()})});
  for (int i = 0; i < 10; ++i) {
    auto r = call(bj_, "PUT", "/soa/v1/legacy/x");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-ezone-soa-zone"), "bj");
  }
  EXPECT_EQ(bj1.calls, 5) << "round robin over the zone's instances";
  EXPECT_EQ(bj2.calls, 5);
  EXPECT_EQ(call(sh_, "DELETE", "/soa/v1/legacy/x").header("x-ezone-soa-zone"), "sh");
  auto prefixed = call(bj_, "PATCH", "/soa/v1/sh.ledger/entries/9");
  ASSERT_EQ(prefixed.status, 200) << prefixed.body;
  EXPECT_EQ(body_of(prefixed)["instance"], "sh-1");
  EXPECT_EQ(body_of(prefixed)["target"], "/entries/9");
  EXPECT_EQ(body_of(call(sh_, "GET", "/soa/v1/bj.ledger/entries/9"))["instance"], "bj-1");
  EXPECT_EQ(call(bj_, "GET", "/soa/v1/gz.ledger/entries/9").status, 404);
  EXPECT_EQ(call(bj_, "GET", "/soa/v1/ledger/entries/9").status, 404) << "a prefix service is named with its zone";
}

// HEAD and OPTIONS are carried like GET: reads, served at a write-forbidden
// shard, and under fallback "reads" sent to a peer zone's instance.
TEST_F(SoaProxyTest, HeadAndOptionsAreCarriedAsReads) {
  Instance sh1("sh-1");
  start({service("pricing", SoaMode::route, {dead_address()}, {sh1.address()}, SoaFallback::reads)});
  table_.set("order=78", "bj", /*write_forbidden=*/true);
  // bj has no live instance (its one refuses), so each read falls back to sh's.
  auto head = call(sh_, "HEAD", "/soa/v1/pricing/quote?x=1", {{"X-Ezone-Key", "order=78"}});
  EXPECT_EQ(head.status, 200) << head.body;
  EXPECT_EQ(head.body, "") << "a HEAD answer has no body";
  auto get = call(sh_, "GET", "/soa/v1/pricing/quote?x=1", {{"X-Ezone-Key", "order=78"}});
  ASSERT_EQ(get.status, 200) << get.body;
  // The instance echoes the method, so its HEAD body would be one byte longer.
  EXPECT_EQ(head.header("content-length"), std::to_string(get.body.size() + 1))
      << "the length the instance gave, not 0: " << get.body;
  EXPECT_EQ(head.header("x-ezone-soa-instance"), sh1.address());
  EXPECT_EQ(head.header("x-ezone"), "bj") << "served at the owner, though its shard is write-forbidden";
  auto options = call(bj_, "OPTIONS", "/soa/v1/pricing/quote", {{"X-Ezone-Key", "order=78"}});
  ASSERT_EQ(options.status, 200) << options.body;
  EXPECT_EQ(body_of(options)["method"], "OPTIONS");
  EXPECT_EQ(body_of(options)["target"], "/quote");
  EXPECT_EQ(sh1.calls, 3);
  // A write is held for the moving shard, then refused.
  EXPECT_EQ(call(bj_, "POST", "/soa/v1/pricing/quote", {{"X-Ezone-Key", "order=78"}}).status, 503);
  EXPECT_EQ(sh1.calls, 3);
}

TEST_F(SoaProxyTest, ARefusingInstanceIsSkippedAtOnceAndMarkedDown) {
  Instance live("bj-live");
  std::string dead = dead_address();
  start({service("legacy", SoaMode::orig, {dead, live.address()}, {})});
  for (int i = 0; i < 4; ++i) {
    auto r = call(bj_, "POST", "/soa/v1/legacy/charge", {}, "x");
    ASSERT_EQ(r.status, 200) << r.body;  // a POST too: it never reached the dead one
    EXPECT_EQ(r.header("x-ezone-soa-instance"), live.address());
  }
  EXPECT_EQ(live.calls, 4);
  EXPECT_EQ(bj_.counter("ezone_soa_retries_total", {{"service", "legacy"}}), 1u) << "down after the first refusal";
  EXPECT_EQ(bj_.up("legacy", "bj"), 1);
  auto status = bj_.status()["services"][0]["instances"];
  ASSERT_EQ(status.size(), 2u);
  EXPECT_EQ(status[0]["address"], dead);
  EXPECT_EQ(status[0]["up"], false);
  const std::string last_error = status[0]["last_error"];
  EXPECT_EQ(last_error.rfind("connect_error: upstream " + dead + ": cannot connect", 0), 0u) << last_error;
  EXPECT_EQ(last_error.find_first_of("\"\n"), std::string::npos) << "one line, fit for a log line: " << last_error;
  EXPECT_EQ(status[1]["up"], true);
}

// A service with tls = true: calls and probes reach its instances over TLS,
// presenting the proxy's certificate to an instance that asks for one. An
// instance whose certificate the CA did not sign is refused at the
// handshake (nothing sent, so even a POST goes on to the next one) and
// marked down with the reason; the plain service beside it is unaffected.
TEST_F(SoaProxyTest, OverTlsCallsAndProbesReachTrustedInstancesOnly) {
  const std::string d = std::string(EZONE_TEST_SOURCE_DIR) + "/tests/data/tls";
  auto mutual = net::TlsContext::server({d + "/node.crt", d + "/node.key", d + "/ca.crt"});
  auto untrusted = net::TlsContext::server({d + "/untrusted/node.crt", d + "/untrusted/node.key", ""});
  auto client = net::TlsContext::client({d + "/client.crt", d + "/client.key", d + "/ca.crt"});
  ASSERT_TRUE(mutual.ok() && untrusted.ok() && client.ok());
  Instance secure("bj-secure", *mutual);
  Instance impostor("bj-impostor", *untrusted);
  Instance plain("bj-plain");
  SoaServiceConfig payments = service("payments", SoaMode::orig, {impostor.address(), secure.address()}, {});
  payments.tls = true;
  SoaSettings settings;
  settings.tls.context = *client;
  settings.probe_interval_ms = 100;
  start({payments, service("legacy", SoaMode::orig, {plain.address()}, {})}, settings);

  for (int i = 0; i < 4; ++i) {
    auto r = call(bj_, "POST", "/soa/v1/payments/charge", {}, "x");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-ezone-soa-instance"), secure.address());
  }
  EXPECT_EQ(secure.calls, 4);
  EXPECT_EQ(impostor.calls, 0);
  auto legacy = call(bj_, "GET", "/soa/v1/legacy/x");
  EXPECT_EQ(legacy.status, 200) << legacy.body;
  auto status = bj_.status()["services"][0];
  EXPECT_EQ(status["tls"], true);
  EXPECT_EQ(status["instances"][0]["up"], false);
  const std::string why = status["instances"][0]["last_error"];
  EXPECT_NE(why.find("certificate verify failed"), std::string::npos) << why;
  // The probes, over TLS too, keep the trusted instance up and the other down.
  ASSERT_TRUE(eventually([&] { return bj_.counter("ezone_soa_probe_failures_total", {{"service", "payments"}}) >= 2; },
                         std::chrono::seconds(10)));
  status = bj_.status()["services"][0]["instances"];
  EXPECT_EQ(status[0]["up"], false);
  EXPECT_NE(status[0]["last_error"].get<std::string>().find("probe connect_error"), std::string::npos) << status;
  EXPECT_EQ(status[1]["up"], true) << status;
  EXPECT_EQ(bj_.counter("ezone_soa_probe_failures_total", {{"service", "legacy"}}), 0u);
}

// A tls service needs the proxy's client context.
TEST(SoaProxyTlsTest, AServiceWithTlsAndNoContextIsRefusedAtStart) {
  SoaServiceConfig s;
  s.name = "payments";
  s.tls = true;
  s.instances = {{"bj", {address_of("127.0.0.1:1")}}};
  SoaSettings settings;
  settings.services = {s};
  Metrics metrics("bj");
  auto proxy = SoaProxy::start("bj", {"bj"}, settings, IoThreads::start(1, "t"), metrics, nullptr);
  ASSERT_FALSE(proxy.ok());
  EXPECT_NE(proxy.status().message().find("[soa] has no ca_file"), std::string::npos) << proxy.status().to_string();
}

TEST_F(SoaProxyTest, WithNoLiveInstanceInItsZoneACallFallsBackAsItsServiceAllows) {
  Instance sh1("sh-1");
  start({service("legacy", SoaMode::orig, {dead_address()}, {sh1.address()}),
         service("pricing", SoaMode::route, {dead_address()}, {sh1.address()}, SoaFallback::reads),
         service("ledger", SoaMode::route, {dead_address()}, {sh1.address()}, SoaFallback::none)});
  table_.set("order=78", "bj");
  auto any = call(bj_, "POST", "/soa/v1/legacy/charge");
  ASSERT_EQ(any.status, 200) << any.body;
  EXPECT_EQ(any.header("x-ezone-soa-zone"), "sh");
  EXPECT_EQ(bj_.counter("ezone_soa_calls_total", {{"service", "legacy"}, {"served_by", "peer"}}), 1u);

  auto read = call(sh_, "GET", "/soa/v1/pricing/quote", {{"X-Ezone-Key", "order=78"}});
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.header("x-ezone-soa-zone"), "sh") << "served at bj by sh's instance";
  EXPECT_EQ(read.header("x-ezone"), "bj");
  auto write = call(sh_, "POST", "/soa/v1/pricing/quote", {{"X-Ezone-Key", "order=78"}});
  EXPECT_EQ(write.status, 503) << write.body;
  EXPECT_NE(write.header("retry-after"), "");
  EXPECT_NE(write.body.find("no live instance of service 'pricing' in ezone bj"), std::string::npos) << write.body;
  EXPECT_NE(write.body.find("fallback is 'reads'"), std::string::npos) << write.body;
  // No fallback: the refusal itself is the answer, then the instance is
  // known to be down.
  auto refused = call(sh_, "GET", "/soa/v1/ledger/x", {{"X-Ezone-Key", "order=78"}});
  EXPECT_EQ(refused.status, 502) << refused.body;
  EXPECT_NE(refused.body.find("cannot connect"), std::string::npos) << refused.body;
  EXPECT_EQ(refused.header("x-ezone-soa-zone"), "bj");
  EXPECT_EQ(call(sh_, "GET", "/soa/v1/ledger/x", {{"X-Ezone-Key", "order=78"}}).status, 503);
  EXPECT_EQ(bj_.counter("ezone_soa_call_errors_total", {{"service", "pricing"}, {"kind", "no_instance"}}), 1u);
  EXPECT_EQ(bj_.counter("ezone_soa_call_errors_total", {{"service", "ledger"}, {"kind", "no_instance"}}), 1u);
  EXPECT_EQ(sh1.calls, 2);
}

TEST_F(SoaProxyTest, ACallThatMayHaveBeenActedOnIsRetriedOnlyWhenIdempotent) {
  // The first instance takes each request and never answers.
  auto silent = test::FakeHttpServer::start([](test::FakeConnection& c) {
    while (!c.read_request().empty()) c.wait_for_stop(10000);
  });
  ASSERT_TRUE(silent.ok());
  Instance live("bj-live");
  SoaSettings settings;
  settings.call_timeout_ms = 300;
  settings.probe_timeout_ms = 100;
  settings.down_after = 10;
  start({service("legacy", SoaMode::orig, {(*silent)->endpoint().to_string(), live.address()}, {})}, settings);
  // Round robin from the first instance: POST, then GET (second), then GET (first).
  auto post = call(bj_, "POST", "/soa/v1/legacy/charge", {}, "once");
  EXPECT_EQ(post.status, 504) << post.body;
  EXPECT_EQ(post.header("x-ezone-forward-error"), "response_timeout");
  EXPECT_EQ(post.header("x-ezone-soa-instance"), (*silent)->endpoint().to_string());
  EXPECT_EQ(live.calls, 0) << "a POST that may have been acted on is not sent twice";
  EXPECT_EQ(call(bj_, "GET", "/soa/v1/legacy/a").status, 200);
  auto get = call(bj_, "GET", "/soa/v1/legacy/b");
  EXPECT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(get.header("x-ezone-soa-instance"), live.address());
  EXPECT_EQ(live.calls, 2);
  EXPECT_EQ(bj_.counter("ezone_soa_retries_total", {{"service", "legacy"}}), 1u);
  EXPECT_EQ(bj_.counter("ezone_soa_call_errors_total", {{"service", "legacy"}, {"kind", "upstream"}}), 1u);
}

TEST_F(SoaProxyTest, ProbesTakeASickInstanceOutAndBringItBack) {
  Instance a("bj-a"), b("bj-b");
  SoaSettings settings;
  settings.probe_interval_ms = 50;
  settings.down_after = 2;
  start({service("legacy", SoaMode::orig, {a.address(), b.address()}, {})}, settings);
  a.healthy = false;
  ASSERT_TRUE(eventually([&] { return bj_.up("legacy", "bj") == 1; }));
  EXPECT_EQ(bj_.status()["services"][0]["instances"][0]["last_error"], "probe answered 500");
  int before = a.calls;
  for (int i = 0; i < 6; ++i) EXPECT_EQ(call(bj_, "GET", "/soa/v1/legacy/x").header("x-ezone-soa-instance"), b.address());
  EXPECT_EQ(a.calls, before);
  EXPECT_GE(bj_.counter("ezone_soa_probe_failures_total", {{"service", "legacy"}}), 2u);
  a.healthy = true;
  ASSERT_TRUE(eventually([&] { return bj_.up("legacy", "bj") == 2; }));
  bool a_served = false;
  for (int i = 0; i < 4 && !a_served; ++i)
    a_served = call(bj_, "GET", "/soa/v1/legacy/x").header("x-ezone-soa-instance") == a.address();
  EXPECT_TRUE(a_served);
}

// Instances die and come back, and the proxy stops, while clients call
// without pause: every call gets one answer, each an instance's 200 or the
// proxy's 502/503/504, and nothing crashes.
TEST_F(SoaProxyTest, EveryCallIsAnsweredWhileInstancesComeAndGoAndTheProxyStops) {
  auto a = std::make_unique<Instance>("bj-a");
  Instance b("bj-b"), sh1("sh-1");
  const std::string a_address = a->address();
  SoaSettings settings;
  settings.probe_interval_ms = 50;
  settings.call_timeout_ms = 2000;
  start({service("legacy", SoaMode::orig, {a_address, b.address()}, {sh1.address()})}, settings);
  std::atomic<bool> done{false};
  std::atomic<int> calls{0}, served{0}, refused{0}, other{0};
  std::vector<std::thread> clients;
  JoinAll join_all{done, clients};
  for (int t = 0; t < 3; ++t)
    clients.emplace_back([&, t] {
      while (!done) {
        auto r = call(bj_, t == 0 ? "POST" : "GET", "/soa/v1/legacy/x", {}, "b");
        ++calls;
        if (r.status == 200) ++served;
        else if (r.status == 502 || r.status == 503 || r.status == 504) ++refused;
        else ++other;
      }
    });
  // a goes away (its port then refuses), b falls sick and heals, then the
  // proxy stops while the calls go on.
  ASSERT_TRUE(eventually([&] { return served >= 50; }));
  a.reset();
  b.healthy = false;
  ASSERT_TRUE(eventually([&] { return bj_.up("legacy", "bj") == 0; })) << "a refuses, b's probes fail";
  ASSERT_TRUE(eventually([&] { return sh1.calls >= 20; })) << "bj has no live instance: calls fall back to sh";
  b.healthy = true;
  ASSERT_TRUE(eventually([&] { return bj_.up("legacy", "bj") == 1; }));
  int before = b.calls;
  ASSERT_TRUE(eventually([&] { return b.calls >= before + 20; })) << "b is back";
  bj_.proxy->stop();
  before = refused;
  ASSERT_TRUE(eventually([&] { return refused >= before + 20; })) << "a stopped proxy answers 503";
  done = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(other, 0) << "every answer is an instance's or the proxy's";
  EXPECT_EQ(calls, served + refused);
}

// Registered instances (SoaRegistry feeds these) join the file's, leave
// again, and churn while clients call: every call is served (each instance
// stays alive, so even a call already on its way to a leaving one
// succeeds), the file's instance is never removed, and the gauge counts
// exactly the instances that are there.
TEST_F(SoaProxyTest, RegisteredInstancesJoinAndLeaveWhileCallsFlow) {
  Instance fixed("bj-file"), r1("bj-r1"), r2("bj-r2"), sh1("sh-1");
  start({service("legacy", SoaMode::orig, {fixed.address()}, {})});
  SoaProxy& proxy = *bj_.proxy;
  auto reg = [](const Instance& in, const std::string& zone, const std::string& service = "legacy") {
    return SoaRegistration{service, zone, address_of(in.address())};
  };
  ASSERT_TRUE(proxy.add_registered(reg(r1, "bj")).is_ok());
  ASSERT_TRUE(proxy.add_registered(reg(r1, "bj")).is_ok()) << "served already: nothing changes";
  ASSERT_TRUE(proxy.add_registered(reg(fixed, "bj")).is_ok()) << "the file's instance is served already";
  ASSERT_TRUE(proxy.add_registered(reg(sh1, "sh")).is_ok());
  EXPECT_FALSE(proxy.add_registered(reg(r2, "bj", "pricing")).is_ok()) << "no such service";
  EXPECT_FALSE(proxy.add_registered(reg(r2, "gz")).is_ok()) << "no such ezone";
  EXPECT_EQ(bj_.counter("ezone_soa_registrations_refused_total", {}), 2u);
  EXPECT_EQ(bj_.up("legacy", "bj"), 2);
  EXPECT_EQ(bj_.up("legacy", "sh"), 1);
  auto status = bj_.status()["services"][0]["instances"];
  ASSERT_EQ(status.size(), 3u) << status.dump();
  EXPECT_EQ(status[0]["source"], "config");
  EXPECT_EQ(status[1]["source"], "registered");
  EXPECT_EQ(status[1]["address"], r1.address());
  EXPECT_EQ(status[2]["ezone"], "sh");
  for (int i = 0; i < 4; ++i) ASSERT_EQ(call(bj_, "GET", "/soa/v1/legacy/x").status, 200);
  EXPECT_EQ(fixed.calls, 2) << "round robin over the file's and the registered instance";
  EXPECT_EQ(r1.calls, 2);

  std::atomic<bool> done{false};
  std::atomic<int> calls{0}, served{0};
  std::vector<std::thread> clients;
  JoinAll join_all{done, clients};
  for (int t = 0; t < 2; ++t)
    clients.emplace_back([&, t] {
      while (!done) {
        auto r = call(bj_, t == 0 ? "POST" : "GET", "/soa/v1/legacy/x", {}, "b");
        ++calls;
        served += r.status == 200 ? 1 : 0;
      }
    });
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(proxy.add_registered(reg(r2, "bj")).is_ok());
    if (i % 3 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_TRUE(proxy.remove_registered(reg(r2, "bj")));
  }
  ASSERT_TRUE(eventually([&] { return calls >= 300; }));
  done = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(served, calls) << "every call was served";
  EXPECT_GT(r2.calls, 0) << "the churning instance was called while it was there";
  EXPECT_FALSE(proxy.remove_registered(reg(r2, "bj"))) << "gone already";
  EXPECT_FALSE(proxy.remove_registered(reg(fixed, "bj"))) << "the file's instance cannot be deregistered";
  EXPECT_EQ(bj_.up("legacy", "bj"), 2);

  // A full read replaces the registered set and leaves the file's alone.
  EXPECT_EQ(proxy.set_registered({reg(r2, "bj"), reg(r2, "gz")}), 1u) << "the unknown ezone is refused";
  status = bj_.status()["services"][0]["instances"];
  ASSERT_EQ(status.size(), 2u) << status.dump();
  EXPECT_EQ(status[0]["address"], fixed.address());
  EXPECT_EQ(status[1]["address"], r2.address());
  EXPECT_EQ(bj_.up("legacy", "bj"), 2);
  EXPECT_EQ(bj_.up("legacy", "sh"), 0);
  EXPECT_EQ(proxy.set_registered({}), 0u);
  EXPECT_EQ(bj_.up("legacy", "bj"), 1);
  EXPECT_EQ(bj_.status()["services"][0]["instances"].size(), 1u);
}

// A registered instance that is down when it registers is taken out by
// its first probe, without waiting for the next round of probes.
TEST_F(SoaProxyTest, ARegisteredInstanceIsProbedAtOnce) {
  Instance fixed("bj-file"), sick("bj-sick");
  sick.healthy = false;
  SoaSettings settings;
  settings.probe_interval_ms = 60000;
  settings.down_after = 1;
  start({service("legacy", SoaMode::orig, {fixed.address()}, {})}, settings);
  ASSERT_TRUE(bj_.proxy->add_registered({"legacy", "bj", address_of(sick.address())}).is_ok());
  ASSERT_TRUE(eventually([&] { return bj_.up("legacy", "bj") == 1; }, std::chrono::seconds(5)));
  EXPECT_EQ(bj_.status()["services"][0]["instances"][1]["up"], false);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(body_of(call(bj_, "GET", "/soa/v1/legacy/x"))["instance"], "bj-file");
}

TEST_F(SoaProxyTest, AStoppedProxyAnswers503) {
  Instance bj1("bj-1");
  start({service("legacy", SoaMode::orig, {bj1.address()}, {})});
  bj_.proxy->stop();
  auto r = call(bj_, "GET", "/soa/v1/legacy/x");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(bj1.calls, 0);
}

}  // namespace
}  // namespace ezone
