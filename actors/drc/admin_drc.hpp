// Admin endpoints of the DAL and DRC (served on node.admin):
//   GET /admin/v1/drc                 per-peer watermark, lag and errors, halted
//                                     tables, this site's outbox head and its
//                                     replicated tables (ezctl drc)
//   GET /admin/v1/drc/conflicts       kept losers of conflicts (?limit=N, default 100)
//   GET /admin/v1/dal/checksum?table=T[&shard=S]
//                                     checksum of a replicated table (or one
//                                     shard of it); equal on converged sites
//   GET /admin/v1/quarantine          quarantined rows (?released=1 adds released
//                                     ones, ?limit=N, default 1000)
//   POST /admin/v1/quarantine/resolve {"table": T, "pk": "[42]"}: releases a
//                                     row here and, replicated, everywhere
//   POST /admin/v1/dal/checks         starts an online consistency check of the
//                                     parts this ezone owns (storage/dal/check.hpp):
//                                     {"id", "tables", "shards", "chunk_rows",
//                                     "pause_ms"}, each optional; 202 {"id"}
//   GET /admin/v1/dal/checks/{id}     this site's results (?limit=N differences,
//                                     default 100)
//   POST /admin/v1/dal/checks/{id}/repair {"chunks": [{"table", "shard",
//                                     "chunk"}, ...]}: sends repair images of
//                                     chunks this site sent in the check
#pragma once

#include <optional>

#include "actors/drc/drc_service.hpp"
#include "actors/http/http_types.hpp"
#include "storage/dal/dal.hpp"

namespace ezone {

// The JSON document of GET /admin/v1/drc. drc may be null (no peers).
std::string render_drc_json(dal::Dal& dal, const DrcService* drc);

constexpr const char* kChecksPath = "/admin/v1/dal/checks";
// The two checks endpoints (admin_check.cpp). Malformed requests are
// counted in ezone_admin_bad_requests_total{endpoint="dal_checks"}.
HttpResponse handle_check_admin(dal::Dal& dal, const HttpRequest& request, Metrics* metrics);

// nullopt when the path is not one of the above.
std::optional<HttpResponse> handle_drc_admin(dal::Dal& dal, const DrcService* drc, const HttpRequest& request,
                                             Metrics* metrics = nullptr);

}  // namespace ezone
