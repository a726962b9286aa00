// Fences: the geo areas that map a point to a shard (DESIGN.md, "shard").
//
// A fence is one named area (for the real data: one city) made of polygons,
// each an outer ring plus holes. Fences are grouped into shards by the shard
// config (shard_config.hpp); GZS answers point -> fence -> shard with a
// FenceIndex (fence_index.hpp).
//
// Coordinates. Every coordinate is snapped on load to a fixed grid of
// 2^-22 degree (about 2.7 cm of latitude). Fence vertices and looked-up points
// are snapped the same way, so the index computes exactly (integer
// arithmetic, no rounding) on the very values stored here, and a point that
// lies on an edge is on it for every code path. The snapped values are exact
// doubles, so reference implementations (Boost.Geometry, S2) can be fed the
// same numbers.
//
// Edges are straight lines in (lon, lat), as GeoJSON viewers draw them (not
// geodesics as in S2); a fence must not cross the antimeridian.
//
// Order of coordinates: storage follows GeoJSON, (lon, lat). Public lookup
// functions take (lat, lon), the order in which keys arrive ("geo=LAT,LON").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/ids.hpp"
#include "core/status.hpp"

namespace ezone::geo {

// Grid resolution: 2^kGridBitsPerDegree units per degree. 22 bits keep every
// coordinate (offset to be non-negative) below 2^31 and every orientation
// determinant below 2^62, so int64 arithmetic is exact.
constexpr int kGridBitsPerDegree = 22;
constexpr double kGridUnitsPerDegree = 4194304.0;  // 2^22

// The nearest grid value to `degrees` (ties away from zero). Requires a
// finite input; the result is exactly representable.
double snap_degrees(double degrees);

// True if lat is in [-90, 90] and lon in [-180, 180] (so not NaN).
bool valid_lat_lon(double lat, double lon);

struct LonLat {
  double lon = 0;
  double lat = 0;
  bool operator==(const LonLat& o) const { return lon == o.lon && lat == o.lat; }
  bool operator!=(const LonLat& o) const { return !(*this == o); }
};

// A closed ring: front() == back(), at least 4 positions, at least 3
// distinct points, non-zero area, no two consecutive equal points. Rings may
// touch or cross themselves (real data does); containment is even-odd.
using Ring = std::vector<LonLat>;

// rings[0] is the outer ring, the rest are holes. A point is in the polygon
// if it is inside an odd number of its rings (even-odd rule). For a valid
// polygon (holes inside the outer ring, disjoint) that is "inside the outer
// ring and in no hole", the OGC meaning.
struct Polygon {
  std::vector<Ring> rings;
};

// Fence ids are dense: the index of the fence in name order (FenceSet), so
// every node that loads the same files gives every fence the same id.
using FenceId = uint32_t;

struct Fence {
  FenceId id = 0;
  std::string name;    // the file stem, e.g. "an1_hui1_an1_qing4"; unique
  std::string label;   // properties.name of the first feature, if any
  std::string source;  // the file it was read from
  ShardId shard = 0;
  // A point is in the fence if it is in any of its polygons.
  std::vector<Polygon> polygons;

  size_t vertex_count() const;  // positions in all rings, closing ones included
};

// The fences of one load, sorted by name; fence(i).id == i.
class FenceSet {
 public:
  FenceSet() = default;

  // Sorts by name and assigns ids. Fails with invalid_argument if two fences
  // share a name (their ids would depend on load order).
  static Result<FenceSet> from_fences(std::vector<Fence> fences);

  size_t size() const { return fences_.size(); }
  bool empty() const { return fences_.empty(); }
  const std::vector<Fence>& fences() const { return fences_; }
  // Requires id < size() (aborts otherwise: ids come from this set).
  const Fence& fence(FenceId id) const;
  // nullptr if no fence has that name.
  const Fence* find(const std::string& name) const;
  size_t vertex_count() const;

 private:
  std::vector<Fence> fences_;
};

}  // namespace ezone::geo
