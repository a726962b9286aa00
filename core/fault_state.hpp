// FaultState: whether an operator has isolated this node's data plane for a
// disaster-recovery drill (POST /admin/v1/fault/isolate). While isolated the
// node behaves as if its IDC were cut off from the other IDCs and from the
// etcd quorum: the etcd session stops renewing the lease, the router answers
// every request 503 "isolated", the DRC neither serves nor pulls, and the
// coordinator does nothing. The admin API stays up: it is the operator's
// channel, and the way back (POST /admin/v1/fault/heal).
//
// An isolation always ends by itself at its deadline, so a drill that
// crashes never leaves a node dark for ever.
//
// Thread-safety: isolated() is lock-free (one atomic load, and a clock read
// while an isolation is set) for the request path and the DRC; the other
// members may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#include "core/clock.hpp"

namespace ezone {

class FaultState {
 public:
  // Bounds on one isolation's duration.
  static constexpr int64_t kIsolationMsMin = 1;
  static constexpr int64_t kIsolationMsMax = 600000;
  static constexpr int64_t kIsolationMsDefault = 60000;

  struct Snapshot {
    bool isolated = false;
    int64_t since_wall_ms = 0;     // when the isolation began; 0 when not isolated
    int64_t heals_at_wall_ms = 0;  // when it ends by itself; 0 when not isolated
  };

  // clock must outlive the state.
  explicit FaultState(const Clock& clock) : clock_(clock) {}

  // Isolates the node until duration_ms from now. Requires duration_ms in
  // [kIsolationMsMin, kIsolationMsMax] (callers validate outside input).
  // An isolation already on keeps its start and gets the new deadline.
  // Returns true when this call began an isolation.
  bool isolate(int64_t duration_ms);
  // Ends the isolation now. Returns true when one was on.
  bool heal();
  // Ends an isolation whose deadline has passed; returns true once for it
  // (so one caller logs the automatic heal).
  bool heal_if_due();
  bool isolated() const {
    const int64_t until = until_mono_ms_.load(std::memory_order_acquire);
    return until != 0 && clock_.now_ms() < until;
  }
  Snapshot snapshot() const;

 private:
  void clear();  // requires mutex_

  const Clock& clock_;
  std::atomic<int64_t> until_mono_ms_{0};  // 0: not isolated
  mutable std::mutex mutex_;               // orders writers; guards the wall times
  int64_t since_wall_ms_ = 0;
  int64_t until_wall_ms_ = 0;
};

}  // namespace ezone
