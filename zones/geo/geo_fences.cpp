#include "zones/geo/geo_fences.hpp"

#include "core/assert.hpp"

namespace ezone::geo {

std::optional<GeoFences::Answer> GeoFences::locate(double lat, double lon) const {
  std::optional<FenceHit> hit = index.lookup(lat, lon);
  if (!hit) return std::nullopt;
  const ShardSpec* shard = shards.find(hit->shard);
  // Every fence's shard came from this config when the set was loaded.
  EZONE_ASSERT(shard != nullptr, "fence shard " + std::to_string(hit->shard) + " missing from the shard config");
  return Answer{&fences.fence(hit->fence), shard};
}

Result<std::shared_ptr<const GeoFences>> load_geo_fences(const std::string& fences_dir,
                                                         const std::string& shards_file,
                                                         const FenceIndexOptions& options) {
  auto geo = std::make_shared<GeoFences>();
  Result<ShardConfig> shards = load_shard_config(shards_file);
  if (!shards) return shards.status();
  geo->shards = std::move(*shards);
  Result<FenceSet> fences = load_fences(fences_dir, geo->shards, &geo->report);
  if (!fences) return fences.status();
  geo->fences = std::move(*fences);
  Result<FenceIndex> index = FenceIndex::build(geo->fences, options);
  if (!index) return index.status();
  geo->index = std::move(*index);
  return std::shared_ptr<const GeoFences>(std::move(geo));
}

}  // namespace ezone::geo
