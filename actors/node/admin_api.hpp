// The admin HTTP API of a node:
//   GET /healthz            "ok" while serving
//   GET /admin/v1/cluster   this node, its peers and their state (with each
//                           peer's admin address from the config), etcd, version
//   GET /metrics            Prometheus text, every sample labelled ezone=...
// and, when the node runs a GZS, the routes/locate/merchants endpoints of
// admin_gzs.hpp.
//
// With an admin token ([admin] token or token_file, core/shared_token.hpp),
// every request but GET /healthz and GET /metrics must carry
// "Authorization: Bearer TOKEN"; others are answered 401 and counted in
// ezone_admin_unauthorized_total{reason="missing"|"wrong"}. The check comes
// before any endpoint, so an unauthorized client learns nothing of which
// paths exist.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "actors/http/http_types.hpp"
#include "actors/node/etcd_session.hpp"
#include "config/node_config.hpp"
#include "core/metrics.hpp"
#include "zones/membership.hpp"

namespace ezone {

class Gzs;

struct AdminSources {
  const NodeConfig* config = nullptr;
  int64_t started_wall_ms = 0;
  std::function<std::shared_ptr<const MembershipView>()> membership;
  std::function<EtcdState()> etcd;
  Metrics* metrics = nullptr;
  Gzs* gzs = nullptr;  // optional
  // More endpoints (DAL/DRC): an answer, or nullopt for paths it does not serve.
  std::function<std::optional<HttpResponse>(const HttpRequest&)> extra;
  // Whether the node may write now (its lease, its fences); the reason when
  // not. Optional: without it /admin/v1/cluster has no "writes".
  std::function<bool(std::string*)> may_write;
};

// The JSON document of GET /admin/v1/cluster.
std::string render_cluster_json(const AdminSources& sources);

// All sources must outlive the handler.
HttpHandler make_admin_handler(AdminSources sources);

}  // namespace ezone
