#include "core/fault_state.hpp"

#include "core/assert.hpp"

namespace ezone {

bool FaultState::isolate(int64_t duration_ms) {
  EZONE_ASSERT(duration_ms >= kIsolationMsMin && duration_ms <= kIsolationMsMax,
               "isolation duration out of bounds; the admin API validates it");
  std::lock_guard<std::mutex> lock(mutex_);
  const bool began = !isolated();
  if (began) since_wall_ms_ = clock_.wall_ms();
  until_wall_ms_ = clock_.wall_ms() + duration_ms;
  until_mono_ms_.store(clock_.now_ms() + duration_ms, std::memory_order_release);
  return began;
}

bool FaultState::heal() {
  std::lock_guard<std::mutex> lock(mutex_);
  const bool was = isolated();
  clear();
  return was;
}

bool FaultState::heal_if_due() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (until_mono_ms_.load(std::memory_order_acquire) == 0 || isolated()) return false;
  clear();
  return true;
}

void FaultState::clear() {
  until_mono_ms_.store(0, std::memory_order_release);
  since_wall_ms_ = until_wall_ms_ = 0;
}

FaultState::Snapshot FaultState::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!isolated()) return Snapshot{};
  return Snapshot{true, since_wall_ms_, until_wall_ms_};
}

}  // namespace ezone
