#include "tools/loadgen/city_sampler.hpp"

#include <algorithm>
#include <cmath>

#include "zones/geo/grid_geometry.hpp"

namespace ezone::loadgen {
namespace {

constexpr double kKmPerDegreeLat = 111.32;
constexpr double kPi = 3.14159265358979323846;

// Shoelace area of a ring on an equirectangular projection around mean_lat.
double ring_area_km2(const geo::Ring& ring, double mean_lat) {
  const double kx = kKmPerDegreeLat * std::cos(mean_lat * kPi / 180.0);
  double twice = 0;
  for (size_t i = 0; i + 1 < ring.size(); ++i) {
    twice += ring[i].lon * ring[i + 1].lat - ring[i + 1].lon * ring[i].lat;
  }
  return std::fabs(twice) / 2 * kx * kKmPerDegreeLat;
}

double polygon_area_km2(const geo::Polygon& polygon) {
  if (polygon.rings.empty()) return 0;
  const geo::Ring& outer = polygon.rings[0];
  double lat_sum = 0;  // over distinct positions: the closing one repeats the first
  for (size_t i = 0; i + 1 < outer.size(); ++i) lat_sum += outer[i].lat;
  const double mean_lat = lat_sum / static_cast<double>(outer.size() - 1);
  double area = ring_area_km2(outer, mean_lat);
  for (size_t i = 1; i < polygon.rings.size(); ++i) area -= ring_area_km2(polygon.rings[i], mean_lat);
  return std::max(area, 0.0);
}

void add_to_pool(geo::FenceId id, double area_km2, std::vector<geo::FenceId>* fences,
                 std::vector<double>* cumulative) {
  const double before = cumulative->empty() ? 0.0 : cumulative->back();
  fences->push_back(id);
  cumulative->push_back(before + area_km2);
}

}  // namespace

double fence_area_km2(const geo::Fence& fence) {
  double area = 0;
  for (const geo::Polygon& p : fence.polygons) area += polygon_area_km2(p);
  return area;
}

Result<CitySampler> CitySampler::create(std::shared_ptr<const geo::GeoFences> fences) {
  if (!fences) return Status(Errc::invalid_argument, "no fences loaded");
  CitySampler s;
  s.fences_ = std::move(fences);
  for (const geo::Fence& f : s.fences_->fences.fences()) {
    Box box{90, -90, 180, -180};
    for (const geo::Polygon& p : f.polygons) {
      for (const geo::LonLat& v : p.rings.empty() ? geo::Ring{} : p.rings[0]) {
        box.lat_min = std::min(box.lat_min, v.lat);
        box.lat_max = std::max(box.lat_max, v.lat);
        box.lon_min = std::min(box.lon_min, v.lon);
        box.lon_max = std::max(box.lon_max, v.lon);
      }
    }
    s.boxes_.push_back(box);
    const double area = fence_area_km2(f);
    if (area <= 0) continue;
    add_to_pool(f.id, area, &s.all_.fences, &s.all_.cumulative_km2);
    auto it = std::find_if(s.by_shard_.begin(), s.by_shard_.end(),
                           [&](const auto& e) { return e.first == f.shard; });
    if (it == s.by_shard_.end()) it = s.by_shard_.insert(s.by_shard_.end(), {f.shard, Pool{}});
    add_to_pool(f.id, area, &it->second.fences, &it->second.cumulative_km2);
  }
  if (s.all_.fences.empty()) return Status(Errc::invalid_argument, "no fence has a positive area");
  std::sort(s.by_shard_.begin(), s.by_shard_.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return s;
}

bool CitySampler::draw_in_fence(geo::FenceId id, std::mt19937_64& rng, GeoPoint* out) const {
  const Box& box = boxes_[id];
  const geo::Fence& fence = fences_->fences.fence(id);
  std::uniform_real_distribution<double> lat(box.lat_min, box.lat_max), lon(box.lon_min, box.lon_max);
  for (int i = 0; i < kSampleDrawsPerFenceMax; ++i) {
    const double la = geo::snap_degrees(lat(rng));  // named: argument order is unspecified
    const double lo = geo::snap_degrees(lon(rng));
    auto grid = geo::to_grid(la, lo);
    if (!grid || !geo::fence_contains(fence, *grid)) continue;
    auto located = fences_->locate(la, lo);
    if (!located) continue;  // cannot happen for a contained point; be safe
    *out = GeoPoint{la, lo, located->shard->id};
    return true;
  }
  return false;
}

Result<GeoPoint> CitySampler::sample_from(const Pool& pool, std::mt19937_64& rng, const ShardId* required) const {
  std::uniform_real_distribution<double> pick(0.0, pool.cumulative_km2.back());
  for (int attempt = 0; attempt < kSampleFencesMax; ++attempt) {
    const auto it = std::upper_bound(pool.cumulative_km2.begin(), pool.cumulative_km2.end(), pick(rng));
    const size_t k = std::min(static_cast<size_t>(it - pool.cumulative_km2.begin()), pool.fences.size() - 1);
    GeoPoint point;
    if (!draw_in_fence(pool.fences[k], rng, &point)) continue;
    if (required && point.shard != *required) continue;  // an overlap gave it to a neighbour
    return point;
  }
  return Status(Errc::unavailable, "no point found in " + std::to_string(kSampleFencesMax) + " fences");
}

Result<GeoPoint> CitySampler::sample(std::mt19937_64& rng) const { return sample_from(all_, rng, nullptr); }

Result<GeoPoint> CitySampler::sample_in_shard(ShardId shard, std::mt19937_64& rng) const {
  for (const auto& [id, pool] : by_shard_) {
    if (id == shard) return sample_from(pool, rng, &shard);
  }
  return Status(Errc::not_found, "shard " + std::to_string(shard) + " has no fence with an area");
}

std::vector<ShardId> CitySampler::shards() const {
  std::vector<ShardId> out;
  for (const auto& e : by_shard_) out.push_back(e.first);
  return out;
}

std::vector<double> CitySampler::shard_area_share() const {
  std::vector<double> out;
  for (const auto& e : by_shard_) out.push_back(e.second.cumulative_km2.back() / all_.cumulative_km2.back());
  return out;
}

}  // namespace ezone::loadgen
