// CitySampler: delivery points and merchant sites that look like a city's
// traffic, drawn inside the real geo-fences (zones/geo).
//
// Weighting. A fence (one city) is picked with probability proportional to
// its area, then a point uniformly inside it. Area is the only measure the
// repository has for every fence (no population list is committed), it needs
// no outside source, and it keeps every shard in the mix. It is a proxy with
// a known bias: large, thinly populated cities of the west (Xinjiang, Tibet,
// Inner Mongolia, Qinghai) get far more traffic than their people would
// give them, and dense coastal cities less. The load generator therefore
// exercises every shard and both zones, but its zone split is the area split
// of the shard config, not a population split.
//
// Area is computed per polygon on an equirectangular projection centred on
// the polygon's mean latitude (km per degree of longitude scaled by its
// cosine), outer ring minus holes: well within 1% for city-sized polygons,
// which is plenty for weights.
//
// Uniform in a fence: rejection sampling in the fence's bounding box with
// the repository's containment test (fence_contains, the same even-odd rule
// and grid as the router's index). Every returned point is also located with
// GeoFences::locate, and its shard is the one that answers (where
// neighbouring fences overlap, the index's overlap rule picks the owner, so
// the shard here is the shard the router will use).
//
// Thread safety: immutable after create(); sample functions are const and
// take the caller's RNG, so any number of threads may share one sampler.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "core/ids.hpp"
#include "core/status.hpp"
#include "zones/geo/geo_fences.hpp"

namespace ezone::loadgen {

// Rejection sampling gives up on one fence after this many draws (a sliver
// fence in a huge box), and a sample gives up after this many fences.
constexpr int kSampleDrawsPerFenceMax = 2000;
constexpr int kSampleFencesMax = 50;

struct GeoPoint {
  double lat = 0;
  double lon = 0;
  ShardId shard = 0;  // GeoFences::locate's answer for (lat, lon)
};

// Area in km^2 of a fence (sum over polygons of outer ring minus holes,
// never negative).
double fence_area_km2(const geo::Fence& fence);

class CitySampler {
 public:
  // Requires fences with at least one fence of positive area. invalid_argument
  // otherwise. Keeps `fences` alive.
  static Result<CitySampler> create(std::shared_ptr<const geo::GeoFences> fences);

  // A point in a fence picked by area. unavailable if kSampleFencesMax fences
  // in a row gave no point (cannot happen with real fences).
  Result<GeoPoint> sample(std::mt19937_64& rng) const;
  // The same, restricted to the fences of one shard, and the point's located
  // shard must be that shard. not_found if the shard has no fence.
  Result<GeoPoint> sample_in_shard(ShardId shard, std::mt19937_64& rng) const;

  // Shards that have at least one fence, ascending.
  std::vector<ShardId> shards() const;
  // Fraction of the total area in each shard (same order as shards()).
  std::vector<double> shard_area_share() const;
  const geo::GeoFences& fences() const { return *fences_; }

 private:
  struct Box {
    double lat_min = 0, lat_max = 0, lon_min = 0, lon_max = 0;
  };
  struct Pool {  // fences to pick from, by cumulative area
    std::vector<geo::FenceId> fences;
    std::vector<double> cumulative_km2;
  };

  Result<GeoPoint> sample_from(const Pool& pool, std::mt19937_64& rng, const ShardId* required) const;
  bool draw_in_fence(geo::FenceId id, std::mt19937_64& rng, GeoPoint* out) const;

  std::shared_ptr<const geo::GeoFences> fences_;
  std::vector<Box> boxes_;               // by fence id
  Pool all_;
  std::vector<std::pair<ShardId, Pool>> by_shard_;  // ascending shard
};

}  // namespace ezone::loadgen
