// The admin API's database copies, for a peer that re-seeds from this site
// (storage/dal/snapshot_store.hpp, storage/dal/reseed.hpp):
//
//   POST   /admin/v1/dal/snapshots              202 {"id", "state": "creating", ...}
//   GET    /admin/v1/dal/snapshots/{id}          200 {"id", "state", "bytes", "crc32c", "ezone",
//                                                     "lineage", "created_wall_ms", "error"}
//   GET    /admin/v1/dal/snapshots/{id}/data?offset=N[&bytes=M]
//                                                200 application/octet-stream, at most 4 MiB
//   DELETE /admin/v1/dal/snapshots/{id}          200 {"removed": id}
//
// 404 for an unknown id or without [dal], 409 while a copy is being made
// (or two are kept), 400 for a bad offset, 405 for another method. A copy
// holds the whole database: the admin address must be reachable from the
// peer sites and operators only.
#pragma once

#include <optional>

#include "actors/http/http_types.hpp"

namespace ezone {

namespace dal {
class SnapshotStore;
}

// The answer for the paths above, nullopt for any other. store may be null
// (no [dal]).
std::optional<HttpResponse> handle_snapshot_admin(dal::SnapshotStore* store, const HttpRequest& req);

}  // namespace ezone
