// W3C traceparent parsing (core/trace_context.hpp), against the
// specification's rules for valid and invalid values.
#include "core/span.hpp"
#include "core/trace_context.hpp"

#include <gtest/gtest.h>

#include <set>

namespace ezone {
namespace {

constexpr const char* kExample = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceContext, ReadsTheSpecificationsExampleAndPassesItOnAsAChild) {
  auto t = parse_traceparent(kExample);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ(t->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(t->parent_id, "00f067aa0ba902b7");
  EXPECT_EQ(t->flags, 0x01);
  EXPECT_TRUE(t->sampled());
  EXPECT_EQ(t->header_for("b7ad6b7169203331"), "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01");
  auto unsampled = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(unsampled.ok());
  EXPECT_FALSE(unsampled->sampled());
  // Flags other than sampled travel on unchanged.
  auto other = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-fe");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->sampled());
  EXPECT_EQ(other->header_for("0000000000000001").substr(52), "-fe");
}

TEST(TraceContext, ALaterVersionIsReadByItsVersion00Fields) {
  auto t = parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be");
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ(t->parent_id, "00f067aa0ba902b7");
  EXPECT_EQ(t->header_for("00f067aa0ba902b8").substr(0, 3), "00-") << "passed on as the version this hop speaks";
  EXPECT_TRUE(parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").ok());
}

TEST(TraceContext, InvalidValuesAreParseErrors) {
  for (const char* bad : {
           "",
           "00",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",            // short
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",          // 00 with more
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",          // 00 with more
           "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",          // later, no '-'
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",           // version ff
           "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",           // version not hex
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",           // uppercase
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",           // uppercase
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",           // zero trace
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",           // zero parent
           "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",           // separators
           "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",           // shifted field
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0z",           // flags
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n"}) {
    SCOPED_TRACE(bad);
    auto t = parse_traceparent(bad);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), Errc::parse_error);
    EXPECT_EQ(t.status().message().rfind("traceparent: ", 0), 0u) << t.status().message();
  }
}

TEST(TraceContext, SpanIdsAreSixteenLowercaseHexDigitsAndDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = new_span_id();
    ASSERT_EQ(id.size(), 16u);
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    ASSERT_NE(id, "0000000000000000");
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Span, AChildSpanContinuesTheTraceUnderTheCallersSpan) {
  auto parent = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(parent.ok());
  const int64_t before = unix_ns_now();
  Span s = child_span(*parent, "dal.tx", SpanKind::internal, "ezone.dal", "bj");
  EXPECT_EQ(s.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(s.parent_id, "00f067aa0ba902b7");
  EXPECT_EQ(s.span_id.size(), 16u);
  EXPECT_NE(s.span_id, s.parent_id);
  EXPECT_EQ(s.name, "dal.tx");
  EXPECT_STREQ(s.scope, "ezone.dal");
  EXPECT_EQ(s.ezone, "bj");
  EXPECT_GE(s.start_unix_ns, before);
  EXPECT_LE(s.start_unix_ns, unix_ns_now());
  s.set("rows", int64_t{-3});
  s.set("refusal", "wrong_zone");
  EXPECT_EQ(s.attribute("rows"), "-3");
  EXPECT_EQ(s.attribute("refusal"), "wrong_zone");
  EXPECT_EQ(s.attribute("absent"), "");
  s.end_unix_ns = s.start_unix_ns + 2'500'000;
  EXPECT_EQ(s.duration_us(), 2500);
  EXPECT_STREQ(span_kind_name(SpanKind::client), "client");
  EXPECT_EQ(static_cast<int>(SpanKind::server), 2) << "OTLP's numbering";
}

}  // namespace
}  // namespace ezone
