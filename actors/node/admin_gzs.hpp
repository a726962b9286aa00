// The GZS part of the admin API:
//   GET  /admin/v1/routes                the route table this node serves
//   POST /admin/v1/routes/move           {"shards": [..], "to": "sh", "expected_epoch": N?}
//                                        a raw route change (epoch CAS in etcd)
//   GET  /admin/v1/locate?key=K          who owns K (geo=LAT,LON | merchant=ID | order=ID)
//   POST /admin/v1/locate                {"keys": [..]}: many at once
//   PUT  /admin/v1/merchants/{id}        {"shard": S, "fence": "name"?}: cluster-wide
#pragma once

#include <optional>

#include "actors/gzs/gzs.hpp"
#include "actors/http/http_types.hpp"
#include "zones/sharding_key.hpp"

namespace ezone {

// Answers the request if its path belongs to the GZS admin API; nullopt
// otherwise. Runs on an admin thread: move and merchant updates block on etcd.
std::optional<HttpResponse> handle_gzs_admin(Gzs& gzs, const HttpRequest& request);

}  // namespace ezone
