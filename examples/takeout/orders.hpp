// The order flow. Every step runs in the zone that owns the order's shard
// (the router sends it there) as one DAL transaction.
//
//   POST /v1/orders               user      key: the delivery point (body lat, lon)
//     body {"user_id": N, "merchant_id": N, "lat": F, "lon": F, "amount_cents": N}
//     201  the order (state "created")
//     409  the merchant is in another shard than the delivery point, or unknown
//   POST /v1/orders/{id}/accept   merchant  key: the order id   created   -> accepted
//   POST /v1/orders/{id}/pickup   rider     key: the order id   accepted  -> picked_up
//   POST /v1/orders/{id}/deliver  rider     key: the order id   picked_up -> delivered
//     200  the order;  409 "order N is accepted; accept needs created" or "unknown order N"
//   GET  /v1/orders/{id}          user      key: the order id (a read)
//     200  the order;  404 "unknown order N"
//
// An order in JSON: {"id", "shard", "user_id", "merchant_id", "state", "lat",
// "lon", "amount_cents", "created_ms", "updated_ms", "served_by"}; ids are
// JSON numbers below 2^63 (order ids carry their shard:
// zones/routing/order_id.hpp).
//
// The user is not looked up: users replicate from their master
// asynchronously, and an order must not fail because the user registered a
// moment ago at another site.
#pragma once

#include <memory>
#include <vector>

#include "actors/router/endpoint.hpp"
#include "examples/takeout/service.hpp"

namespace ezone::takeout {

constexpr int64_t kAmountCentsMax = 100'000'000;  // one order: at most 1,000,000.00

// The endpoints above, in that order.
std::vector<Endpoint> order_endpoints(std::shared_ptr<const Service> service);

}  // namespace ezone::takeout
