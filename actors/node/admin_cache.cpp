#include "actors/node/admin_cache.hpp"

#include <nlohmann/json.hpp>

#include "storage/cache/row_cache.hpp"

namespace ezone {

std::optional<HttpResponse> handle_cache_admin(const RowCache* cache, const std::string& ezone,
                                               const HttpRequest& req) {
  if (req.path() != "/admin/v1/cache") return std::nullopt;
  if (req.method != "GET") return HttpResponse::error(405, req.method + " not allowed on /admin/v1/cache; use GET");
  if (!cache) return HttpResponse::error(404, "this node has no row cache: its config names no [cache] tables");
  const RowCache::Stats s = cache->stats();
  nlohmann::json fills = nlohmann::json::object(), clears = nlohmann::json::object();
  for (const auto& [result, n] : s.fills) fills[result] = n;
  for (const auto& [reason, n] : s.clears) clears[reason] = n;
  const uint64_t lookups = s.hits + s.misses;
  nlohmann::json doc{{"ezone", ezone},
                     {"tables", s.tables},
                     {"entries", s.entries},
                     {"bytes", s.bytes},
                     {"lookups", {{"hit", s.hits}, {"miss", s.misses}}},
                     {"hit_ratio", lookups ? static_cast<double>(s.hits) / static_cast<double>(lookups) : 0.0},
                     {"fills", fills},
                     {"invalidations", s.invalidations},
                     {"evictions", s.evictions},
                     {"clears", clears},
                     {"errors", s.errors},
                     {"off", s.off}};
  return HttpResponse::json(200, doc.dump() + "\n");
}

}  // namespace ezone
