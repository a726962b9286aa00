#include "core/hlc.hpp"

namespace ezone {

HlcTime HybridClock::now() {
  const HlcTime wall = make_hlc(clock_.wall_ms(), 0);
  std::lock_guard<std::mutex> lock(mutex_);
  // The logical counter overflowing into the physical part only happens after
  // 65536 timestamps in one millisecond; it then borrows from the next
  // millisecond, which keeps the order strict.
  last_ = wall > last_ ? wall : last_ + 1;
  return last_;
}

void HybridClock::observe(HlcTime remote) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (remote > last_) last_ = remote;
}

HlcTime HybridClock::last() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_;
}

}  // namespace ezone
