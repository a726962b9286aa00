#include "boost_reference.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include <boost/geometry.hpp>
#include <boost/geometry/geometries/box.hpp>
#include <boost/geometry/geometries/point.hpp>
#include <boost/geometry/geometries/polygon.hpp>
#include <boost/geometry/index/rtree.hpp>

namespace ezone::geo {
namespace bg = boost::geometry;
namespace bgi = boost::geometry::index;

using BoostPoint = bg::model::point<double, 2, bg::cs::cartesian>;  // (lon, lat)
using BoostBox = bg::model::box<BoostPoint>;
using BoostPolygon = bg::model::polygon<BoostPoint>;
using RtreeValue = std::pair<BoostBox, size_t>;  // envelope, index into polygons

struct BoostReference::Impl {
  std::vector<BoostPolygon> polygons;
  std::vector<FenceId> fence_of;
  bgi::rtree<RtreeValue, bgi::rstar<16>> rtree;

  template <class Visit>
  void candidates(const BoostPoint& p, Visit visit) const {
    for (auto it = rtree.qbegin(bgi::intersects(p)); it != rtree.qend(); ++it) visit(it->second);
  }
};

namespace {

// Copies rings as they are: the same snapped coordinates FenceIndex uses.
// Orientation is not corrected: `within` counts windings, so either
// orientation answers the same.
BoostPolygon::ring_type to_boost(const Ring& ring) {
  BoostPolygon::ring_type out;
  for (const LonLat& v : ring) out.push_back(BoostPoint(v.lon, v.lat));
  return out;
}

BoostPolygon to_boost(const Polygon& polygon) {
  BoostPolygon out;
  out.outer() = to_boost(polygon.rings[0]);
  for (size_t k = 1; k < polygon.rings.size(); ++k) out.inners().push_back(to_boost(polygon.rings[k]));
  return out;
}

}  // namespace

BoostReference::BoostReference(const FenceSet& fences) : impl_(std::make_unique<Impl>()) {
  std::vector<RtreeValue> values;
  for (const Fence& fence : fences.fences()) {
    for (const Polygon& polygon : fence.polygons) {
      impl_->polygons.push_back(to_boost(polygon));
      impl_->fence_of.push_back(fence.id);
      values.emplace_back(bg::return_envelope<BoostBox>(impl_->polygons.back()), values.size());
    }
  }
  // The range constructor bulk-loads (packs) the tree: the fastest queries.
  impl_->rtree = bgi::rtree<RtreeValue, bgi::rstar<16>>(values.begin(), values.end());
}

BoostReference::~BoostReference() = default;

std::optional<FenceId> BoostReference::lookup(double lat, double lon) const {
  const BoostPoint p(lon, lat);
  std::optional<FenceId> best;
  impl_->candidates(p, [&](size_t i) {
    FenceId f = impl_->fence_of[i];
    if ((!best || f < *best) && bg::within(p, impl_->polygons[i])) best = f;
  });
  return best;
}

bool BoostReference::on_boundary(double lat, double lon) const {
  const BoostPoint p(lon, lat);
  bool boundary = false;
  impl_->candidates(p, [&](size_t i) {
    const BoostPolygon& poly = impl_->polygons[i];
    if (!boundary && bg::covered_by(p, poly) && !bg::within(p, poly)) boundary = true;
  });
  return boundary;
}

size_t BoostReference::polygon_count() const { return impl_->polygons.size(); }

}  // namespace ezone::geo
