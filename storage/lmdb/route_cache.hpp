// RouteCache: the last route table this node knew, in LMDB (DESIGN.md,
// "Storage"). A restarted node loads it before etcd answers, so it knows
// which shards it owned and which were write-forbidden at its last epoch,
// and stays fenced instead of guessing.
//
// One record, key "current" in the database "route_table":
//
//   offset  size  field
//   0       4     magic "EZRT"
//   4       4     format version, little-endian uint32 (kRouteRecordFormat)
//   8       4     CRC-32 (IEEE) of the payload, little-endian
//   12      ...   payload: cereal portable binary (little-endian) of
//                   int64 epoch,
//                   list<{uint32 id, string name, string owner, uint8 state}>,
//                   list<{string ezone, string host, uint16 port}>
//                 where lists and strings are prefixed with a uint64 count
//                 (cereal size tags)
//
// The CRC makes a torn or bit-flipped record a clear parse_error instead of
// a garbage table. Counts and string lengths are bounded before anything is
// allocated (1024 shards, kEzonesMax ezones, 256-byte strings), so even a
// crafted record with a valid CRC cannot ask for gigabytes. The decoded
// table then passes RouteTable::create's validation like any other input.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <memory>
#include <string>

#include "core/status.hpp"
#include "storage/lmdb/lmdb_env.hpp"
#include "zones/routing/route_table.hpp"

namespace ezone {

constexpr uint32_t kRouteRecordFormat = 1;
// A record larger than this is corrupt (a full table is ~50 KiB).
constexpr size_t kRouteRecordBytesMax = 4u << 20;

// The record bytes for a table (see the layout above).
std::string encode_route_record(const RouteTable& table);
// Parses a record. parse_error, naming what is wrong, for a short or
// oversized record, wrong magic, another format version, a CRC mismatch,
// undecodable payload, trailing bytes or a table that fails validation.
Result<RouteTable> decode_route_record(const std::string& bytes);

class RouteCache {
 public:
  static constexpr const char* kDatabase = "route_table";
  static constexpr const char* kKey = "current";

  // Opens (creating) the database in env; errors as LmdbEnv::database.
  static Result<std::unique_ptr<RouteCache>> open(std::shared_ptr<LmdbEnv> env);

  // The stored table: not_found when nothing was saved yet, parse_error
  // when the record is corrupt, io_error when LMDB fails.
  Result<RouteTable> load() const;
  // Stores table durably. Returns conflict if the cache holds a newer epoch
  // (the caller is writing an old table: out-of-order delivery), so the
  // cache never goes back. The same epoch is rewritten; a corrupt record is
  // replaced.
  Status save(const RouteTable& table);
  // Removes the record (for operators and tests); ok when already empty.
  Status clear();

 private:
  explicit RouteCache(LmdbKv kv) : kv_(std::move(kv)) {}
  LmdbKv kv_;
};

}  // namespace ezone
