#include "zones/geo/grid_geometry.hpp"

#include <algorithm>
#include <cmath>

#include "zones/geo/fence.hpp"

namespace ezone::geo {

std::optional<GridPoint> to_grid(double lat, double lon) {
  if (!valid_lat_lon(lat, lon)) return std::nullopt;
  return GridPoint{std::llround(lon * kGridUnitsPerDegree) + kGridLonOffset,
                   std::llround(lat * kGridUnitsPerDegree) + kGridLatOffset};
}

bool segment_meets_open_box(GridPoint a, GridPoint b, int64_t x0, int64_t y0, int64_t x1, int64_t y1) {
  if (std::max(a.x, b.x) <= x0 || std::min(a.x, b.x) >= x1 || std::max(a.y, b.y) <= y0 ||
      std::min(a.y, b.y) >= y1)
    return false;
  // The spans overlap; the only other separating axis is the segment's
  // normal. The segment's line enters the open box iff some corner lies
  // strictly on each side of it (a line through a corner only, or along a
  // side, touches the closure but not the interior).
  int positive = 0;
  int negative = 0;
  for (GridPoint corner : {GridPoint{x0, y0}, GridPoint{x1, y0}, GridPoint{x0, y1}, GridPoint{x1, y1}}) {
    int64_t d = orient(a, b, corner);
    positive += d > 0;
    negative += d < 0;
  }
  return positive > 0 && negative > 0;
}

}  // namespace ezone::geo
