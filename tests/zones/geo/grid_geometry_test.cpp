#include "zones/geo/grid_geometry.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "zones/geo/fence.hpp"

namespace ezone::geo {
namespace {

bool ray_contains(const std::vector<GridPoint>& ring, GridPoint p) {
  bool inside = false;
  for (size_t i = 0; i + 1 < ring.size(); ++i) inside ^= ray_crosses_edge(ring[i], ring[i + 1], p);
  return inside;
}

bool segment_parity(const std::vector<GridPoint>& ring, GridPoint p, GridPoint c) {
  bool odd = false;
  for (size_t i = 0; i + 1 < ring.size(); ++i) odd ^= segment_crosses_edge(p, c, ring[i], ring[i + 1]);
  return odd;
}

}  // namespace

TEST(GridGeometry, SnapIsExactAndDeterministic) {
  EXPECT_EQ(snap_degrees(116.962890625), 116.962890625);  // already on the grid (k / 1024)
  const double s = snap_degrees(121.4737);
  EXPECT_LE(std::fabs(s - 121.4737), 0.5 / kGridUnitsPerDegree);
  EXPECT_EQ(snap_degrees(s), s);
  EXPECT_EQ(std::fmod(s * kGridUnitsPerDegree, 1.0), 0.0);
}

TEST(GridGeometry, ToGridRejectsInvalidPoints) {
  EXPECT_FALSE(to_grid(NAN, 0));
  EXPECT_FALSE(to_grid(0, NAN));
  EXPECT_FALSE(to_grid(90.0001, 0));
  EXPECT_FALSE(to_grid(0, -180.5));
  auto corner = to_grid(-90, -180);
  ASSERT_TRUE(corner);
  EXPECT_EQ(corner->x, 0);
  EXPECT_EQ(corner->y, 0);
  auto far = to_grid(90, 180);
  ASSERT_TRUE(far);
  EXPECT_LT(far->x, int64_t{1} << 31);
}

TEST(GridGeometry, EdgeRuleOnAUnitSquare) {
  // Counter-clockwise and clockwise must agree: the rule ignores orientation.
  const std::vector<GridPoint> ccw{{0, 0}, {4, 0}, {4, 4}, {0, 4}, {0, 0}};
  const std::vector<GridPoint> cw{{0, 0}, {0, 4}, {4, 4}, {4, 0}, {0, 0}};
  struct Case { GridPoint p; bool inside; const char* what; };
  const Case cases[] = {
      {{2, 2}, true, "interior"},      {{0, 2}, true, "left edge"},    {{4, 2}, false, "right edge"},
      {{2, 0}, true, "bottom edge"},   {{2, 4}, false, "top edge"},    {{0, 0}, true, "bottom-left corner"},
      {{4, 0}, false, "bottom-right"}, {{0, 4}, false, "top-left"},    {{4, 4}, false, "top-right"},
      {{5, 2}, false, "outside"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ray_contains(ccw, c.p), c.inside) << c.what;
    EXPECT_EQ(ray_contains(cw, c.p), c.inside) << c.what;
  }
}

// The property the index relies on: for any two points, the parity of edges
// crossed by the shifted segment between them equals the difference of their
// ray-test answers. Small integer coordinates make most cases degenerate:
// points on edges, segments through vertices, collinear overlaps.
TEST(GridGeometry, SegmentParityMatchesRayRuleInDegenerateCases) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> coord(0, 6);
  int checked = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    std::vector<GridPoint> ring;
    const int corners = 3 + static_cast<int>(rng() % 6);
    for (int i = 0; i < corners; ++i) {
      GridPoint v{coord(rng), coord(rng)};
      if (ring.empty() || ring.back() != v) ring.push_back(v);
    }
    if (ring.size() < 3 || ring.back() == ring.front()) continue;
    ring.push_back(ring.front());
    for (int k = 0; k < 10; ++k) {
      GridPoint p{coord(rng), coord(rng)}, c{coord(rng), coord(rng)};
      ASSERT_EQ(ray_contains(ring, p) != ray_contains(ring, c), segment_parity(ring, p, c))
          << "trial " << trial << " p=(" << p.x << "," << p.y << ") c=(" << c.x << "," << c.y << ")";
      ++checked;
    }
  }
  EXPECT_GT(checked, 100000);
}

TEST(GridGeometry, SegmentMeetsOpenBoxExcludesTheBorder) {
  EXPECT_TRUE(segment_meets_open_box({-1, 5}, {11, 5}, 0, 0, 10, 10));
  EXPECT_FALSE(segment_meets_open_box({0, -5}, {0, 15}, 0, 0, 10, 10)) << "runs along the left side";
  EXPECT_FALSE(segment_meets_open_box({-5, 5}, {5, 15}, 0, 0, 10, 10)) << "touches the corner (0, 10) only";
  EXPECT_TRUE(segment_meets_open_box({-5, 4}, {5, 14}, 0, 0, 10, 10)) << "cuts the corner";
  EXPECT_TRUE(segment_meets_open_box({3, 3}, {4, 4}, 0, 0, 10, 10)) << "fully inside";
  EXPECT_FALSE(segment_meets_open_box({11, 0}, {20, 20}, 0, 0, 10, 10));
}

}  // namespace ezone::geo
