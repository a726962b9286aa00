// MerchantMap: merchant id -> {fence, shard} (issue 3: "each merchant
// belongs to a fence"). A request keyed `merchant=<id>` routes by the shard
// found here.
//
// It is an immutable snapshot. Updates (the admin API) never edit a map:
// with_update() and without() return a new map that shares almost all of its
// memory with the old one, so readers keep a consistent snapshot while the
// GZS publishes the next.
//
// Memory: a sorted vector of 16-byte entries (16 MB per million merchants),
// shared between snapshots, plus a small sorted overlay of changes since it
// was built. An update copies only the overlay; when the overlay reaches
// kMerchantOverlayMax entries the next update folds it into a new base, so
// updates cost O(overlay) amortised and lookups two binary searches.
//
// CSV file format (UTF-8 or ASCII, one merchant per line):
//
//     # comment lines start with '#'; blank lines are skipped
//     merchant_id,fence_id,shard       <- header, required, exactly one of
//     8812,17,3                           "merchant_id,shard" or
//     8813,17,3                           "merchant_id,fence_id,shard"
//
// merchant_id: 1..2^64-1; fence_id: 0..2^31-1 (the geo library's fence id;
// with the two-column header every merchant gets kNoFence); shard:
// 0..kShardIdMax. Fields are decimal, optionally surrounded by spaces; lines
// may end in "\r\n"; quotes are not supported. Each merchant appears once.
//
// Thread-safety: a MerchantMap is immutable; any number of threads may read
// one. Copying a map is cheap (two shared pointers).
#pragma once

#include <cstdint>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/ids.hpp"
#include "core/status.hpp"

namespace ezone {

constexpr int32_t kNoFence = -1;
constexpr size_t kMerchantOverlayMax = 4096;
// Longest CSV line accepted; the longest valid line is about 50 bytes.
constexpr size_t kMerchantCsvLineBytesMax = 256;

struct MerchantRoute {
  uint64_t merchant_id = 0;
  int32_t fence_id = kNoFence;
  ShardId shard = 0;

  bool operator==(const MerchantRoute& o) const {
    return merchant_id == o.merchant_id && fence_id == o.fence_id && shard == o.shard;
  }
};

class MerchantMap {
 public:
  // An empty map.
  MerchantMap();

  // Builds a map from entries in any order. Requires merchant_id >= 1, each
  // merchant once, fence_id >= 0 or kNoFence, shard <= kShardIdMax.
  // Returns invalid_argument naming the first offending merchant.
  static Result<MerchantMap> from_entries(std::vector<MerchantRoute> entries);
  // Reads the CSV format above. source names the input in errors. Returns
  // parse_error with "<source>:<line>: <problem>" for a bad header or row
  // (and, for a duplicated merchant, both line numbers).
  static Result<MerchantMap> parse_csv(std::istream& in, const std::string& source);
  // parse_csv on a file; not_found / io_error when it cannot be opened/read.
  static Result<MerchantMap> load_csv(const std::string& path);

  // O(log n). nullopt for an unknown merchant.
  std::optional<MerchantRoute> find(uint64_t merchant_id) const;
  size_t size() const { return size_; }

  // A map with this merchant added or changed. invalid_argument under the
  // rules of from_entries.
  Result<MerchantMap> with_update(const MerchantRoute& route) const;
  // A map without this merchant; not_found when it is not in the map.
  Result<MerchantMap> without(uint64_t merchant_id) const;

  // Every merchant, sorted by id (O(n); for export and tests).
  std::vector<MerchantRoute> entries() const;

 private:
  // An overlay entry: a change (or a removal) over the base.
  struct Change {
    MerchantRoute route;
    bool removed = false;
  };
  using Base = std::vector<MerchantRoute>;
  using Overlay = std::vector<Change>;

  MerchantMap(std::shared_ptr<const Base> base, std::shared_ptr<const Overlay> overlay,
              size_t size);
  MerchantMap with_change(const Change& change, bool existed) const;

  std::shared_ptr<const Base> base_;        // sorted by merchant_id, never null
  std::shared_ptr<const Overlay> overlay_;  // sorted by merchant_id, never null
  size_t size_ = 0;
};

}  // namespace ezone
