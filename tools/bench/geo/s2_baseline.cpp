#include "s2_baseline.hpp"

#include <algorithm>
#include <vector>

#include <s2/mutable_s2shape_index.h>
#include <s2/s2contains_point_query.h>
#include <s2/s2lax_polygon_shape.h>
#include <s2/s2latlng.h>

namespace ezone::geo {

struct S2Baseline::Impl {
  MutableS2ShapeIndex index;
  std::vector<FenceId> fence_of;  // by shape id
  std::unique_ptr<S2ContainsPointQuery<MutableS2ShapeIndex>> query;
};

namespace {

// Twice the signed planar area of a ring in (lon, lat): > 0 if counter-
// clockwise. Fences are small enough that planar and spherical orientation
// agree.
double signed_area2(const Ring& ring) {
  double sum = 0;
  for (size_t i = 0; i + 1 < ring.size(); ++i) sum += ring[i].lon * ring[i + 1].lat - ring[i + 1].lon * ring[i].lat;
  return sum;
}

// S2 loops are implicitly closed (the repeated closing vertex is dropped)
// and keep their interior on the left: outer rings counter-clockwise, holes
// clockwise. The real data has outer rings clockwise; unreversed, S2 would
// read each city as the whole Earth minus the city.
S2LaxPolygonShape::Loop to_s2(const Ring& ring, bool hole) {
  S2LaxPolygonShape::Loop loop;
  for (size_t i = 0; i + 1 < ring.size(); ++i) loop.push_back(S2LatLng::FromDegrees(ring[i].lat, ring[i].lon).ToPoint());
  if ((signed_area2(ring) > 0) == hole) std::reverse(loop.begin(), loop.end());
  return loop;
}

}  // namespace

S2Baseline::S2Baseline(const FenceSet& fences) : impl_(std::make_unique<Impl>()) {
  for (const Fence& fence : fences.fences()) {
    for (const Polygon& polygon : fence.polygons) {
      std::vector<S2LaxPolygonShape::Loop> loops;
      for (size_t k = 0; k < polygon.rings.size(); ++k) loops.push_back(to_s2(polygon.rings[k], k > 0));
      int id = impl_->index.Add(std::make_unique<S2LaxPolygonShape>(loops));
      impl_->fence_of.resize(static_cast<size_t>(id) + 1);
      impl_->fence_of[static_cast<size_t>(id)] = fence.id;
    }
  }
  impl_->index.ForceBuild();
  impl_->query = std::make_unique<S2ContainsPointQuery<MutableS2ShapeIndex>>(
      &impl_->index, S2ContainsPointQueryOptions(S2VertexModel::SEMI_OPEN));
}

S2Baseline::~S2Baseline() = default;

std::optional<FenceId> S2Baseline::lookup(double lat, double lon) {
  std::optional<FenceId> best;
  impl_->query->VisitContainingShapes(S2LatLng::FromDegrees(lat, lon).ToPoint(), [&](S2Shape* shape) {
    FenceId f = impl_->fence_of[static_cast<size_t>(shape->id())];
    if (!best || f < *best) best = f;
    return true;
  });
  return best;
}

size_t S2Baseline::shape_count() const { return impl_->fence_of.size(); }
size_t S2Baseline::index_bytes() const { return impl_->index.SpaceUsed(); }

}  // namespace ezone::geo
