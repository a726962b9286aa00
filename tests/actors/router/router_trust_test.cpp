// Trust in route trails (route_trail.hpp, "Trust"): with a peer token, a
// client's X-Ezone-Epoch and Via never make a router hold; forwards carry
// the token and handlers never see it; sites with different tokens still
// route, and nothing loops.
#include "tests/actors/router/router_fixture.hpp"

namespace ezone::router_test {
namespace {

TEST_F(RouterTest, AClientCannotMakeARouterHoldByClaimingAnEpochOrAVia) {
  bj_.table.set("merchant=3", "bj", 5);
  // A future epoch from a client: not held (that would take a slot of
  // holds_max for up to hold_ms), served with bj's own table at once.
  for (const char* token : {"", "test-peer-token-012345678X"}) {
    RawHeaders forged{{"X-Ezone-Epoch", "99"}};
    if (*token) forged.emplace_back("X-Ezone-Peer", token);
    auto r = order(bj_, "merchant=3", forged);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-ezone"), "bj");
    EXPECT_EQ(json_of(r)["peer_token_seen"], false);
  }
  EXPECT_EQ(bj_.untrusted(), 2u);
  EXPECT_EQ(bj_.holds("released") + bj_.holds("expired"), 0u);
  // A Via from a client does not make an unknown key wait for the merchant
  // map to catch up: 404 at once.
  auto started = Steady::now();
  auto unknown = order(bj_, "merchant=404", {{"X-Ezone-Via", "sh@5"}, {"X-Ezone-Hops", "1"}});
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_LT(ms_since(started), 390);
  EXPECT_EQ(bj_.untrusted(), 3u);
  EXPECT_EQ(bj_.holds("expired"), 0u);
  // Via still guards against loops: bj in it at its own epoch is a 508.
  auto looped = order(bj_, "merchant=3", {{"X-Ezone-Via", "bj@5"}, {"X-Ezone-Hops", "1"}});
  EXPECT_EQ(looped.status, 508) << looped.body;
  // A plain request claims nothing and is not counted.
  EXPECT_EQ(order(bj_, "merchant=3").status, 200);
  EXPECT_EQ(bj_.untrusted(), 4u);
}

TEST_F(RouterTest, ForwardsCarryThePeerTokenButHandlersNeverSeeIt) {
  bj_.table.set("merchant=7", "sh");
  sh_.table.set("merchant=7", "sh");
  auto r = order(bj_, "merchant=7", {{"X-Ezone-Peer", kPeerToken}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-ezone"), "sh");
  EXPECT_EQ(json_of(r)["peer_token_seen"], false);
  EXPECT_EQ(sh_.untrusted(), 0u);
  EXPECT_EQ(bj_.untrusted(), 0u);
}

TEST_F(RouterTest, WithoutAPeerTokenAClientsEpochIsTrusted) {
  // The behaviour before peer tokens, kept for a cluster that configures
  // none (an edge proxy strips the headers): a client's epoch is held.
  restart_bj("");
  bj_.table.set("merchant=3", "bj", 5);
  auto answer = std::async(std::launch::async, [&] { return order(bj_, "merchant=3", {{"X-Ezone-Epoch", "6"}}); });
  ASSERT_TRUE(eventually([&] { return bj_.held() == 1; }));
  bj_.table.set("merchant=3", "bj", 6);
  auto r = answer.get();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(bj_.untrusted(), 0u);
  EXPECT_EQ(bj_.holds("released"), 1u);
}

TEST_F(RouterTest, APeerWithoutTheTokenIsRoutedAsAClientAndNothingLoops) {
  // bj forwards without a token to sh, which has one: sh does not trust
  // bj's epoch, routes with its own newer table back to bj (with its
  // token, which bj, configured with none, trusts), and bj holds until it
  // catches up, as in the cluster where both have the token.
  restart_bj("");
  bj_.table.set("merchant=3", "sh", 5);
  sh_.table.set("merchant=3", "bj", 6);
  auto answer = std::async(std::launch::async, [&] { return order(bj_, "merchant=3"); });
  ASSERT_TRUE(eventually([&] { return bj_.held() == 1; }));
  bj_.table.set("merchant=3", "bj", 6);
  auto r = answer.get();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_of(r)["via"], "bj@5,sh@6");
  EXPECT_EQ(sh_.untrusted(), 1u);
  // The other way round a stale sh is not held for bj's claim: the
  // request bounces back to bj, which finds itself in Via at its epoch.
  bj_.table.set("merchant=8", "sh", 6);
  sh_.table.set("merchant=8", "bj", 5);
  auto bounced = order(bj_, "merchant=8");
  EXPECT_EQ(bounced.status, 508) << bounced.body;
  EXPECT_EQ(json_of(bounced)["reason"], "loop");
}

}  // namespace
}  // namespace ezone::router_test

namespace ezone::router_test {
namespace {

uint64_t client_answers(Site& s, const char* klass) {
  return s.metrics->counter("ezone_router_client_answers_total", "", {{"class", klass}}).value();
}

// What a router answered its clients is the entrance's health as clients
// see it (zones/incident_grade.hpp grades it): counted where the client
// entered, never again at the router a request was forwarded to, so a
// cluster's figures add up to what its clients saw.
TEST_F(RouterTest, EachClientAnswerIsCountedByClassOnceWhereTheClientEntered) {
  bj_.table.set("merchant=7", "sh");
  sh_.table.set("merchant=7", "sh");
  bj_.table.set("merchant=8", "bj", 5, /*write_forbidden=*/true);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(order(bj_, "merchant=7").status, 200);  // forwarded to sh
  ASSERT_EQ(order(sh_, "merchant=7").status, 200);                              // local at sh
  EXPECT_EQ(http_call(bj_.ingress->port(), "GET", "/nowhere").status, 404);
  EXPECT_EQ(order(bj_, "merchant=8").status, 503);  // held, then 503
  EXPECT_TRUE(eventually([&] { return client_answers(bj_, "1xx-3xx") == 3; }));
  EXPECT_EQ(client_answers(bj_, "4xx"), 1u);
  EXPECT_EQ(client_answers(bj_, "5xx"), 1u);
  EXPECT_EQ(client_answers(sh_, "1xx-3xx"), 1u) << "the three bj forwarded are bj's clients', not sh's";
  // A client claiming hops without the peer token is still a client.
  EXPECT_EQ(order(sh_, "merchant=7", {{"X-Ezone-Hops", "1"}}).status, 200);
  EXPECT_TRUE(eventually([&] { return client_answers(sh_, "1xx-3xx") == 2; }));

  const Router::Answers recent = bj_.ingress->router().answers_recently(300'000);
  EXPECT_EQ(recent.answers, 5u);
  EXPECT_EQ(recent.failures, 1u);
  EXPECT_GE(recent.span_ms, 0);
}

TEST_F(RouterTest, InternalEndpointsNeedTheServiceTokenWhichForwardsKeepAndHandlersNeverSee) {
  const std::string token = "test-service-token-abcdef012";
  restart_with_service_token(token);
  bj_.table.set("merchant=5", "sh");
  sh_.table.set("merchant=5", "sh");

  auto none = http_call(bj_.ingress->port(), "GET", "/internal/ping", {}, "");
  EXPECT_EQ(none.status, 401) << none.body;
  EXPECT_NE(none.body.find("X-Ezone-Service-Token"), std::string::npos) << none.body;
  auto wrong = http_call(bj_.ingress->port(), "GET", "/internal/ping", {{"X-Ezone-Service-Token", token + "x"}}, "");
  EXPECT_EQ(wrong.status, 401) << wrong.body;
  EXPECT_NE(wrong.body.find("not this cluster's"), std::string::npos) << wrong.body;
  // Refused before the key is even read: nothing is forwarded for it.
  auto remote = http_call(bj_.ingress->port(), "POST", "/internal/tx", {{"X-Ezone-Key", "merchant=5"}}, "{}");
  EXPECT_EQ(remote.status, 401) << remote.body;
  EXPECT_EQ(bj_.rejections("internal", "unauthorized"), 3u);
  EXPECT_EQ(sh_.requests("internal", "local"), 0u);

  auto ping = http_call(bj_.ingress->port(), "GET", "/internal/ping", {{"X-Ezone-Service-Token", token}}, "");
  EXPECT_EQ(ping.status, 200) << ping.body;
  EXPECT_EQ(json_of(ping)["service_token_seen"], false);
  // Forwarded to the owner with the token, which checks it again.
  auto forwarded = http_call(bj_.ingress->port(), "POST", "/internal/tx",
                             {{"X-Ezone-Key", "merchant=5"}, {"X-Ezone-Service-Token", token}}, "{}");
  EXPECT_EQ(forwarded.status, 200) << forwarded.body;
  EXPECT_EQ(forwarded.header("x-ezone"), "sh");
  EXPECT_EQ(json_of(forwarded)["service_token_seen"], false);
  EXPECT_EQ(sh_.rejections("internal", "unauthorized"), 0u);
  // The clients' endpoints do not ask for it.
  EXPECT_EQ(order(bj_, "merchant=5").status, 200);
}

}  // namespace
}  // namespace ezone::router_test
