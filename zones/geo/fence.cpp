#include "zones/geo/fence.hpp"

#include <algorithm>
#include <cmath>

#include "core/assert.hpp"

namespace ezone::geo {

double snap_degrees(double degrees) {
  // Scaling by a power of two is exact, and llround is deterministic, so every
  // node snaps a given input to the same value.
  return static_cast<double>(std::llround(degrees * kGridUnitsPerDegree)) / kGridUnitsPerDegree;
}

bool valid_lat_lon(double lat, double lon) {
  return lat >= -90.0 && lat <= 90.0 && lon >= -180.0 && lon <= 180.0;
}

size_t Fence::vertex_count() const {
  size_t n = 0;
  for (const Polygon& p : polygons)
    for (const Ring& r : p.rings) n += r.size();
  return n;
}

Result<FenceSet> FenceSet::from_fences(std::vector<Fence> fences) {
  std::sort(fences.begin(), fences.end(),
            [](const Fence& a, const Fence& b) { return a.name < b.name; });
  for (size_t i = 1; i < fences.size(); ++i) {
    if (fences[i].name == fences[i - 1].name)
      return Status(Errc::invalid_argument,
                    "two fences are named '" + fences[i].name + "' (" + fences[i - 1].source +
                        " and " + fences[i].source + "). Fix: give every fence file a unique name");
  }
  FenceSet set;
  for (size_t i = 0; i < fences.size(); ++i) fences[i].id = static_cast<FenceId>(i);
  set.fences_ = std::move(fences);
  return set;
}

const Fence& FenceSet::fence(FenceId id) const {
  EZONE_ASSERT(id < fences_.size(), "fence id " + std::to_string(id) + " out of range");
  return fences_[id];
}

const Fence* FenceSet::find(const std::string& name) const {
  auto it = std::lower_bound(fences_.begin(), fences_.end(), name,
                             [](const Fence& f, const std::string& n) { return f.name < n; });
  return it != fences_.end() && it->name == name ? &*it : nullptr;
}

size_t FenceSet::vertex_count() const {
  size_t n = 0;
  for (const Fence& f : fences_) n += f.vertex_count();
  return n;
}

}  // namespace ezone::geo
