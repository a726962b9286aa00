// The SOA proxy's spans (soa_proxy.hpp, "Tracing") through two real
// routers: a CLIENT span per attempt under the router's span, and the
// traceparent each instance gets.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "tests/actors/soa/soa_proxy_fixture.hpp"

namespace ezone {
namespace {

using namespace soa_test;  // NOLINT: the fixture's helpers
using test::Instance;

// A sampled call is a CLIENT span per attempt, under the router's span,
// and the instance that answers gets its attempt's span as the parent. An
// unsampled call passes the router's traceparent on and reports nothing.
TEST_F(SoaProxyTest, ATracedCallIsOneClientSpanPerAttemptUnderTheRoutersSpan) {
  Instance live("bj-live");
  const std::string dead = dead_address();
  start({service("legacy", SoaMode::orig, {dead, live.address()}, {})});
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  auto r = call(bj_, "GET", "/soa/v1/legacy/balance", {{"traceparent", "00-" + trace + "-00f067aa0ba902b7-01"}});
  ASSERT_EQ(r.status, 200) << r.body;
  std::vector<Span> soa, router;
  ASSERT_TRUE(test::eventually([&] {
    soa.clear(), router.clear();
    for (const Span& s : bj_.spans_seen()) (std::string(s.scope) == "ezone.soa" ? soa : router).push_back(s);
    return router.size() == 1 && soa.size() == 2;
  })) << bj_.spans_seen().size();
  const std::string& router_id = router[0].span_id;
  EXPECT_EQ(router[0].parent_id, "00f067aa0ba902b7");
  // The first attempt went to the refusing instance, the second answered.
  EXPECT_EQ(soa[0].attribute("soa.instance"), dead);
  EXPECT_EQ(soa[0].attribute("soa.attempt"), "1");
  EXPECT_EQ(soa[0].attribute("ezone.forward_error"), "connect_error");
  EXPECT_EQ(soa[0].error.rfind("connect_error: ", 0), 0u) << soa[0].error;
  EXPECT_EQ(soa[0].attribute("http.response.status_code"), "");
  EXPECT_EQ(soa[1].attribute("soa.instance"), live.address());
  EXPECT_EQ(soa[1].attribute("soa.attempt"), "2");
  EXPECT_EQ(soa[1].attribute("http.response.status_code"), "200");
  EXPECT_TRUE(soa[1].error.empty()) << soa[1].error;
  for (const Span& s : soa) {
    EXPECT_EQ(s.trace_id, trace);
    EXPECT_EQ(s.parent_id, router_id) << "under the router's span";
    EXPECT_EQ(s.kind, SpanKind::client);
    EXPECT_EQ(s.name, "GET soa/legacy");
    EXPECT_EQ(s.ezone, "bj");
    EXPECT_EQ(s.attribute("soa.service"), "legacy");
    EXPECT_EQ(s.attribute("soa.instance_ezone"), "bj");
    EXPECT_LE(s.start_unix_ns, s.end_unix_ns);
  }
  EXPECT_NE(soa[0].span_id, soa[1].span_id);
  EXPECT_EQ(body_of(r)["traceparent"], "00-" + trace + "-" + soa[1].span_id + "-01")
      << "the instance's parent is the attempt that reached it";
  // Unsampled: the instance gets the router's span as the parent, and no
  // span is reported.
  const size_t before = bj_.spans_seen().size();
  auto quiet = call(bj_, "GET", "/soa/v1/legacy/balance", {{"traceparent", "00-" + trace + "-00f067aa0ba902b7-00"}});
  ASSERT_EQ(quiet.status, 200) << quiet.body;
  const std::string passed = body_of(quiet)["traceparent"];
  EXPECT_EQ(passed.substr(0, 36), "00-" + trace + "-");
  EXPECT_NE(passed.substr(36, 16), "00f067aa0ba902b7") << "the router's own span, not the client's";
  EXPECT_EQ(passed.substr(52), "-00");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(bj_.spans_seen().size(), before);
}

}  // namespace
}  // namespace ezone
