// Resolution: where a sharding key belongs, as GZS answers it from one
// immutable snapshot (fences, merchant map, route table).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/address.hpp"
#include "core/ids.hpp"
#include "core/status.hpp"
#include "zones/sharding_key.hpp"

namespace ezone {

struct Resolution {
  bool has_shard = true;      // false for an ezone key (a zone, not a shard)
  ShardId shard = 0;
  std::string shard_name;
  int64_t fence_id = -1;      // -1 when the key was not a geo point or merchant
  std::string fence_name;
  std::string owner;          // the owning ezone at `epoch`
  HostPort owner_http;        // the owner's router address
  bool write_forbidden = false;
  Epoch epoch = 0;
};

// Resolves a key against the current snapshot. Must be cheap and never block:
// it runs on HTTP I/O threads. Errors:
//   not_found     no fence contains the point, or the merchant is unknown
//   invalid_argument  the key cannot be resolved as given (e.g. an order id
//                 whose shard bits name no shard)
//   unavailable   no route table yet, or the shard has no owner
using Resolver = std::function<Result<Resolution>(const ShardingKey&)>;

}  // namespace ezone
