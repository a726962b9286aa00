#include "zones/geo/fence_index.hpp"

namespace ezone::geo {

std::optional<FenceHit> FenceIndex::lookup(double lat, double lon) const {
  std::optional<GridPoint> p = to_grid(lat, lon);
  if (!p) return std::nullopt;
  return lookup(*p);
}

std::optional<FenceHit> FenceIndex::lookup(GridPoint p) const {
  if (p.x < root_x0_ || p.y < root_y0_) return std::nullopt;
  const int64_t col = (p.x - root_x0_) >> root_bits_;
  const int64_t row = (p.y - root_y0_) >> root_bits_;
  if (col >= root_cols_ || row >= root_rows_) return std::nullopt;
  uint32_t node = root_[static_cast<size_t>(row * root_cols_ + col)];
  int bits = root_bits_;
  const int64_t mask = (int64_t{1} << fanout_bits_) - 1;
  // Root cells start at multiples of their side, so every cell's bits are
  // the point's own coordinate bits: the child index is two bit fields.
  while ((node >> kTagShift) == kSplit) {
    bits -= fanout_bits_;
    const int64_t child = (((p.y >> bits) & mask) << fanout_bits_) | ((p.x >> bits) & mask);
    node = nodes_[(node & kPayloadMask) + static_cast<size_t>(child)];
  }
  switch (node >> kTagShift) {
    case kFull: return hit(node & kPayloadMask);
    case kLeaf: {
      const int64_t half = int64_t{1} << (bits - 1);
      GridPoint centre{((p.x >> bits) << bits) + half, ((p.y >> bits) << bits) + half};
      return lookup_leaf(node & kPayloadMask, p, centre);
    }
    default: return std::nullopt;
  }
}

std::optional<FenceHit> FenceIndex::lookup_leaf(uint32_t offset, GridPoint p, GridPoint centre) const {
  // Candidates are in fence-id order, so the first polygon that contains p
  // names the winner under the overlap rule.
  const uint32_t* w = &leaf_words_[offset];
  for (;;) {
    const uint32_t flags = w[0];
    const uint32_t runs = w[1];
    w += 2;
    bool inside = (flags & kCentreInside) != 0;
    for (uint32_t r = 0; r < runs; ++r) {
      const uint32_t m = w[0];
      const uint32_t* v = w + 1;
      for (uint32_t i = 0; i + 1 < m; ++i, v += 2)
        inside ^= segment_crosses_edge(p, centre, GridPoint{v[0], v[1]}, GridPoint{v[2], v[3]});
      w += 1 + 2 * m;
    }
    if (inside) return hit(flags & kPayloadMask);
    if (flags & kLastInLeaf) return std::nullopt;
  }
}

size_t FenceIndex::memory_bytes() const {
  return sizeof(*this) + root_.capacity() * sizeof(uint32_t) + nodes_.capacity() * sizeof(uint32_t) +
         leaf_words_.capacity() * sizeof(uint32_t) + fence_shard_.capacity() * sizeof(ShardId);
}

bool polygon_contains(const Polygon& polygon, GridPoint p) {
  bool inside = false;
  for (const Ring& ring : polygon.rings) {
    for (size_t i = 0; i + 1 < ring.size(); ++i) {
      GridPoint a = *to_grid(ring[i].lat, ring[i].lon);
      GridPoint b = *to_grid(ring[i + 1].lat, ring[i + 1].lon);
      inside ^= ray_crosses_edge(a, b, p);
    }
  }
  return inside;
}

bool fence_contains(const Fence& fence, GridPoint p) {
  for (const Polygon& polygon : fence.polygons)
    if (polygon_contains(polygon, p)) return true;
  return false;
}

std::optional<FenceId> brute_force_lookup(const FenceSet& fences, GridPoint p) {
  for (const Fence& fence : fences.fences())
    if (fence_contains(fence, p)) return fence.id;
  return std::nullopt;
}

}  // namespace ezone::geo
