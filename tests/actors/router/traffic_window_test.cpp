// TrafficWindow: requests per shard over a recent window, from samples of
// cumulative counts (actors/router/traffic_window.hpp).
#include <gtest/gtest.h>

#include "actors/router/traffic_window.hpp"

namespace ezone {
namespace {

using Counts = std::vector<uint64_t>;

TEST(TrafficWindowTest, AWindowSubtractsTheSampleAtItsStart) {
  TrafficWindow w(10'000, 3'600'000);
  w.sample(0, {0, 0, 0});
  w.sample(10'000, {5, 0, 1});
  w.sample(20'000, {9, 4, 1});
  w.sample(25'000, {100, 100, 100});  // younger than 10 s since the last sample: not kept
  // The last 10 s at 30 s: the sample of 20 s is the baseline.
  auto recent = w.over(30'000, {12, 10, 1}, 10'000);
  EXPECT_EQ(recent.counts, (Counts{3, 6, 0}));
  EXPECT_EQ(recent.span_ms, 10'000);
  // The last 25 s: the newest sample at or before 5 s is the one of 0 s.
  auto wider = w.over(30'000, {12, 10, 1}, 25'000);
  EXPECT_EQ(wider.counts, (Counts{12, 10, 1}));
  EXPECT_EQ(wider.span_ms, 30'000);
}

TEST(TrafficWindowTest, AShortHistoryGivesWhatItHasAndSaysHowLong) {
  TrafficWindow w(10'000, 3'600'000);
  auto none = w.over(5'000, {7, 1}, 300'000);
  EXPECT_EQ(none.counts, (Counts{7, 1}));
  EXPECT_EQ(none.span_ms, 0);
  w.sample(1'000, {2, 0});
  auto young = w.over(61'000, {9, 3}, 300'000);  // a node started a minute ago
  EXPECT_EQ(young.counts, (Counts{7, 3}));
  EXPECT_EQ(young.span_ms, 60'000);
}

TEST(TrafficWindowTest, OldSamplesGoButTheLongestWindowKeepsItsBaseline) {
  TrafficWindow w(10, 100);
  for (int64_t t = 0; t <= 1'000; t += 10) w.sample(t, {uint64_t(t)});
  // Windows up to keep_ms are whole; the 100 ms window starts at 900.
  auto full = w.over(1'000, {1'000}, 100);
  EXPECT_EQ(full.counts, Counts{100});
  EXPECT_EQ(full.span_ms, 100);
  // Longer than kept: as far back as kept (at least keep_ms).
  auto longer = w.over(1'000, {1'000}, 500);
  EXPECT_GE(longer.span_ms, 100);
  EXPECT_LE(longer.span_ms, 110);
  EXPECT_EQ(longer.counts[0], uint64_t(longer.span_ms));
}

TEST(TrafficWindowTest, CountsNeverGoNegative) {
  TrafficWindow w(10, 1'000);
  w.sample(0, {5, 5});
  auto r = w.over(20, {3, 6}, 10);  // counts below the baseline (a reset) give 0
  EXPECT_EQ(r.counts, (Counts{0, 1}));
}

}  // namespace
}  // namespace ezone
