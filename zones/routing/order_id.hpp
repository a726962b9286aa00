// Order ids: 64-bit numbers that carry their shard, so a router maps an order
// id to its shard from the bits alone (DESIGN.md, "sharding key"), and that
// every ezone mints without coordination and without collisions.
//
//  63 62         53 52                                     12 11    8 7      0
// +--+-------------+-----------------------------------------+-------+--------+
// |0 |  shard (10) |  ms since 2024-01-01T00:00:00Z (41)      |minter |sequence|
// |  |   0..1023   |  2^41 ms = 69.7 years: until 2093-09    | (4)   |  (8)   |
// +--+-------------+-----------------------------------------+-------+--------+
//
// - Bit 63 is zero, so ids fit a signed 64-bit column (SQLite INTEGER).
// - The shard sits on top, so one shard's orders form one contiguous id range
//   (shard << 53 .. (shard+1) << 53): per-shard scans, checksums and moves
//   need no secondary index, and within a shard ids sort by time.
// - The minter id is unique per ezone (assigned in config, never reused for
//   another ezone). Two ezones therefore never mint the same id, even for the
//   same shard in the same millisecond, which is exactly what happens briefly
//   when a shard moves or during a failover with a stale owner.
// - The sequence allows 256 ids per millisecond per minter: 256k ids/s
//   sustained, two orders of magnitude above the 1k+ orders/s per zone
//   target; a burst above that borrows the next milliseconds (see below).
// - Decimal text is at most 19 digits. Ids exceed 2^53, so JSON carries them
//   as strings (JavaScript numbers would round them).
//
// Time. The minter's clock is the monotonic clock anchored to the wall clock
// at start-up, so it never runs backwards inside a process: a wall clock
// stepped back by NTP is ignored (the monotonic clock keeps counting), and a
// wall clock stepped forward is followed (re-anchored) so the time field stays
// close to real time. Within one minter, ids for one shard strictly increase.
//
// Borrowing from the future. When the sequence of the current millisecond is
// used up, the minter moves on to the next millisecond before the clock gets
// there, up to borrow_ms_max ahead of its clock; beyond that mint() fails
// with unavailable (the caller answers 503) instead of blocking a thread.
//
// Restarts. A new process could reuse milliseconds of its previous life if it
// restarts within the same millisecond or if the wall clock went back while it
// was down. The caller prevents that with a persisted resume point: at least
// every persist_interval_ms it stores resume_point_ms(persist_interval_ms) in
// LMDB, at a clean stop (nothing more is minted) it stores high_water_ms(),
// and at start it passes the last stored value as resume_after_ms. The new
// minter's time field then never goes below resume_after_ms + 1: it holds
// there (borrowing sequence space as above) until its clock catches up. So
// after a crash ids run ahead of real time by at most persist_interval_ms +
// borrow_ms_max (crashes in quick succession add up), after a clean stop not
// at all (unless the wall clock went back); the lead disappears as soon as
// real time passes the floor, because the floor only holds, never advances.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/ids.hpp"
#include "core/status.hpp"

namespace ezone {

constexpr int64_t kOrderIdEpochUnixMs = 1'704'067'200'000;  // 2024-01-01T00:00:00Z
constexpr int kOrderIdSequenceBits = 8;
constexpr int kOrderIdMinterBits = 4;
constexpr int kOrderIdTimeBits = 41;
constexpr int kOrderIdShardBits = 10;
constexpr uint32_t kOrderIdSequenceMax = (1u << kOrderIdSequenceBits) - 1;  // 255
constexpr uint32_t kOrderIdMinterMax = (1u << kOrderIdMinterBits) - 1;      // 15
constexpr int64_t kOrderIdTimeMsMax = (int64_t{1} << kOrderIdTimeBits) - 1;
static_assert(kShardIdMax == (1u << kOrderIdShardBits) - 1, "shard ids must fill the shard field");
static_assert(kOrderIdSequenceBits + kOrderIdMinterBits + kOrderIdTimeBits + kOrderIdShardBits == 63,
              "the fields fill 63 bits; bit 63 stays zero");

struct OrderIdParts {
  ShardId shard = 0;      // 0..kShardIdMax
  int64_t time_ms = 0;    // ms since kOrderIdEpochUnixMs, 0..kOrderIdTimeMsMax
  uint32_t minter = 0;    // 0..kOrderIdMinterMax
  uint32_t sequence = 0;  // 0..kOrderIdSequenceMax

  int64_t unix_ms() const { return kOrderIdEpochUnixMs + time_ms; }
  bool operator==(const OrderIdParts& o) const {
    return shard == o.shard && time_ms == o.time_ms && minter == o.minter &&
           sequence == o.sequence;
  }
};

// Packs the fields. invalid_argument names the field that is out of range.
Result<uint64_t> encode_order_id(const OrderIdParts& parts);
// Unpacks an id. invalid_argument if bit 63 is set (no minted id has it);
// every other 64-bit value decodes.
Result<OrderIdParts> decode_order_id(uint64_t id);

// Whether `id` looks minted by an OrderIdMinter: it decodes and its time
// field lies between a day after the id epoch and a day past now_unix_ms.
// Small or arbitrary numbers (a legacy merchant id, 8812) do not. For
// hints in error messages, not for routing: any id < 2^63 routes as an
// order id.
std::optional<OrderIdParts> decode_recent_order_id(uint64_t id, int64_t now_unix_ms);

// Canonical decimal text: digits only, no sign, no spaces, no leading zeros.
std::string format_order_id(uint64_t id);
// Inverse of format_order_id. invalid_argument (quoting the text, truncated
// to 40 bytes) for empty text, non-digits, leading zeros, or a value of 2^63
// or more.
Result<uint64_t> parse_order_id(const std::string& text);
// parse_order_id then decode_order_id: the router's "order=<id>" key.
Result<ShardId> order_id_shard(const std::string& text);

struct OrderIdMinterOptions {
  uint32_t minter = 0;  // 0..kOrderIdMinterMax; unique per ezone
  // The largest time field (ms since kOrderIdEpochUnixMs) that a previous
  // incarnation of this minter may have used; -1 = none. The first id minted
  // has a larger time field.
  int64_t resume_after_ms = -1;
  // How far ahead of its clock the minter may borrow milliseconds when more
  // than 256 ids are minted in one millisecond. Must be >= 0.
  int64_t borrow_ms_max = 1000;
};

// Thread-safe: mint() may be called from any number of threads. It holds a
// mutex for a few arithmetic operations and never sleeps.
class OrderIdMinter {
 public:
  // Requires minter <= kOrderIdMinterMax, borrow_ms_max >= 0, resume_after_ms
  // in -1..kOrderIdTimeMsMax - 1, and a wall clock after 2024-01-01 (a clock
  // before that is broken: order ids would not sort by time). Returns
  // invalid_argument otherwise. The clock must outlive the minter.
  static Result<std::unique_ptr<OrderIdMinter>> create(const Clock& clock,
                                                        OrderIdMinterOptions options);

  // A new id for shard, unique across every minter id and every
  // incarnation that respected resume_after_ms. Returns invalid_argument for
  // shard > kShardIdMax; unavailable when the burst would borrow more than
  // borrow_ms_max, or the time field is exhausted (year 2093).
  Result<uint64_t> mint(ShardId shard);

  // The value to persist for the next incarnation, valid if the caller
  // persists again within persist_interval_ms (requires >= 0): no id minted
  // before then has a larger time field (unless the wall clock is stepped
  // forward meanwhile). Advances the minter's clock reading like mint().
  int64_t resume_point_ms(int64_t persist_interval_ms);
  // The time field of the latest id minted, or resume_after_ms before the
  // first.
  int64_t high_water_ms() const;
  uint32_t minter() const { return options_.minter; }
  // How many times mint() refused because borrowing ran out.
  uint64_t exhausted_count() const;

 private:
  OrderIdMinter(const Clock& clock, OrderIdMinterOptions options, int64_t anchor_ms);
  // The minter's clock as a time field: never below resume_after_ms + 1.
  int64_t logical_now_ms_locked();

  const Clock& clock_;
  const OrderIdMinterOptions options_;

  mutable std::mutex mutex_;   // guards the fields below
  int64_t anchor_ms_;          // time field at anchor_mono_ms_
  int64_t anchor_mono_ms_;     // clock_.now_ms() when anchored
  int64_t last_ms_;            // time field of the latest id
  uint32_t next_sequence_;     // sequence for the next id at last_ms_ (256 = used up)
  uint64_t exhausted_ = 0;
};

}  // namespace ezone
