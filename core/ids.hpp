// Vocabulary ids shared by every layer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ezone {

// A shard: the unit of ownership and movement. Ids are small (< 1024) because
// order ids carry them in their bits.
using ShardId = uint32_t;
constexpr ShardId kShardIdMax = 1023;

// A route-table epoch: increases by one with every committed change.
using Epoch = int64_t;

// An ezone's name: 1..kEzoneNameBytesMax of [a-z0-9_-]. It appears in keys,
// URLs, metric labels and logfmt lines, so it needs no quoting anywhere.
constexpr size_t kEzoneNameBytesMax = 32;
inline bool valid_ezone_name(const std::string& name) {
  if (name.empty() || name.size() > kEzoneNameBytesMax) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  return true;
}

}  // namespace ezone
