// Time comes from an injected Clock so that the simulator and unit tests can
// drive it. Production code uses SystemClock; tests use ManualClock.
#pragma once

#include <atomic>
#include <cstdint>

namespace ezone {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic milliseconds; only differences are meaningful.
  virtual int64_t now_ms() const = 0;
  // Milliseconds since the Unix epoch, for logs and "since" timestamps that
  // other processes on the same machine compare against.
  virtual int64_t wall_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override;
  int64_t wall_ms() const override;
  // A process-wide instance; it has no state.
  static SystemClock& instance();
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 1'000'000) : now_(start_ms) {}
  int64_t now_ms() const override { return now_.load(); }
  int64_t wall_ms() const override { return now_.load(); }
  void advance_ms(int64_t delta_ms) { now_ += delta_ms; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace ezone
