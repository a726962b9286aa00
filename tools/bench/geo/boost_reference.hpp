// The Boost.Geometry reference for fence lookups: an R-tree over polygon
// envelopes, then `within` on each candidate, the smallest fence id winning
// (the same overlap rule as FenceIndex). Used by the geo benchmark as the
// baseline and by the geo tests as the independent reference.
//
// Boost's `within` excludes the boundary, FenceIndex applies the half-open
// edge rule (grid_geometry.hpp); on_boundary() tells callers which points
// fall exactly on an edge, where the two may rightly differ.
//
// Boost headers stay in the .cpp: they cost seconds per translation unit.
#pragma once

#include <memory>
#include <optional>

#include "zones/geo/fence.hpp"

namespace ezone::geo {

class BoostReference {
 public:
  // Copies the polygons of `fences` and bulk-loads the R-tree.
  explicit BoostReference(const FenceSet& fences);
  ~BoostReference();
  BoostReference(const BoostReference&) = delete;
  BoostReference& operator=(const BoostReference&) = delete;

  // The smallest id of the fences whose polygon has the point strictly
  // within; nullopt if none. (lat, lon) like FenceIndex::lookup.
  std::optional<FenceId> lookup(double lat, double lon) const;
  // True if the point lies on the boundary of some polygon (covered_by but
  // not within).
  bool on_boundary(double lat, double lon) const;
  size_t polygon_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ezone::geo
