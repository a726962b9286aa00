// POST /v1/merchants: opening a merchant where it stands. The merchant's
// point is its sharding key, so it is created in the zone that owns that
// point's shard.
//
//   body {"name": "Dumpling House", "lat": 39.91, "lon": 116.40}
//   201  {"id": N, "shard": S, "name": ..., "lat": ..., "lon": ..., "served_by": EZONE}
//   400  a malformed body (counted per endpoint)
//
// Merchant ids are minted exactly like order ids (Gzs::mint_order_id, layout
// in zones/routing/order_id.hpp): the shard sits in bits 53..62, so a
// merchant id says which shard the merchant belongs to, and ids minted by
// different ezones never collide. They are JSON numbers below 2^63.
#pragma once

#include <memory>
#include <optional>

#include "actors/router/endpoint.hpp"
#include "examples/takeout/service.hpp"

namespace ezone::takeout {

Endpoint create_merchant_endpoint(std::shared_ptr<const Service> service);

// The shard a merchant id (or order id) carries, or invalid_argument.
Result<ShardId> id_shard(int64_t id);

// Mints an id for shard, answering the call itself (503 or 500) when it
// cannot: returns nullopt then.
std::optional<int64_t> mint_id(const Call& call, ShardId shard);

}  // namespace ezone::takeout
