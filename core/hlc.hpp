// Hybrid logical clock (DESIGN.md, "drc"): timestamps that follow wall time
// but never go backwards and always exceed every timestamp this site has seen
// from a peer. Last-writer-wins conflict resolution compares them, so a write
// made after a site applied a peer's change always wins over that change.
//
// Layout of an HlcTime: the high 48 bits are wall-clock milliseconds since
// the Unix epoch (good until the year 10889), the low 16 bits a logical
// counter that breaks ties within one millisecond.
#pragma once

#include <cstdint>
#include <mutex>

#include "core/clock.hpp"

namespace ezone {

using HlcTime = uint64_t;

constexpr int kHlcLogicalBits = 16;

inline int64_t hlc_physical_ms(HlcTime t) { return static_cast<int64_t>(t >> kHlcLogicalBits); }
inline uint32_t hlc_logical(HlcTime t) { return static_cast<uint32_t>(t & 0xffffu); }
inline HlcTime make_hlc(int64_t physical_ms, uint32_t logical) {
  return (static_cast<uint64_t>(physical_ms) << kHlcLogicalBits) | (logical & 0xffffu);
}

// Thread-safe. The clock must outlive the HybridClock.
class HybridClock {
 public:
  explicit HybridClock(const Clock& clock) : clock_(clock) {}

  // A timestamp greater than every earlier now() and observe() of this clock.
  HlcTime now();
  // Merges a timestamp received from a peer, so that later now() exceed it.
  // A peer far in the future drags this clock along (that is the HLC's
  // contract); callers bound how far they trust a peer before calling.
  void observe(HlcTime remote);
  // The greatest timestamp issued or observed so far (0 before any).
  HlcTime last() const;

 private:
  const Clock& clock_;
  mutable std::mutex mutex_;
  HlcTime last_ = 0;
};

}  // namespace ezone
