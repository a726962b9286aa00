#include "actors/node/admin_snapshot.hpp"

#include <nlohmann/json.hpp>

#include "storage/dal/snapshot_store.hpp"

namespace ezone {

namespace {

using nlohmann::json;

constexpr std::string_view kPrefix = "/admin/v1/dal/snapshots";

HttpResponse failure(const Status& s) {
  const int code = s.code() == Errc::not_found ? 404
                   : s.code() == Errc::conflict ? 409
                   : s.code() == Errc::invalid_argument ? 400
                                                        : 500;
  return HttpResponse::error(code, s.message());
}

json info_json(const dal::SnapshotInfo& i) {
  return json{{"id", i.id},       {"state", i.state},     {"error", i.error},
              {"bytes", i.bytes}, {"crc32c", i.crc32c},   {"ezone", i.ezone},
              {"lineage", i.lineage}, {"created_wall_ms", i.created_wall_ms}};
}

HttpResponse piece(dal::SnapshotStore& store, const std::string& id, const HttpRequest& req) {
  auto offset = int_query_param(req, "offset", 0, int64_t{1} << 50);
  if (!offset) return failure(offset.status());
  auto bytes = int_query_param(req, "bytes", dal::kSnapshotPieceBytesMax, dal::kSnapshotPieceBytesMax);
  if (!bytes) return failure(bytes.status());
  auto data = store.read(id, static_cast<uint64_t>(offset.value()), static_cast<size_t>(bytes.value()));
  if (!data) return failure(data.status());
  HttpResponse r;
  r.content_type = "application/octet-stream";
  r.body = std::move(data.value());
  return r;
}

}  // namespace

std::optional<HttpResponse> handle_snapshot_admin(dal::SnapshotStore* store, const HttpRequest& req) {
  const std::string path = req.path();
  if (path.compare(0, kPrefix.size(), kPrefix) != 0) return std::nullopt;
  std::string rest = path.substr(kPrefix.size());
  if (!rest.empty() && rest[0] != '/') return std::nullopt;
  if (!store) return HttpResponse::error(404, "this node has no [dal]: no database to copy");
  if (rest.empty() || rest == "/") {
    if (req.method != "POST") return HttpResponse::error(405, req.method + " not allowed on " + path + "; use POST");
    auto made = store->create();
    if (!made) return failure(made.status());
    return HttpResponse::json(202, info_json(made.value()).dump());
  }
  rest.erase(0, 1);
  const size_t slash = rest.find('/');
  const std::string id = rest.substr(0, slash);
  const std::string tail = slash == std::string::npos ? "" : rest.substr(slash);
  if (tail == "/data") {
    if (req.method != "GET") return HttpResponse::error(405, req.method + " not allowed on " + path + "; use GET");
    return piece(*store, id, req);
  }
  if (!tail.empty()) return HttpResponse::error(404, "no such path: " + path);
  if (req.method == "DELETE") {
    if (Status s = store->remove(id); !s) return failure(s);
    return HttpResponse::json(200, json{{"removed", id}}.dump());
  }
  if (req.method != "GET") return HttpResponse::error(405, req.method + " not allowed on " + path + "; use GET or DELETE");
  auto info = store->info(id);
  if (!info) return failure(info.status());
  return HttpResponse::json(200, info_json(info.value()).dump());
}

}  // namespace ezone
