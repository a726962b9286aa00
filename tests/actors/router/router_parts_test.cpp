// The router's pure parts: endpoint patterns, key extractors, the route
// trail (loop guard and stale rule), and histogram rendering.
#include <gtest/gtest.h>

#include "actors/router/endpoint.hpp"
#include "actors/router/key_extractor.hpp"
#include "actors/router/route_trail.hpp"
#include "core/metrics.hpp"

namespace ezone {
namespace {

AsyncHttpHandler ok_handler() {
  return make_async_handler([](const HttpRequest&) { return HttpResponse::text(200, "ok"); });
}

Endpoint endpoint(std::string method, std::string pattern) {
  Endpoint e;
  e.method = std::move(method);
  e.pattern = std::move(pattern);
  e.handler = ok_handler();
  return e;
}

HttpRequest request_with(std::vector<std::pair<std::string, std::string>> headers, std::string body = "") {
  return HttpRequest{"POST", "/", std::move(headers), std::move(body)};
}

TEST(EndpointRegistry, MatchesLiteralsAndParameters) {
  auto r = EndpointRegistry::create({endpoint("POST", "/v1/orders/{id}/accept"), endpoint("GET", "/v1/orders/{id}"),
                                     endpoint("GET", "/")});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  auto m = r->match("POST", "/v1/orders/42/accept");
  ASSERT_NE(m.endpoint, nullptr);
  EXPECT_EQ(m.endpoint->pattern, "/v1/orders/{id}/accept");
  ASSERT_NE(find_path_param(m.params, "id"), nullptr);
  EXPECT_EQ(*find_path_param(m.params, "id"), "42");
  EXPECT_NE(r->match("GET", "/").endpoint, nullptr);
  EXPECT_EQ(r->match("GET", "/v1/orders//").endpoint, nullptr);
  EXPECT_EQ(r->match("GET", "/v1/orders/").endpoint, nullptr);  // empty parameter
  EXPECT_EQ(r->match("GET", "/v1/orders/1/accept/x").endpoint, nullptr);
  auto wrong_method = r->match("DELETE", "/v1/orders/1");
  EXPECT_EQ(wrong_method.endpoint, nullptr);
  EXPECT_TRUE(wrong_method.other_method);
}

TEST(EndpointRegistry, ARestParameterTakesTheRestOfThePath) {
  auto r = EndpointRegistry::create({endpoint("GET", "/soa/v1/pricing/{rest...}"), endpoint("GET", "/soa/v1/{x}")});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const std::pair<const char*, const char*> cases[] = {
      {"/soa/v1/pricing", ""}, {"/soa/v1/pricing/", ""}, {"/soa/v1/pricing/a", "a"}, {"/soa/v1/pricing/a/b/", "a/b/"}};
  for (const auto& [path, rest] : cases) {
    auto m = r->match("GET", path);
    ASSERT_NE(m.endpoint, nullptr) << path;
    EXPECT_EQ(m.endpoint->pattern, "/soa/v1/pricing/{rest...}") << path;
    ASSERT_NE(find_path_param(m.params, "rest"), nullptr) << path;
    EXPECT_EQ(*find_path_param(m.params, "rest"), rest) << path;
  }
  // Not a prefix of a longer segment; the next endpoint gets it.
  auto other = r->match("GET", "/soa/v1/pricingx");
  ASSERT_NE(other.endpoint, nullptr);
  EXPECT_EQ(other.endpoint->pattern, "/soa/v1/{x}");
  EXPECT_EQ(r->match("GET", "/soa/v1").endpoint, nullptr);
  EXPECT_TRUE(r->match("POST", "/soa/v1/pricing/a").other_method);
  auto not_last = EndpointRegistry::create({endpoint("GET", "/a/{rest...}/b")});
  ASSERT_FALSE(not_last.ok());
  EXPECT_NE(not_last.status().message().find("must be the last segment"), std::string::npos);
  EXPECT_FALSE(EndpointRegistry::create({endpoint("GET", "/a/{...}")}).ok());
}

TEST(EndpointRegistry, RejectsBadPatternsWithTheirName) {
  EXPECT_FALSE(EndpointRegistry::create({endpoint("GET", "v1/x")}).ok());
  EXPECT_FALSE(EndpointRegistry::create({endpoint("GET", "/v1/x{id}")}).ok());
  EXPECT_FALSE(EndpointRegistry::create({endpoint("GET", "/v1/{Id}")}).ok());
  EXPECT_FALSE(EndpointRegistry::create({endpoint("GET", "/{a}/{a}")}).ok());
  EXPECT_FALSE(EndpointRegistry::create({endpoint("", "/x")}).ok());
  Endpoint no_handler = endpoint("GET", "/x");
  no_handler.handler = nullptr;
  EXPECT_FALSE(EndpointRegistry::create({no_handler}).ok());
  auto dup = EndpointRegistry::create({endpoint("GET", "/o/{id}"), endpoint("GET", "/o/{other}")});
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("GET /o/{other}"), std::string::npos) << dup.status().to_string();
}

TEST(KeyExtractor, HeaderKeys) {
  auto extract = key_from_header();
  auto geo = extract(request_with({{"x-ezone-key", "geo=31.23,121.47"}}), {});
  ASSERT_TRUE(geo.ok());
  EXPECT_EQ(geo->kind, ShardingKey::Kind::geo);
  EXPECT_EQ(extract(request_with({}), {}).status().code(), Errc::not_found);
  auto bad = extract(request_with({{"x-ezone-key", "geo=31.23"}}), {});
  EXPECT_EQ(bad.status().code(), Errc::invalid_argument);
  EXPECT_NE(bad.status().message().find("X-Ezone-Key"), std::string::npos);
}

TEST(KeyExtractor, BodyKeys) {
  auto geo = key_from_body_geo();
  auto p = geo(request_with({}, R"({"lat": -33.5, "lon": 151})"), {});
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_DOUBLE_EQ(p->point.lat, -33.5);
  EXPECT_EQ(geo(request_with({}, R"({"lat": "1", "lon": 2})"), {}).status().code(), Errc::invalid_argument);
  EXPECT_EQ(geo(request_with({}, R"({"lon": 2})"), {}).status().code(), Errc::not_found);
  EXPECT_EQ(geo(request_with({}, R"([1,2])"), {}).status().code(), Errc::invalid_argument);
  EXPECT_EQ(geo(request_with({}, R"({"lat": 1, "lon": 181})"), {}).status().code(), Errc::invalid_argument);

  auto id = key_from_body_id("merchant_id", ShardingKey::Kind::merchant);
  EXPECT_EQ(id(request_with({}, R"({"merchant_id": 8812})"), {})->id, 8812u);
  EXPECT_EQ(id(request_with({}, R"({"merchant_id": "18446744073709551615"})"), {})->id, 18446744073709551615ull);
  EXPECT_EQ(id(request_with({}, R"({"merchant_id": -1})"), {}).status().code(), Errc::invalid_argument);
  EXPECT_EQ(id(request_with({}, R"({"merchant_id": 1.5})"), {}).status().code(), Errc::invalid_argument);
}

TEST(KeyExtractor, FirstKeyOfStopsAtAMalformedKey) {
  auto extract = first_key_of({key_from_header(), key_from_body_id("merchant_id", ShardingKey::Kind::merchant)});
  EXPECT_EQ(extract(request_with({}, R"({"merchant_id": 5})"), {})->id, 5u);
  EXPECT_EQ(extract(request_with({{"x-ezone-key", "merchant=x"}}, R"({"merchant_id": 5})"), {}).status().code(),
            Errc::invalid_argument);
  auto none = extract(request_with({}, "{}"), {});
  EXPECT_EQ(none.status().code(), Errc::not_found);
  EXPECT_NE(none.status().message().find("X-Ezone-Key"), std::string::npos);
  EXPECT_NE(none.status().message().find("merchant_id"), std::string::npos);
}

TEST(RouteTrail, ParsesStampsAndDetectsLoops) {
  auto fresh = parse_route_trail(request_with({}));
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->hops, 0);
  EXPECT_TRUE(fresh->via.empty());

  HttpRequest r = request_with({});
  stamp_forward(r, *fresh, "bj", 7, "");
  auto once = parse_route_trail(r);
  ASSERT_TRUE(once.ok());
  EXPECT_EQ(once->hops, 1);
  EXPECT_EQ(once->sender_epoch, 7);
  stamp_forward(r, *once, "sh", 8, "");
  EXPECT_EQ(r.header("x-ezone-via"), "bj@7,sh@8");
  EXPECT_EQ(r.header("x-ezone-hops"), "2");
  auto twice = parse_route_trail(r);
  ASSERT_TRUE(twice.ok());
  // bj routed it at 7: with the same table it is a loop; with a newer one it is not.
  EXPECT_TRUE(is_routing_loop(*twice, "bj", 7));
  EXPECT_FALSE(is_routing_loop(*twice, "bj", 8));
  EXPECT_FALSE(is_routing_loop(*twice, "cd", 1));
}

TEST(RouteTrail, OnlyAPeerWithTheTokenIsTrustedWithItsEpoch) {
  const std::string token = "0123456789abcdef-peer";
  RouteTrail from_bj;
  HttpRequest forwarded = request_with({});
  stamp_forward(forwarded, from_bj, "bj", 7, token);
  EXPECT_EQ(forwarded.header(kPeerTokenHeader), token);
  auto trail = parse_route_trail(forwarded);
  ASSERT_TRUE(trail.ok());
  EXPECT_FALSE(apply_peer_token(forwarded, token, &*trail));
  EXPECT_TRUE(trail->from_peer);
  EXPECT_EQ(trail->sender_epoch, 7);
  EXPECT_EQ(forwarded.find_header(kPeerTokenHeader), nullptr) << "the token must not reach a handler";

  // A client's claims: a future epoch and a Via, with no token, a wrong
  // one, or the right one's prefix.
  for (const char* sent : {"", "0123456789abcdef-pee", "0123456789abcdef-peeX", "0123456789abcdef-peer2"}) {
    std::vector<std::pair<std::string, std::string>> headers{{"x-ezone-epoch", "99"}, {"x-ezone-via", "sh@99"}};
    if (*sent) headers.emplace_back(kPeerTokenHeader, sent);
    HttpRequest forged = request_with(headers);
    auto claimed = parse_route_trail(forged);
    ASSERT_TRUE(claimed.ok());
    EXPECT_TRUE(apply_peer_token(forged, token, &*claimed)) << sent;
    EXPECT_FALSE(claimed->from_peer) << sent;
    EXPECT_EQ(claimed->sender_epoch, 0) << sent;
    ASSERT_EQ(claimed->via.size(), 1u) << "Via still guards against loops";
    EXPECT_EQ(forged.find_header(kPeerTokenHeader), nullptr);
  }
  // A client that claims nothing is not counted.
  HttpRequest plain = request_with({});
  RouteTrail none;
  EXPECT_FALSE(apply_peer_token(plain, token, &none));
  EXPECT_FALSE(none.from_peer);

  // No token configured: every trail is trusted, and a client's token
  // header is still dropped rather than passed on.
  HttpRequest open = request_with({{"x-ezone-epoch", "99"}, {kPeerTokenHeader, "whatever"}});
  auto open_trail = parse_route_trail(open);
  ASSERT_TRUE(open_trail.ok());
  EXPECT_FALSE(apply_peer_token(open, SharedToken(), &*open_trail));
  EXPECT_TRUE(open_trail->from_peer);
  EXPECT_EQ(open_trail->sender_epoch, 99);
  EXPECT_EQ(open.find_header(kPeerTokenHeader), nullptr);

  EXPECT_TRUE(check_token(token, "peer token").is_ok());
  EXPECT_FALSE(check_token("short", "peer token").is_ok());
  EXPECT_FALSE(check_token("0123456789abcdef with space", "peer token").is_ok());
  EXPECT_FALSE(check_token(std::string(kTokenBytesMax + 1, 'a'), "peer token").is_ok());

  // During a rotation a router accepts the old token and the new one, and
  // forwards with the first of its file.
  auto rotating = SharedToken::parse(token + "\n0123456789abcdef-next\n", "peer token");
  ASSERT_TRUE(rotating.ok()) << rotating.status().to_string();
  for (const std::string& sent : {token, std::string("0123456789abcdef-next")}) {
    HttpRequest from_peer = request_with({{"x-ezone-epoch", "8"}, {kPeerTokenHeader, sent}});
    auto t = parse_route_trail(from_peer);
    ASSERT_TRUE(t.ok());
    EXPECT_FALSE(apply_peer_token(from_peer, *rotating, &*t)) << sent;
    EXPECT_TRUE(t->from_peer) << sent;
    EXPECT_EQ(t->sender_epoch, 8) << sent;
  }
  HttpRequest stale = request_with({{"x-ezone-epoch", "8"}, {kPeerTokenHeader, "0123456789abcdef-gone"}});
  auto t = parse_route_trail(stale);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(apply_peer_token(stale, *rotating, &*t));
  EXPECT_FALSE(t->from_peer);
}

TEST(RouteTrail, RejectsMalformedHeaders) {
  EXPECT_FALSE(parse_route_trail(request_with({{"x-ezone-hops", "-1"}})).ok());
  EXPECT_FALSE(parse_route_trail(request_with({{"x-ezone-hops", "1e3"}})).ok());
  EXPECT_FALSE(parse_route_trail(request_with({{"x-ezone-epoch", "soon"}})).ok());
  EXPECT_FALSE(parse_route_trail(request_with({{"x-ezone-via", "bj"}})).ok());
  EXPECT_FALSE(parse_route_trail(request_with({{"x-ezone-via", "@5"}})).ok());
  std::string many;
  for (int i = 0; i < 40; ++i) many += "z@1,";
  EXPECT_FALSE(parse_route_trail(request_with({{"x-ezone-via", many}})).ok());
}

TEST(Histogram, RendersCumulativeBuckets) {
  Metrics m("bj");
  Histogram& h = m.histogram("ezone_test_seconds", "A test histogram", {{"k", "v"}}, {0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(3);
  std::string text = m.render();
  EXPECT_NE(text.find("# TYPE ezone_test_seconds histogram\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ezone_test_seconds_bucket{ezone=\"bj\",k=\"v\",le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ezone_test_seconds_bucket{ezone=\"bj\",k=\"v\",le=\"1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ezone_test_seconds_bucket{ezone=\"bj\",k=\"v\",le=\"+Inf\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ezone_test_seconds_count{ezone=\"bj\",k=\"v\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ezone_test_seconds_sum{ezone=\"bj\",k=\"v\"} 3.55\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace ezone
