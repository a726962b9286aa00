// A traced transaction's span (dal::TxTarget::trace): one dal.tx span per
// sampled request, under the caller's span, with the time it waited, ran
// and committed, and what it wrote or why it was refused; none for an
// unsampled or untraced one.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <vector>

#include "tests/storage/dal/dal_fixture.hpp"

namespace ezone::test {
namespace {

constexpr const char* kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kCaller = "00f067aa0ba902b7";

TraceContext trace(uint8_t flags = 0x01) {
  auto t = parse_traceparent(std::string("00-") + kTrace + "-" + kCaller + (flags ? "-01" : "-00"));
  EXPECT_TRUE(t.ok());
  return t.value();
}

struct Spans {
  std::mutex mutex;
  std::vector<Span> seen;
  SpanSink sink() {
    return [this](const Span& s) {
      std::lock_guard<std::mutex> lock(mutex);
      seen.push_back(s);
    };
  }
  std::vector<Span> all() {
    std::lock_guard<std::mutex> lock(mutex);
    return seen;
  }
};

dal::TxFn insert(int64_t id, int64_t shard) {
  return [id, shard](dal::Tx& tx) {
    return tx.exec("INSERT INTO orders(id, shard, state) VALUES(?1, ?2, 'created')", {id, shard}).status();
  };
}

class DalTraceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bj_.configure = [this](dal::DalConfig& c) { c.on_span = spans_.sink(); };
    bj_.open();
  }
  Spans spans_;
  Site bj_{"bj"};
};

TEST_F(DalTraceTest, ASampledTransactionIsOneSpanUnderItsCaller) {
  auto out = bj_.dal().run({11, bj_.epoch(), trace()}, insert(1, 11));
  ASSERT_TRUE(out.ok()) << out.status.to_string();
  auto spans = spans_.all();
  ASSERT_EQ(spans.size(), 1u);
  const Span& s = spans[0];
  EXPECT_EQ(s.trace_id, kTrace);
  EXPECT_EQ(s.parent_id, kCaller);
  EXPECT_EQ(s.span_id.size(), 16u);
  EXPECT_NE(s.span_id, kCaller);
  EXPECT_EQ(s.name, "dal.tx");
  EXPECT_EQ(s.kind, SpanKind::internal);
  EXPECT_STREQ(s.scope, "ezone.dal");
  EXPECT_EQ(s.ezone, "bj");
  EXPECT_TRUE(s.error.empty()) << s.error;
  EXPECT_LE(s.start_unix_ns, s.end_unix_ns);
  EXPECT_EQ(s.attribute("ezone.shard"), "11");
  EXPECT_EQ(s.attribute("ezone.epoch"), std::to_string(bj_.epoch()));
  EXPECT_EQ(s.attribute("ezone.dal.rows"), "1");
  EXPECT_EQ(s.attribute("ezone.dal.outbox_seq"), std::to_string(out.outbox_seq));
  EXPECT_EQ(s.attribute("ezone.dal.group_size"), "1");
  EXPECT_EQ(s.attribute("ezone.dal.refusal"), "");
  // The parts of its time are there, and fit in the whole.
  for (const char* part : {"ezone.dal.queued_us", "ezone.dal.run_us", "ezone.dal.commit_us"})
    ASSERT_NE(s.attribute(part), "") << part;
  const int64_t parts = std::stoll(s.attribute("ezone.dal.queued_us")) + std::stoll(s.attribute("ezone.dal.run_us")) +
                        std::stoll(s.attribute("ezone.dal.commit_us"));
  EXPECT_LE(parts, s.duration_us()) << "queued + run + commit within the span";
}

TEST_F(DalTraceTest, UnsampledAndUntracedTransactionsMakeNoSpan) {
  ASSERT_TRUE(bj_.dal().run({11, bj_.epoch(), trace(0x00)}, insert(1, 11)).ok());
  ASSERT_TRUE(bj_.dal().run({11, bj_.epoch()}, insert(2, 11)).ok());
  EXPECT_TRUE(spans_.all().empty());
}

TEST_F(DalTraceTest, ARefusedOrFailedTransactionIsAnErrorSpanNamingWhy) {
  // Shard 31 is sh's: refused by the DAL rule.
  auto refused = bj_.dal().run({31, bj_.epoch(), trace()}, insert(1, 31));
  ASSERT_EQ(refused.refusal, dal::Refusal::wrong_zone);
  // A handler error rolls it back.
  auto failed = bj_.dal().run({11, bj_.epoch(), trace()}, [](dal::Tx&) {
    return Status(Errc::conflict, "order 7 was accepted already");
  });
  ASSERT_FALSE(failed.ok());
  auto spans = spans_.all();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].attribute("ezone.dal.refusal"), "wrong_zone");
  EXPECT_EQ(spans[0].error, refused.status.message());
  EXPECT_EQ(spans[0].attribute("ezone.dal.rows"), "");
  EXPECT_EQ(spans[1].attribute("ezone.dal.refusal"), "");
  EXPECT_EQ(spans[1].error, "order 7 was accepted already");
}

TEST_F(DalTraceTest, RequestsOfOneGroupEachGetTheirOwnSpanWithTheGroupsSize) {
  // The first request holds the writer until the next 20 are queued, so
  // those 20 commit as one group (group_tx_max is 512).
  std::promise<void> running, queued;
  auto hold = bj_.dal().submit({11, bj_.epoch()}, [&running, wait = queued.get_future().share()](dal::Tx&) {
    running.set_value();
    wait.wait_for(std::chrono::seconds(10));
    return Status::ok();
  });
  ASSERT_EQ(running.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  std::vector<std::future<dal::TxOutcome>> outs;
  for (int i = 0; i < 20; ++i) outs.push_back(bj_.dal().submit({11, bj_.epoch(), trace()}, insert(100 + i, 11)));
  queued.set_value();
  ASSERT_TRUE(hold.get().ok());
  for (auto& f : outs) ASSERT_TRUE(f.get().ok());
  auto spans = spans_.all();
  ASSERT_EQ(spans.size(), 20u) << "the untraced request made none";
  std::set<std::string> ids;
  for (const Span& s : spans) {
    ids.insert(s.span_id);
    EXPECT_EQ(s.attribute("ezone.dal.group_size"), "20");
    EXPECT_EQ(s.attribute("ezone.dal.rows"), "1");
  }
  EXPECT_EQ(ids.size(), 20u) << "one span id each";
}

}  // namespace
}  // namespace ezone::test
