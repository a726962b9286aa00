// The takeout sample app: a food-delivery service written only against the
// runtime's public API (ezone::Node's AppFactory, the DAL, GZS, the router's
// endpoints), as a user of ezone would write it.
//
// Its HTTP contract (load generators depend on it; keep it):
//   POST /v1/users               user      -> the users table's master ezone
//   POST /v1/merchants           merchant  key: body lat, lon
//   POST /v1/orders              user      key: body lat, lon (the delivery point)
//   POST /v1/orders/{id}/accept  merchant  key: the order id
//   POST /v1/orders/{id}/pickup  rider     key: the order id
//   POST /v1/orders/{id}/deliver rider     key: the order id
//   GET  /v1/orders/{id}         user      key: the order id
// Bodies and answers: users.hpp, merchants.hpp, orders.hpp. Common rules:
//   - every request is served in the zone that owns its key; the router
//     forwards it there, and the answer's X-Ezone header (and "served_by")
//     names that zone;
//   - malformed input is a 400 {"error": ...} counted in
//     ezone_takeout_bad_requests_total{endpoint};
//   - a transaction the DAL refuses is a 503 + Retry-After when retrying
//     helps (write-forbidden shard, no lease, epoch races, full queue), a 409
//     otherwise, with the DAL's message and "refusal": its reason.
//
// Schema: config/schemas/takeout.toml (users global-zone; merchants and
// orders sharding-zone on column `shard`).
#pragma once

#include "actors/node/node.hpp"

namespace ezone {

// The app's factory for NodeOptions::app (ezoned: [app] name = "takeout").
// The factory fails with invalid_argument when the DAL's schema lacks the
// tables above in the right classes.
AppFactory takeout_app();

}  // namespace ezone
