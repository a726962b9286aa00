#include "zones/routing/order_id.hpp"

#include <algorithm>

namespace ezone {
namespace {

constexpr int kMinterShift = kOrderIdSequenceBits;
constexpr int kTimeShift = kMinterShift + kOrderIdMinterBits;
constexpr int kShardShift = kTimeShift + kOrderIdTimeBits;
constexpr uint64_t kTopBit = uint64_t{1} << 63;
constexpr size_t kOrderIdDigitsMax = 19;  // 2^63 - 1 = 9223372036854775807

uint64_t pack(ShardId shard, int64_t time_ms, uint32_t minter, uint32_t sequence) {
  return (uint64_t{shard} << kShardShift) | (static_cast<uint64_t>(time_ms) << kTimeShift) |
         (uint64_t{minter} << kMinterShift) | sequence;
}

std::string quoted(const std::string& text) {
  constexpr size_t kQuoteBytesMax = 40;
  if (text.size() <= kQuoteBytesMax) return "'" + text + "'";
  return "'" + text.substr(0, kQuoteBytesMax) + "...'";
}

Status invalid(std::string message) { return Status(Errc::invalid_argument, std::move(message)); }

}  // namespace

Result<uint64_t> encode_order_id(const OrderIdParts& p) {
  if (p.shard > kShardIdMax)
    return invalid("order id shard " + std::to_string(p.shard) + " is above " +
                   std::to_string(kShardIdMax));
  if (p.time_ms < 0 || p.time_ms > kOrderIdTimeMsMax)
    return invalid("order id time " + std::to_string(p.time_ms) + " ms is outside 0.." +
                   std::to_string(kOrderIdTimeMsMax));
  if (p.minter > kOrderIdMinterMax)
    return invalid("order id minter " + std::to_string(p.minter) + " is above " +
                   std::to_string(kOrderIdMinterMax));
  if (p.sequence > kOrderIdSequenceMax)
    return invalid("order id sequence " + std::to_string(p.sequence) + " is above " +
                   std::to_string(kOrderIdSequenceMax));
  return pack(p.shard, p.time_ms, p.minter, p.sequence);
}

Result<OrderIdParts> decode_order_id(uint64_t id) {
  if (id & kTopBit)
    return invalid("order id " + std::to_string(id) + " has bit 63 set; no minted id has");
  OrderIdParts p;
  p.shard = static_cast<ShardId>(id >> kShardShift);
  p.time_ms = static_cast<int64_t>((id >> kTimeShift) & uint64_t(kOrderIdTimeMsMax));
  p.minter = static_cast<uint32_t>((id >> kMinterShift) & kOrderIdMinterMax);
  p.sequence = static_cast<uint32_t>(id & kOrderIdSequenceMax);
  return p;
}

std::optional<OrderIdParts> decode_recent_order_id(uint64_t id, int64_t now_unix_ms) {
  constexpr int64_t kDayMs = 86'400'000;
  auto parts = decode_order_id(id);
  if (!parts || parts->time_ms < kDayMs || parts->unix_ms() > now_unix_ms + kDayMs) return std::nullopt;
  return *parts;
}

std::string format_order_id(uint64_t id) { return std::to_string(id); }

Result<uint64_t> parse_order_id(const std::string& text) {
  if (text.empty()) return invalid("order id is empty");
  if (text.size() > kOrderIdDigitsMax)
    return invalid("order id " + quoted(text) + " is longer than " +
                   std::to_string(kOrderIdDigitsMax) + " digits");
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return invalid("order id " + quoted(text) + " must be decimal digits only");
    value = value * 10 + static_cast<uint64_t>(c - '0');  // 19 digits cannot overflow 2^64
  }
  if (text.size() > 1 && text[0] == '0')
    return invalid("order id " + quoted(text) + " has leading zeros");
  if (value & kTopBit) return invalid("order id " + quoted(text) + " is 2^63 or more");
  return value;
}

Result<ShardId> order_id_shard(const std::string& text) {
  auto id = parse_order_id(text);
  if (!id.ok()) return id.status();
  auto parts = decode_order_id(*id);
  if (!parts.ok()) return parts.status();
  return parts->shard;
}

Result<std::unique_ptr<OrderIdMinter>> OrderIdMinter::create(const Clock& clock,
                                                              OrderIdMinterOptions options) {
  if (options.minter > kOrderIdMinterMax)
    return invalid("order id minter " + std::to_string(options.minter) + " is above " +
                   std::to_string(kOrderIdMinterMax) + "; give each ezone its own 0.." +
                   std::to_string(kOrderIdMinterMax));
  if (options.borrow_ms_max < 0) return invalid("order id borrow_ms_max must be >= 0");
  if (options.resume_after_ms < -1 || options.resume_after_ms >= kOrderIdTimeMsMax)
    return invalid("order id resume_after_ms " + std::to_string(options.resume_after_ms) +
                   " is outside -1.." + std::to_string(kOrderIdTimeMsMax - 1));
  int64_t wall_ms = clock.wall_ms() - kOrderIdEpochUnixMs;
  if (wall_ms < 0)
    return invalid("the wall clock reads " + std::to_string(clock.wall_ms()) +
                   " ms since 1970, before the order id epoch 2024-01-01; fix the clock");
  return std::unique_ptr<OrderIdMinter>(new OrderIdMinter(clock, options, wall_ms));
}

OrderIdMinter::OrderIdMinter(const Clock& clock, OrderIdMinterOptions options, int64_t anchor_ms)
    : clock_(clock),
      options_(options),
      anchor_ms_(anchor_ms),
      anchor_mono_ms_(clock.now_ms()),
      last_ms_(options.resume_after_ms),
      next_sequence_(kOrderIdSequenceMax + 1) {}

// Monotonic time since the anchor, re-anchored when the wall clock is ahead
// (it was stepped forward, or the monotonic clock drifted slow). A wall clock
// behind is ignored, so a step back never moves ids back. The floor holds a
// restarted minter above its previous life without running its clock ahead
// for good: once real time passes the floor, the floor stops mattering.
int64_t OrderIdMinter::logical_now_ms_locked() {
  int64_t mono_ms = clock_.now_ms();
  int64_t by_mono = anchor_ms_ + (mono_ms - anchor_mono_ms_);
  int64_t by_wall = clock_.wall_ms() - kOrderIdEpochUnixMs;
  if (by_wall > by_mono) {
    anchor_ms_ = by_wall;
    anchor_mono_ms_ = mono_ms;
    by_mono = by_wall;
  }
  return std::max(by_mono, options_.resume_after_ms + 1);
}

Result<uint64_t> OrderIdMinter::mint(ShardId shard) {
  if (shard > kShardIdMax)
    return invalid("shard " + std::to_string(shard) + " is above " + std::to_string(kShardIdMax) +
                   "; no order id can carry it");
  std::lock_guard<std::mutex> lock(mutex_);
  int64_t now_ms = logical_now_ms_locked();
  if (now_ms > last_ms_) {
    last_ms_ = now_ms;
    next_sequence_ = 0;
  } else if (next_sequence_ > kOrderIdSequenceMax) {
    // This millisecond is used up (or the clock is behind last_ms_): borrow
    // the next one, within the bound.
    if (last_ms_ + 1 - now_ms > options_.borrow_ms_max) {
      ++exhausted_;
      return Status(Errc::unavailable,
                    "order id minter " + std::to_string(options_.minter) + " is " +
                        std::to_string(last_ms_ + 1 - now_ms) +
                        " ms ahead of its clock (more than 256 ids/ms); retry shortly");
    }
    ++last_ms_;
    next_sequence_ = 0;
  }
  if (last_ms_ > kOrderIdTimeMsMax)
    return Status(Errc::unavailable, "order id time field is exhausted (past 2093)");
  return pack(shard, last_ms_, options_.minter, next_sequence_++);
}

int64_t OrderIdMinter::resume_point_ms(int64_t persist_interval_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  int64_t now_ms = std::max(logical_now_ms_locked(), last_ms_);
  // Until the next save, mint() can reach at most the clock then plus what
  // it may borrow.
  return std::min(now_ms + std::max<int64_t>(persist_interval_ms, 0) + options_.borrow_ms_max,
                  kOrderIdTimeMsMax - 1);
}

int64_t OrderIdMinter::high_water_ms() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_ms_;
}

uint64_t OrderIdMinter::exhausted_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return exhausted_;
}

}  // namespace ezone
