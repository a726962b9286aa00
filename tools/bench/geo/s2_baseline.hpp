// The S2 baseline for fence lookups: a MutableS2ShapeIndex holding one
// S2LaxPolygonShape per fence polygon, queried with S2ContainsPointQuery
// (semi-open vertex model), the smallest fence id winning.
//
// S2LaxPolygonShape takes rings as they are (self-touching, either
// orientation), so every real polygon loads; S2Polygon would need S2Builder
// repairs first. S2 edges are geodesics, not straight lines in (lon, lat):
// near long edges S2 and the planar rules can rightly disagree by metres.
//
// S2 headers stay in the .cpp. Not thread-safe (the query keeps an
// iterator); the benchmark is single-threaded.
#pragma once

#include <memory>
#include <optional>

#include "zones/geo/fence.hpp"

namespace ezone::geo {

class S2Baseline {
 public:
  // Adds every polygon and forces the index build (S2 builds lazily).
  explicit S2Baseline(const FenceSet& fences);
  ~S2Baseline();
  S2Baseline(const S2Baseline&) = delete;
  S2Baseline& operator=(const S2Baseline&) = delete;

  std::optional<FenceId> lookup(double lat, double lon);
  size_t shape_count() const;
  size_t index_bytes() const;  // MutableS2ShapeIndex::SpaceUsed()

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ezone::geo
