// The GZS part of the admin API:
//   GET  /admin/v1/routes                the route table this node serves
//   POST /admin/v1/routes/move           {"shards": [..], "to": "sh", "expected_epoch": N?}
//                                        a raw route change (epoch CAS in etcd)
//   GET  /admin/v1/locate?key=K          who owns K (geo=LAT,LON | merchant=ID | order=ID)
//   POST /admin/v1/locate                {"keys": [..]}: many at once
//   PUT  /admin/v1/merchants/{id}        {"shard": S, "fence": "name"?}: cluster-wide
// and, on node.http, GZS's probe (probe_endpoint).
#pragma once

#include <optional>

#include "actors/gzs/gzs.hpp"
#include "actors/http/http_types.hpp"
#include "actors/router/endpoint.hpp"
#include "zones/sharding_key.hpp"

namespace ezone {

// Answers the request if its path belongs to the GZS admin API; nullopt
// otherwise. Runs on an admin thread: move and merchant updates block on etcd.
std::optional<HttpResponse> handle_gzs_admin(Gzs& gzs, const HttpRequest& request);

// GET /ezone/v1/probe with X-Ezone-Key: routed like any request, answered by
// the zone that owns the key with {"served_by", "key", "shard", "epoch",
// "hops"}. Operators and tests use it to see routing end to end
// (curl -H 'X-Ezone-Key: geo=31.23,121.47' HOST/ezone/v1/probe). gzs must
// outlive the endpoint.
Endpoint probe_endpoint(const std::string& ezone, const Gzs& gzs);

}  // namespace ezone
