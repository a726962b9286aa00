#include "tools/loadgen/latency.hpp"

#include <algorithm>
#include <cmath>

namespace ezone::loadgen {

int64_t nearest_rank_percentile(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[rank == 0 ? 0 : rank - 1];
}

int LatencyHistogram::bucket_of(int64_t us) {
  us = std::clamp<int64_t>(us, 0, kLatencyUsMax);
  if (us < (int64_t{1} << kExactBits)) return static_cast<int>(us);
  int octave = 63 - __builtin_clzll(static_cast<uint64_t>(us));  // >= kExactBits
  const int shift = octave - (kExactBits - 1);
  const int sub = static_cast<int>(us >> shift) - kSubBuckets;  // 0..kSubBuckets-1
  return (1 << kExactBits) + (octave - kExactBits) * kSubBuckets + sub;
}

int64_t LatencyHistogram::bucket_upper_us(int bucket) {
  if (bucket < (1 << kExactBits)) return bucket;
  const int rel = bucket - (1 << kExactBits);
  const int octave = kExactBits + rel / kSubBuckets;
  const int shift = octave - (kExactBits - 1);
  const int64_t lower = static_cast<int64_t>(kSubBuckets + rel % kSubBuckets) << shift;
  return lower + (int64_t{1} << shift) - 1;
}

void LatencyHistogram::record(int64_t us) {
  us = std::clamp<int64_t>(us, 0, kLatencyUsMax);
  ++buckets_[static_cast<size_t>(bucket_of(us))];
  ++count_;
  sum_us_ += us;
  max_us_ = std::max(max_us_, us);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_us_ += other.sum_us_;
  max_us_ = std::max(max_us_, other.max_us_);
}

int64_t LatencyHistogram::percentile_us(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const auto rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::min(bucket_upper_us(static_cast<int>(i)), max_us_);
  }
  return max_us_;
}

}  // namespace ezone::loadgen
