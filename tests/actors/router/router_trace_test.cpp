// W3C trace context through the API router (router.hpp, "Tracing"): each
// router is one span of a traced request, passes its span on as the parent,
// and reports sampled spans tagged with its ezone; a malformed traceparent
// is dropped and counted, never a failed request.
#include "tests/actors/router/router_fixture.hpp"

#include "core/trace_context.hpp"

namespace ezone::router_test {
namespace {

constexpr const char* kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kClientSpan = "00f067aa0ba902b7";

std::string traceparent(const char* flags) { return std::string("00-") + kTrace + "-" + kClientSpan + "-" + flags; }

TEST_F(RouterTest, ATracedRequestIsOneSpanPerRouterEachTheParentOfTheNext) {
  bj_.table.set("merchant=7", "sh");
  sh_.table.set("merchant=7", "sh");
  auto r = order(bj_, "merchant=7", {{"traceparent", traceparent("01")}, {"tracestate", "vendor=opaque"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-ezone"), "sh");
  // Both answered before the client got its answer: both spans are in.
  ASSERT_TRUE(eventually([&] { return bj_.spans_seen().size() == 1 && sh_.spans_seen().size() == 1; }));
  const RouterSpan at_bj = bj_.spans_seen()[0], at_sh = sh_.spans_seen()[0];
  EXPECT_EQ(at_bj.trace_id, kTrace);
  EXPECT_EQ(at_bj.parent_id, kClientSpan);
  EXPECT_EQ(at_bj.ezone, "bj");
  EXPECT_STREQ(at_bj.outcome, "forwarded");
  EXPECT_EQ(at_bj.forwarded_to, "sh");
  EXPECT_EQ(at_bj.name, "POST /v1/orders");
  EXPECT_EQ(at_bj.status, 200);
  EXPECT_EQ(at_sh.trace_id, kTrace);
  EXPECT_EQ(at_sh.parent_id, at_bj.span_id) << "sh's span is a child of bj's";
  EXPECT_EQ(at_sh.ezone, "sh");
  EXPECT_STREQ(at_sh.outcome, "local");
  EXPECT_EQ(at_sh.status, 200);
  EXPECT_NE(at_bj.span_id, at_sh.span_id);
  EXPECT_GE(at_bj.duration_us, at_sh.duration_us) << "bj's span holds sh's";
  // The handler runs as a child of sh's span; tracestate travels untouched.
  auto body = json_of(r);
  EXPECT_EQ(body["traceparent"], std::string("00-") + kTrace + "-" + at_sh.span_id + "-01");
  EXPECT_EQ(body["tracestate"], "vendor=opaque");
  EXPECT_EQ(bj_.bad_traceparents() + sh_.bad_traceparents(), 0u);
}

TEST_F(RouterTest, AnUnsampledTraceIsPassedOnButNotReported) {
  bj_.table.set("merchant=7", "sh");
  sh_.table.set("merchant=7", "sh");
  auto r = order(bj_, "merchant=7", {{"traceparent", traceparent("00")}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto passed = parse_traceparent(json_of(r)["traceparent"].get<std::string>());
  ASSERT_TRUE(passed.ok()) << r.body;
  EXPECT_EQ(passed->trace_id, kTrace);
  EXPECT_NE(passed->parent_id, kClientSpan) << "a router's span stands between the client and the handler";
  EXPECT_FALSE(passed->sampled());
  // Untraced requests stay untraced.
  auto plain = order(bj_, "merchant=7");
  EXPECT_EQ(json_of(plain)["traceparent"], "");
  EXPECT_TRUE(bj_.spans_seen().empty());
  EXPECT_TRUE(sh_.spans_seen().empty());
}

TEST_F(RouterTest, ARejectedTracedRequestIsASpanWithItsReason) {
  auto r = http_call(bj_.ingress->port(), "GET", "/v1/nowhere", {{"traceparent", traceparent("01")}}, "");
  EXPECT_EQ(r.status, 404);
  auto missing = order(bj_, "merchant=404", {{"traceparent", traceparent("01")}});
  EXPECT_EQ(missing.status, 404);
  ASSERT_TRUE(eventually([&] { return bj_.spans_seen().size() == 2; }));
  const auto spans = bj_.spans_seen();
  EXPECT_EQ(spans[0].name, "GET /v1/nowhere");
  EXPECT_STREQ(spans[0].outcome, "rejected");
  EXPECT_STREQ(spans[0].reason, "no_endpoint");
  EXPECT_EQ(spans[0].status, 404);
  EXPECT_STREQ(spans[1].reason, "unknown_key");
}

TEST_F(RouterTest, AMalformedTraceparentIsDroppedAndCountedAndTheRequestServed) {
  bj_.table.set("merchant=3", "bj");
  const RawHeaders bad[] = {
      {{"traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"}, {"tracestate", "vendor=x"}},
      {{"traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}},
      {{"traceparent", "garbage"}},
      {{"traceparent", traceparent("01")}, {"traceparent", traceparent("01")}},  // sent twice
  };
  for (const RawHeaders& headers : bad) {
    auto r = order(bj_, "merchant=3", headers);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json_of(r)["traceparent"], "");
    EXPECT_EQ(json_of(r)["tracestate"], "");
  }
  EXPECT_EQ(bj_.bad_traceparents(), 4u);
  EXPECT_TRUE(bj_.spans_seen().empty());
}

}  // namespace
}  // namespace ezone::router_test
