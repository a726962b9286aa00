// Query points for the geo benchmark and tests, from a seeded generator so a
// run can be repeated exactly. Every point is snapped to the fence grid
// (fence.hpp), so FenceIndex, Boost.Geometry and S2 see the same numbers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "zones/geo/fence.hpp"

namespace ezone::geo {

struct LatLon {
  double lat = 0;
  double lon = 0;
};

// China's bounding box, as the issue defines the uniform workload.
struct SampleBox {
  double lat_min = 18;
  double lat_max = 54;
  double lon_min = 73;
  double lon_max = 135;
};

// n points uniformly distributed in box.
std::vector<LatLon> uniform_points(size_t n, uint64_t seed, const SampleBox& box = {});

// n points between min_m and max_m metres from a fence border, on a random
// side: a boundary edge is picked with probability proportional to its
// length (so points spread evenly along borders, not by vertex density), a
// position along it uniformly, then the point is moved perpendicular to the
// edge (in local metres). Requires a non-empty set and 0 <= min_m <= max_m.
std::vector<LatLon> near_border_points(const FenceSet& fences, size_t n, uint64_t seed, double min_m = 1.0,
                                       double max_m = 5.0);

}  // namespace ezone::geo
