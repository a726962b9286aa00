// FenceIndex: point -> fence -> shard, the geo half of GZS's hot path.
//
// Rules (every path through the index applies them, and so does the brute
// force below, which tests compare against):
//   - Points and vertices are on the 2^-22 degree grid (fence.hpp).
//   - A polygon contains a point under the even-odd rule over its rings; a
//     fence contains it if any of its polygons does.
//   - EDGE RULE: a point exactly on a boundary is treated as the point an
//     infinitesimal step to its right (and up, on a horizontal edge); see
//     grid_geometry.hpp. On a shared border exactly one side owns the point.
//   - OVERLAP RULE: real neighbouring fences overlap slightly along their
//     borders. A point inside several fences belongs to the one with the
//     smallest fence id. Ids are positions in name order (FenceSet), so every
//     node that loaded the same files answers the same.
// Boost.Geometry's `within` excludes the boundary, so on valid polygons it
// agrees with these rules everywhere except exactly on edges (measure zero
// for real points); tests account for that explicitly. (Where rings cross
// each other Boost counts windings, not parity. Boost's is_valid rejects 61
// of the 4113 real polygons for rings that touch themselves or spike, which
// both rules read alike; one polygon, in tai2_wan1_jia1_yi4_xian4, has a
// proper crossing, and no test point has hit the area it could affect.)
//
// Structure: a root grid of power-of-two cells over the fences' bounding
// box. A cell is empty, full (inside one fence for every point, answered at
// once), split into 2^b x 2^b children, or a leaf. A leaf lists, per
// candidate polygon in fence-id order, whether the cell centre is inside and
// the few edges that touch the cell. A lookup walks to its cell, then counts
// the edges crossed by the segment from the point to the centre: each
// crossing flips the centre's answer. All arithmetic is exact (int64), so
// build and lookup agree bit for bit with the edge rule.
//
// Cost (tools/bench/geo, 392 real cities, 2.1M vertices): about 30-40 ns
// per lookup for uniform points and 200-400 ns within metres of a border.
// Near a border the time is memory latency, not arithmetic (about 40 ns
// of it with the leaves of up to 16 edges all cached): the index (22 MB) is
// far larger than the caches, and on this virtual machine one trip to
// memory takes 100-200 ns.
// So the layout keeps the trips few and lets them overlap: a split cell's
// children and the blocks of its leaf children share one stretch of memory
// (a group) that a lookup requests whole, leaves are line-aligned and
// usually hold vertices in one word (compact_leaves), and the big arrays ask
// for transparent huge pages (huge_page_allocator.hpp), without which TLB
// misses double the near-border time.
//
// Thread safety: immutable after build; lookup() is const and touches no
// shared mutable state, so any number of request threads may call it on the
// snapshot they hold (GZS keeps it in a shared_ptr<const ...>).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/ids.hpp"
#include "core/status.hpp"
#include "zones/geo/fence.hpp"
#include "zones/geo/grid_geometry.hpp"
#include "zones/geo/huge_page_allocator.hpp"

namespace ezone::geo {

struct FenceHit {
  FenceId fence = 0;
  ShardId shard = 0;
  bool operator==(const FenceHit& o) const { return fence == o.fence && shard == o.shard; }
  bool operator!=(const FenceHit& o) const { return !(*this == o); }
};

struct FenceIndexOptions {
  // The root cell is the smallest power of two for which the root grid over
  // the fences' bounding box has at most this many cells (4 bytes each).
  size_t root_cells_max = size_t{1} << 18;
  // A split cell has 2^fanout_bits x 2^fanout_bits children (1..4).
  int fanout_bits = 2;
  // A cell that touches at most this many edges becomes a leaf. 32 rather
  // than 16: near borders about 5% faster (fewer levels; the leaf's extra
  // edges cost less than a wait for memory), 22 instead of 30 MB on the
  // real fences, uniform points about 7% slower (BENCHMARKS.md).
  size_t leaf_edges_max = 32;
  // Cells are never split below 2^min_cell_bits grid units (2^9 = 14 m of
  // latitude); such a leaf keeps all its edges (it sits on a vertex where
  // many edges meet).
  int min_cell_bits = 9;
  // Leaves store a vertex in one word, as two 16-bit offsets from the
  // cell's corner in units of 2^s, when every vertex of a candidate polygon
  // fits that way (s is the largest power of two dividing all the offsets;
  // real data sits on a coarse grid, so nearly every leaf does). Halving the
  // leaves halves the memory a lookup near a border reads. false: every
  // leaf keeps full coordinates (tests compare the two).
  bool compact_leaves = true;
};

struct FenceIndexStats {
  size_t fences = 0;
  size_t polygons = 0;
  size_t edges = 0;
  size_t root_cells = 0;
  int root_cell_bits = 0;      // root cell side = 2^root_cell_bits grid units
  size_t split_cells = 0;
  size_t full_cells = 0;       // cells answered without any edge test
  size_t empty_cells = 0;
  size_t leaves = 0;
  size_t leaf_entries = 0;     // (leaf, polygon) pairs
  size_t leaf_edges = 0;       // edges stored over all leaves
  size_t leaf_runs = 0;        // runs of consecutive edges over all leaves
  size_t compact_entries = 0;  // leaf entries stored with 16-bit offsets
  size_t leaf_edges_max_seen = 0;
  int depth_max = 0;           // splits below the root
  size_t memory_bytes = 0;
  double build_ms = 0;
};

class FenceIndex {
 public:
  // An empty index: every lookup misses.
  FenceIndex() = default;

  // Builds the index over `fences` (which it does not keep; leaves copy the
  // vertices they need). Takes fences as the loader makes them; coordinates
  // need not be snapped (they are snapped here), but must be in range.
  // Errors: invalid_argument if options are out of range, a vertex is out of
  // range, or the set exceeds the index's limits (2^30 fences, 2^32
  // vertices, 2^30 nodes or leaf words).
  static Result<FenceIndex> build(const FenceSet& fences, const FenceIndexOptions& options = {});

  // The fence containing (lat, lon) under the rules above, with its shard.
  // nullopt if no fence contains it, or lat/lon is NaN or out of range.
  std::optional<FenceHit> lookup(double lat, double lon) const;
  std::optional<FenceHit> lookup(GridPoint p) const;

  // Bytes held by the index (capacities of its arrays).
  size_t memory_bytes() const;
  const FenceIndexStats& stats() const { return stats_; }

 private:
  friend class FenceIndexBuilder;

  // Node: 2-bit tag | 30-bit payload.
  //   empty: no fence;  full: payload = fence id;
  //   split: payload = the group's first line in words_ (kGroupLineBits)
  //          | the group's length in lines (capped) << kGroupLineBits;
  //   leaf:  payload = offset of the leaf's block in words_.
  // A split cell's GROUP is one line-aligned stretch of words_: its 4^b
  // children, then the blocks of those children that are leaves. A lookup
  // that enters a group asks for all of its lines at once (up to
  // kPrefetchLinesMax), so the child it reads and that child's leaf arrive
  // together: near a border, one wait for memory per level instead of two.
  static constexpr uint32_t kTagShift = 30;
  static constexpr uint32_t kPayloadMask = (uint32_t{1} << kTagShift) - 1;
  enum Tag : uint32_t { kEmpty = 0, kFull = 1, kSplit = 2, kLeaf = 3 };
  static constexpr int kGroupLineBits = 24;  // words_ up to 2^24 lines (1 GiB)
  static constexpr uint32_t kGroupLineMask = (uint32_t{1} << kGroupLineBits) - 1;
  static constexpr uint32_t kGroupLinesMax = (kPayloadMask >> kGroupLineBits);  // 63
  static constexpr uint32_t kPrefetchLinesMax = 24;
  static constexpr size_t kLineWords = 64 / sizeof(uint32_t);

  // A leaf block is self-contained, so a lookup reads one short stretch of
  // memory (near borders, cache misses cost more than the edge tests):
  //   per candidate polygon, in fence-id order:
  //     fence id | kCentreInside | kLastInLeaf
  //     number of runs | kCompact | s << kShiftShift
  //     per run of consecutive ring edges: vertex count m, then m vertices:
  //       full:    two words, x and y;
  //       compact: one word, (y - corner.y) / 2^s in the high 16 bits and
  //                (x - corner.x) / 2^s in the low 16, both signed (every
  //                offset is a multiple of 2^s, so both are exact).
  static constexpr uint32_t kCentreInside = uint32_t{1} << 31;
  static constexpr uint32_t kLastInLeaf = uint32_t{1} << 30;
  static constexpr uint32_t kCompact = uint32_t{1} << 31;
  static constexpr int kShiftShift = 24;
  static constexpr uint32_t kRunsMask = (uint32_t{1} << kShiftShift) - 1;

  std::optional<FenceHit> hit(uint32_t fence) const { return FenceHit{fence, fence_shard_[fence]}; }
  std::optional<FenceHit> lookup_leaf(uint32_t offset, GridPoint p, GridPoint corner, int bits) const;

  int64_t root_x0_ = 0;  // multiples of the root cell side
  int64_t root_y0_ = 0;
  int64_t root_cols_ = 0;
  int64_t root_rows_ = 0;
  int root_bits_ = 0;
  int fanout_bits_ = 2;
  std::vector<uint32_t, HugePageAllocator<uint32_t>> root_;
  std::vector<uint32_t, HugePageAllocator<uint32_t>> words_;  // groups and leaf blocks
  std::vector<ShardId> fence_shard_;
  FenceIndexStats stats_;
};

// The rules above, by brute force over every ring (O(vertices)); what
// FenceIndex::lookup must return. For tests and tools, not the hot path.
bool polygon_contains(const Polygon& polygon, GridPoint p);
bool fence_contains(const Fence& fence, GridPoint p);
std::optional<FenceId> brute_force_lookup(const FenceSet& fences, GridPoint p);

}  // namespace ezone::geo
