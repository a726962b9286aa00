#include "zones/geo/fence_index.hpp"

#include <algorithm>

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
    const uint32_t* group = &words_[(node & kGroupLineMask) * kLineWords];
    const uint32_t lines = std::min((node & kPayloadMask) >> kGroupLineBits, kPrefetchLinesMax);
    for (uint32_t line = 1; line < lines; ++line) __builtin_prefetch(group + line * kLineWords);
    bits -= fanout_bits_;
    const int64_t child = (((p.y >> bits) & mask) << fanout_bits_) | ((p.x >> bits) & mask);
    node = group[child];
  }
  switch (node >> kTagShift) {
    case kFull: return hit(node & kPayloadMask);
    case kLeaf: {
      const GridPoint corner{(p.x >> bits) << bits, (p.y >> bits) << bits};
      return lookup_leaf(node & kPayloadMask, p, corner, bits);
    }
    default: return std::nullopt;
  }
}

namespace {

// The edges of one leaf entry's runs crossed by the segment p -> centre, as
// a parity; `at(v)` reads the vertex at v, kStep words each. Advances w
// past the entry.
template <int kStep, class At>
bool crossings(const uint32_t*& w, uint32_t runs, GridPoint p, GridPoint centre, At at) {
  bool odd = false;
  for (uint32_t r = 0; r < runs; ++r) {
    const uint32_t m = w[0];
    const uint32_t* v = w + 1;
    GridPoint a = at(v);
    for (uint32_t i = 1; i < m; ++i) {
      v += kStep;
      const GridPoint b = at(v);
      odd ^= segment_crosses_edge(p, centre, a, b);
      a = b;
    }
    w += 1 + kStep * m;
  }
  return odd;
}

}  // namespace

std::optional<FenceHit> FenceIndex::lookup_leaf(uint32_t offset, GridPoint p, GridPoint corner, int bits) const {
  const int64_t half = int64_t{1} << (bits - 1);
  const GridPoint centre{corner.x + half, corner.y + half};
  // Candidates are in fence-id order, so the first polygon that contains p
  // names the winner under the overlap rule.
  const uint32_t* w = &words_[offset];
  for (;;) {
    const uint32_t flags = w[0];
    const uint32_t format = w[1];
    const uint32_t runs = format & kRunsMask;
    w += 2;
    bool inside = (flags & kCentreInside) != 0;
    if (format & kCompact) {
      const int64_t unit = int64_t{1} << ((format >> kShiftShift) & 31);
      inside ^= crossings<1>(w, runs, p, centre, [&](const uint32_t* v) {
        return GridPoint{corner.x + static_cast<int16_t>(*v & 0xffff) * unit,
                         corner.y + static_cast<int16_t>(*v >> 16) * unit};
      });
    } else {
      inside ^= crossings<2>(w, runs, p, centre, [](const uint32_t* v) { return GridPoint{v[0], v[1]}; });
    }
    if (inside) return hit(flags & kPayloadMask);
    if (flags & kLastInLeaf) return std::nullopt;
  }
}

size_t FenceIndex::memory_bytes() const {
  return sizeof(*this) + root_.capacity() * sizeof(uint32_t) + words_.capacity() * sizeof(uint32_t) +
         fence_shard_.capacity() * sizeof(ShardId);
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
