#include "actors/router/traffic_window.hpp"

#include <algorithm>

namespace ezone {

void TrafficWindow::sample(int64_t now_ms, const std::vector<uint64_t>& counts) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!samples_.empty() && now_ms - samples_.back().first < every_ms_) return;
  samples_.emplace_back(now_ms, counts);
  // Keep one sample at or before the oldest window's start: it is that
  // window's baseline.
  while (samples_.size() >= 2 && samples_[1].first <= now_ms - keep_ms_) samples_.pop_front();
}

TrafficWindow::Served TrafficWindow::over(int64_t now_ms, const std::vector<uint64_t>& counts_now,
                                          int64_t window_ms) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Served out;
  out.counts = counts_now;
  if (samples_.empty()) return out;
  // The newest sample at or before the window's start, else the oldest.
  auto base = samples_.begin();
  for (auto it = samples_.begin(); it != samples_.end() && it->first <= now_ms - window_ms; ++it) base = it;
  out.span_ms = std::max<int64_t>(0, now_ms - base->first);
  for (size_t i = 0; i < out.counts.size() && i < base->second.size(); ++i)
    out.counts[i] = out.counts[i] > base->second[i] ? out.counts[i] - base->second[i] : 0;
  return out;
}

}  // namespace ezone
