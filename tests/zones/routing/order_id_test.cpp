#include "zones/routing/order_id.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <set>
#include <thread>
#include <unordered_set>

namespace ezone {
namespace {

// 2024-06-01T00:00:00Z: an ordinary day after the order id epoch.
constexpr int64_t kJune2024Ms = 1'717'200'000'000;
constexpr int64_t kJuneField = kJune2024Ms - kOrderIdEpochUnixMs;

// A clock whose monotonic and wall readings move independently, as real
// ones do when NTP steps the wall clock.
class SplitClock final : public Clock {
 public:
  SplitClock(int64_t mono_ms, int64_t wall_ms) : mono_(mono_ms), wall_(wall_ms) {}
  int64_t now_ms() const override { return mono_.load(); }
  int64_t wall_ms() const override { return wall_.load(); }
  void advance_ms(int64_t ms) {
    mono_ += ms;
    wall_ += ms;
  }
  void step_wall_ms(int64_t ms) { wall_ += ms; }

 private:
  std::atomic<int64_t> mono_;
  std::atomic<int64_t> wall_;
};

std::unique_ptr<OrderIdMinter> make_minter(const Clock& clock, OrderIdMinterOptions options = {}) {
  auto minter = OrderIdMinter::create(clock, options);
  EXPECT_TRUE(minter.ok()) << minter.status().to_string();
  return std::move(minter).value();
}

OrderIdParts parts_of(uint64_t id) {
  auto parts = decode_order_id(id);
  EXPECT_TRUE(parts.ok()) << parts.status().to_string();
  return parts.ok() ? *parts : OrderIdParts{};
}

uint64_t mint_ok(OrderIdMinter& minter, ShardId shard) {
  auto id = minter.mint(shard);
  EXPECT_TRUE(id.ok()) << id.status().to_string();
  return id.ok() ? *id : 0;
}

TEST(OrderIdLayout, PacksFieldsAsDocumented) {
  OrderIdParts parts{3, 1000, 5, 7};
  auto id = encode_order_id(parts);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, (uint64_t{3} << 53) | (uint64_t{1000} << 12) | (uint64_t{5} << 8) | 7u);
  EXPECT_EQ(parts_of(*id), parts);
  EXPECT_EQ(parts.unix_ms(), kOrderIdEpochUnixMs + 1000);
}

TEST(OrderIdLayout, ExtremesRoundTripAndStayPositive) {
  OrderIdParts max{kShardIdMax, kOrderIdTimeMsMax, kOrderIdMinterMax, kOrderIdSequenceMax};
  auto id = encode_order_id(max);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, uint64_t{INT64_MAX});
  EXPECT_EQ(parts_of(*id), max);
  auto zero = encode_order_id({});
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(*zero, 0u);
}

TEST(OrderIdLayout, EncodeRejectsOutOfRangeFields) {
  EXPECT_FALSE(encode_order_id({kShardIdMax + 1, 0, 0, 0}).ok());
  EXPECT_FALSE(encode_order_id({0, -1, 0, 0}).ok());
  EXPECT_FALSE(encode_order_id({0, kOrderIdTimeMsMax + 1, 0, 0}).ok());
  EXPECT_FALSE(encode_order_id({0, 0, kOrderIdMinterMax + 1, 0}).ok());
  auto seq = encode_order_id({0, 0, 0, kOrderIdSequenceMax + 1});
  ASSERT_FALSE(seq.ok());
  EXPECT_EQ(seq.status().code(), Errc::invalid_argument);
  EXPECT_NE(seq.status().message().find("sequence 256 is above 255"), std::string::npos);
}

TEST(OrderIdLayout, DecodeRejectsTopBit) {
  auto parts = decode_order_id(uint64_t{1} << 63);
  ASSERT_FALSE(parts.ok());
  EXPECT_NE(parts.status().message().find("bit 63"), std::string::npos);
}

TEST(OrderIdLayout, DecodeRoundTripsSeededRandomIds) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    uint64_t id = rng() >> 1;
    auto parts = decode_order_id(id);
    ASSERT_TRUE(parts.ok());
    auto again = encode_order_id(*parts);
    ASSERT_TRUE(again.ok());
    ASSERT_EQ(*again, id);
  }
}

// The hint for ids that look minted: a real minted id of now passes;
// small numbers, ids from the id epoch's first day and ids from the far
// future do not.
TEST(OrderIdLayout, RecentIdsAreToldFromArbitraryNumbers) {
  const int64_t now = kOrderIdEpochUnixMs + int64_t{700} * 86'400'000;
  auto id = encode_order_id(OrderIdParts{31, now - kOrderIdEpochUnixMs, 2, 9});
  ASSERT_TRUE(id.ok());
  auto parts = decode_recent_order_id(*id, now);
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->shard, 31u);
  EXPECT_FALSE(decode_recent_order_id(8812, now));
  EXPECT_FALSE(decode_recent_order_id(*encode_order_id(OrderIdParts{3, 86'400'000 - 1, 0, 0}), now));
  EXPECT_TRUE(decode_recent_order_id(*encode_order_id(OrderIdParts{3, 86'400'000, 0, 0}), now));
  const int64_t tomorrow = now + 86'400'000 - kOrderIdEpochUnixMs;
  EXPECT_TRUE(decode_recent_order_id(*encode_order_id(OrderIdParts{3, tomorrow, 0, 0}), now));
  EXPECT_FALSE(decode_recent_order_id(*encode_order_id(OrderIdParts{3, tomorrow + 1, 0, 0}), now));
  EXPECT_FALSE(decode_recent_order_id(uint64_t{1} << 63, now));
}

TEST(OrderIdText, FormatsAndParses) {
  EXPECT_EQ(format_order_id(0), "0");
  EXPECT_EQ(format_order_id(INT64_MAX), "9223372036854775807");
  EXPECT_EQ(*parse_order_id("0"), 0u);
  EXPECT_EQ(*parse_order_id("9223372036854775807"), uint64_t{INT64_MAX});
  uint64_t id = *encode_order_id({17, kJuneField, 2, 9});
  EXPECT_EQ(*parse_order_id(format_order_id(id)), id);
  EXPECT_EQ(*order_id_shard(format_order_id(id)), 17u);
}

TEST(OrderIdText, RejectsMalformedText) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "order id is empty"},
      {"abc", "must be decimal digits only"},
      {"-1", "must be decimal digits only"},
      {"+1", "must be decimal digits only"},
      {" 1", "must be decimal digits only"},
      {"1 ", "must be decimal digits only"},
      {"1.0", "must be decimal digits only"},
      {"0x10", "must be decimal digits only"},
      {std::string("1\0", 2), "must be decimal digits only"},
      {"007", "has leading zeros"},
      {"9223372036854775808", "is 2^63 or more"},
      {"9999999999999999999", "is 2^63 or more"},
      {"10000000000000000000", "longer than 19 digits"},
      {std::string(500, '9'), "longer than 19 digits"},
  };
  for (const auto& [text, expected] : cases) {
    auto id = parse_order_id(text);
    ASSERT_FALSE(id.ok()) << "parsed '" << text << "'";
    EXPECT_EQ(id.status().code(), Errc::invalid_argument);
    EXPECT_NE(id.status().message().find(expected), std::string::npos) << id.status().message();
    EXPECT_LT(id.status().message().size(), 200u);  // long input is truncated in the message
    EXPECT_FALSE(order_id_shard(text).ok());
  }
}

TEST(OrderIdMinter, CreateRejectsBadOptions) {
  ManualClock clock(kJune2024Ms);
  EXPECT_FALSE(OrderIdMinter::create(clock, {16, -1, 1000}).ok());
  EXPECT_FALSE(OrderIdMinter::create(clock, {0, -1, -1}).ok());
  EXPECT_FALSE(OrderIdMinter::create(clock, {0, -2, 1000}).ok());
  EXPECT_FALSE(OrderIdMinter::create(clock, {0, kOrderIdTimeMsMax, 1000}).ok());
  ManualClock broken(1'000'000);  // 1970
  auto minter = OrderIdMinter::create(broken, {});
  ASSERT_FALSE(minter.ok());
  EXPECT_NE(minter.status().message().find("before the order id epoch"), std::string::npos);
}

TEST(OrderIdMinter, IdsCarryShardMinterAndTime) {
  ManualClock clock(kJune2024Ms);
  auto minter = make_minter(clock, {9, -1, 1000});
  OrderIdParts parts = parts_of(mint_ok(*minter, 517));
  EXPECT_EQ(parts.shard, 517u);
  EXPECT_EQ(parts.minter, 9u);
  EXPECT_EQ(parts.time_ms, kJuneField);
  EXPECT_EQ(parts.unix_ms(), kJune2024Ms);
  EXPECT_EQ(parts.sequence, 0u);
  EXPECT_EQ(parts_of(mint_ok(*minter, 3)).sequence, 1u);  // one sequence across shards
  clock.advance_ms(5);
  parts = parts_of(mint_ok(*minter, 3));
  EXPECT_EQ(parts.time_ms, kJuneField + 5);
  EXPECT_EQ(parts.sequence, 0u);
  EXPECT_EQ(minter->high_water_ms(), kJuneField + 5);
  auto bad = minter->mint(kShardIdMax + 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Errc::invalid_argument);
}

TEST(OrderIdMinter, BurstBorrowsFutureMillisecondsUpToTheBound) {
  ManualClock clock(kJune2024Ms);
  auto minter = make_minter(clock, {1, -1, 3});
  std::set<uint64_t> ids;
  // 4 ms of sequence space: the current one plus 3 borrowed.
  for (int i = 0; i < 4 * 256; ++i) ids.insert(mint_ok(*minter, 1));
  EXPECT_EQ(ids.size(), 4u * 256);
  EXPECT_EQ(parts_of(*ids.rbegin()).time_ms, kJuneField + 3);
  auto refused = minter->mint(1);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Errc::unavailable);
  EXPECT_NE(refused.status().message().find("ahead of its clock"), std::string::npos);
  EXPECT_EQ(minter->exhausted_count(), 1u);
  clock.advance_ms(1);  // the clock catches up by one ms: one more ms may be borrowed
  OrderIdParts next = parts_of(mint_ok(*minter, 1));
  EXPECT_EQ(next.time_ms, kJuneField + 4);
  EXPECT_EQ(next.sequence, 0u);
}

// Even a clock that runs backwards (here both readings, as ManualClock
// does) never makes the minter repeat or go back: it keeps counting from
// where it was.
TEST(OrderIdMinter, ClockGoingBackwardsNeverRepeatsIds) {
  ManualClock clock(kJune2024Ms);
  auto minter = make_minter(clock, {2, -1, 1000});
  uint64_t last = 0;
  std::unordered_set<uint64_t> ids;
  for (int step = 0; step < 200; ++step) {
    clock.advance_ms(step % 3 == 0 ? -40 : 17);
    for (int i = 0; i < 50; ++i) {
      uint64_t id = mint_ok(*minter, 4);
      ASSERT_GT(id, last);
      ASSERT_TRUE(ids.insert(id).second);
      last = id;
    }
  }
}

TEST(OrderIdMinter, WallClockStepBackIsIgnored) {
  SplitClock clock(50'000, kJune2024Ms);
  auto minter = make_minter(clock, {3, -1, 1000});
  OrderIdParts before = parts_of(mint_ok(*minter, 1));
  clock.step_wall_ms(-3'600'000);  // NTP steps the wall clock back an hour
  clock.advance_ms(10);
  OrderIdParts after = parts_of(mint_ok(*minter, 1));
  EXPECT_EQ(after.time_ms, before.time_ms + 10);  // monotonic time keeps going
  EXPECT_EQ(minter->exhausted_count(), 0u);
}

TEST(OrderIdMinter, WallClockStepForwardIsFollowed) {
  SplitClock clock(50'000, kJune2024Ms);
  auto minter = make_minter(clock, {3, -1, 1000});
  OrderIdParts before = parts_of(mint_ok(*minter, 1));
  clock.step_wall_ms(60'000);
  OrderIdParts after = parts_of(mint_ok(*minter, 1));
  EXPECT_EQ(after.time_ms, before.time_ms + 60'000);
  // A later step back does not undo it.
  clock.step_wall_ms(-60'000);
  clock.advance_ms(1);
  EXPECT_EQ(parts_of(mint_ok(*minter, 1)).time_ms, before.time_ms + 60'001);
}

// A restart in the same millisecond, with the wall clock even set back,
// mints nothing the previous incarnation minted when the resume point is
// passed on.
TEST(OrderIdMinter, RestartAfterResumePointNeverCollides) {
  SplitClock clock(50'000, kJune2024Ms);
  std::unordered_set<uint64_t> ids;
  auto first = make_minter(clock, {4, -1, 1000});
  for (int i = 0; i < 600; ++i) ids.insert(mint_ok(*first, 8));  // borrows 2 ms
  int64_t resume = first->resume_point_ms(1000);
  EXPECT_GE(resume, first->high_water_ms() + 1000);
  first.reset();
  clock.step_wall_ms(-5'000);  // and the wall clock went back while it was down
  auto second = make_minter(clock, {4, resume, 1000});
  for (int i = 0; i < 600; ++i) {
    uint64_t id = mint_ok(*second, 8);
    EXPECT_GT(parts_of(id).time_ms, resume);
    EXPECT_TRUE(ids.insert(id).second) << "duplicate after restart";
  }
}

// The resume floor holds the time field, it does not run the clock ahead:
// once real time passes the floor, ids follow real time again.
TEST(OrderIdMinter, ResumeFloorStopsMatteringOnceTimePassesIt) {
  ManualClock clock(kJune2024Ms);
  auto minter = make_minter(clock, {5, kJuneField + 100, 1000});
  EXPECT_EQ(parts_of(mint_ok(*minter, 1)).time_ms, kJuneField + 101);
  clock.advance_ms(50);
  EXPECT_EQ(parts_of(mint_ok(*minter, 1)).time_ms, kJuneField + 101);
  clock.advance_ms(150);
  EXPECT_EQ(parts_of(mint_ok(*minter, 1)).time_ms, kJuneField + 200);
}

TEST(OrderIdMinter, DifferentMintersNeverCollideInOneMillisecond) {
  ManualClock clock(kJune2024Ms);
  auto bj = make_minter(clock, {0, -1, 1000});
  auto sh = make_minter(clock, {1, -1, 1000});
  std::unordered_set<uint64_t> ids;
  // Both mint for the same shard in the same milliseconds, as around a move.
  for (int i = 0; i < 2000; ++i) {
    EXPECT_TRUE(ids.insert(mint_ok(*bj, 42)).second);
    EXPECT_TRUE(ids.insert(mint_ok(*sh, 42)).second);
  }
}

// Several threads minting at once get distinct ids, and each thread's ids
// for its own shard strictly increase. The clock stands still, so the test
// also drives the borrowing path hard and deterministically.
TEST(OrderIdMinter, ConcurrentMintingIsUnique) {
  ManualClock clock(kJune2024Ms);
  auto minter = make_minter(clock, {6, -1, 1000});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25'000;  // 200k ids: about 782 ms borrowed
  std::vector<std::vector<uint64_t>> minted(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      minted[t].reserve(kPerThread);
      for (int i = 0; i < kPerThread; ++i) {
        auto id = minter->mint(static_cast<ShardId>(t));
        if (id.ok()) minted[t].push_back(*id);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::vector<uint64_t> all;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(minted[t].size(), static_cast<size_t>(kPerThread));
    EXPECT_TRUE(std::is_sorted(minted[t].begin(), minted[t].end()));
    for (uint64_t id : minted[t]) EXPECT_EQ(parts_of(id).shard, static_cast<ShardId>(t));
    all.insert(all.end(), minted[t].begin(), minted[t].end());
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace ezone
