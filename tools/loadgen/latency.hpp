// Latency figures for the load generator: a fixed-size log-linear histogram
// (bounded memory however long the run) and the nearest-rank percentile it
// reports.
//
// Buckets: values below 2^kExactBits microseconds have one bucket each
// (exact); above that, each power of two is split into 2^(kExactBits - 1)
// equal buckets, so a reported percentile is at most 1/2^(kExactBits-1)
// (1.6%) above the true sample, never below it. Values are clamped to
// kLatencyUsMax (about 18 minutes). max() and count() are exact.
//
// Not thread-safe; the caller locks or keeps one per thread and merges.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace ezone::loadgen {

constexpr int kExactBits = 7;             // 0..127 us exact, then 64 buckets per octave
constexpr int64_t kLatencyUsMax = int64_t{1} << 30;

// The nearest-rank percentile of a sorted sample: the smallest value v with
// at least ceil(q * n) values <= v. q in [0, 1]; q = 0 gives the minimum.
// Returns 0 for an empty sample.
int64_t nearest_rank_percentile(const std::vector<int64_t>& sorted, double q);

class LatencyHistogram {
 public:
  void record(int64_t us);
  void merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  int64_t max_us() const { return max_us_; }
  double mean_us() const { return count_ ? static_cast<double>(sum_us_) / static_cast<double>(count_) : 0; }
  // Nearest-rank percentile as above, reported as the upper edge of the
  // bucket that holds it (capped at max_us()). 0 when empty.
  int64_t percentile_us(double q) const;

 private:
  static constexpr int kSubBuckets = 1 << (kExactBits - 1);
  static constexpr int kBuckets = (1 << kExactBits) + (31 - kExactBits) * kSubBuckets;
  static int bucket_of(int64_t us);
  static int64_t bucket_upper_us(int bucket);

  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  int64_t sum_us_ = 0;
  int64_t max_us_ = 0;
};

}  // namespace ezone::loadgen
