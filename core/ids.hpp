// Vocabulary ids shared by every layer.
#pragma once

#include <cstdint>
#include <string>

namespace ezone {

// A shard: the unit of ownership and movement. Ids are small (< 1024) because
// order ids carry them in their bits.
using ShardId = uint32_t;
constexpr ShardId kShardIdMax = 1023;

// A route-table epoch: increases by one with every committed change.
using Epoch = int64_t;

}  // namespace ezone
