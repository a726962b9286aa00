// GeoFences: everything GZS needs to turn a geo key into a shard, loaded in
// one call and immutable afterwards. GZS holds it in a
// shared_ptr<const GeoFences> inside its snapshot; request threads call
// locate() on whatever snapshot they hold, without locks.
//
// The shard owners here are the initial ones from the shard config. Once the
// cluster runs, the route table (with its epoch) says who owns a shard.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/status.hpp"
#include "zones/geo/fence.hpp"
#include "zones/geo/fence_index.hpp"
#include "zones/geo/geojson_loader.hpp"
#include "zones/geo/shard_config.hpp"

namespace ezone::geo {

struct GeoFences {
  ShardConfig shards;
  FenceSet fences;
  FenceIndex index;
  LoadReport report;

  struct Answer {
    const Fence* fence = nullptr;     // never null in an answer
    const ShardSpec* shard = nullptr;  // never null in an answer
  };
  // The fence (and its shard) containing (lat, lon), under the rules in
  // fence_index.hpp. nullopt outside every fence or for an invalid point.
  std::optional<Answer> locate(double lat, double lon) const;
};

// Reads the shard config, loads every fence in fences_dir and builds the
// index. Errors: the first failing step's Status (each names its file).
Result<std::shared_ptr<const GeoFences>> load_geo_fences(const std::string& fences_dir,
                                                         const std::string& shards_file,
                                                         const FenceIndexOptions& options = {});

}  // namespace ezone::geo
