// GET /admin/v1/cache: the site's row cache (storage/cache/row_cache.hpp),
// for operators and `ezctl status`:
//
//   {"ezone": "bj", "tables": ["orders"], "entries": N, "bytes": B,
//    "lookups": {"hit": H, "miss": M}, "hit_ratio": H/(H+M),
//    "fills": {"stored": ..., "changed": ..., ...}, "invalidations": I,
//    "evictions": E, "clears": {"feed_trimmed": 1, ...}, "errors": 0,
//    "off": false}
//
// Counters are since the node started. 404 when the config has no [cache];
// another method 405.
#pragma once

#include <optional>
#include <string>

#include "actors/http/http_types.hpp"

namespace ezone {

class RowCache;

// The answer for GET /admin/v1/cache, nullopt for any other path. cache may
// be null (no [cache]).
std::optional<HttpResponse> handle_cache_admin(const RowCache* cache, const std::string& ezone,
                                               const HttpRequest& req);

}  // namespace ezone
