// Requests a router served per shard over a recent window: its cumulative
// counts, sampled now and then, minus the sample taken at the window's
// start. A rebalance weighs shards by it (actors/node/admin_coord.cpp), so a
// shard's weight follows its recent traffic rather than everything since
// the node started (a shard busy at lunch and idle since should not move
// at night). Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

namespace ezone {

class TrafficWindow {
 public:
  // Keeps a sample at most every sample_every_ms, and enough samples to
  // answer windows up to keep_ms.
  TrafficWindow(int64_t sample_every_ms, int64_t keep_ms) : every_ms_(sample_every_ms), keep_ms_(keep_ms) {}

  // Records the cumulative counts at now_ms, unless the last sample is
  // younger than sample_every_ms.
  void sample(int64_t now_ms, const std::vector<uint64_t>& counts);

  struct Served {
    std::vector<uint64_t> counts;  // per shard id, served within the span
    int64_t span_ms = 0;           // the span covered: window_ms, or less when the history is shorter
  };
  // What was served in the window_ms before now_ms (counts_now being the
  // cumulative counts at now_ms), or since the oldest sample kept when the
  // history is shorter. With no sample at all, counts_now over span 0.
  Served over(int64_t now_ms, const std::vector<uint64_t>& counts_now, int64_t window_ms) const;

  int64_t keep_ms() const { return keep_ms_; }

 private:
  const int64_t every_ms_, keep_ms_;
  mutable std::mutex mutex_;
  std::deque<std::pair<int64_t, std::vector<uint64_t>>> samples_;  // oldest first
};

}  // namespace ezone
