#include "actors/node/admin_api.hpp"

#include <nlohmann/json.hpp>

#include "actors/node/admin_gzs.hpp"
#include "core/build_info.hpp"
#include "core/shared_token.hpp"

namespace ezone {
namespace {

using nlohmann::json;

json peer_json(const MemberInfo& m) {
  return json{{"ezone", m.ezone},
              {"cluster", m.cluster.to_string()},
              {"state", peer_state_name(m.state)},
              {"since_ms", m.since_wall_ms},
              {"last_seen_ms", m.last_seen_wall_ms},
              {"node_id", m.node_id},
              {"incarnation", std::to_string(m.incarnation)},
              {"last_epoch", m.last_epoch},
              {"reason", m.reason},
              {"transitions", m.transitions}};
}

json etcd_json(const NodeConfig& config, const EtcdState& etcd) {
  json endpoints = json::array();
  for (const auto& e : config.etcd.endpoints) endpoints.push_back(e.to_string());
  return json{{"endpoints", endpoints},
              {"reachable", etcd.reachable},
              {"since_ms", etcd.since_wall_ms},
              {"last_ok_ms", etcd.last_ok_wall_ms},
              {"last_error", etcd.last_error},
              {"lease_id", etcd.lease_id},
              {"registered", etcd.registered}};
}

// Whether path may be read without the admin token: load balancers' health
// checks and metrics scrapers rarely hold secrets, and neither answer says
// anything of the data.
bool open_path(const std::string& path) { return path == "/healthz" || path == "/metrics"; }

HttpResponse unauthorized(bool sent) {
  HttpResponse r = HttpResponse::error(
      401, sent ? "the admin token sent is not this node's: check the token file ([admin] token_file)"
                : "this node's admin API needs its admin token: send \"Authorization: Bearer TOKEN\" (ezctl "
                  "--admin-token-file FILE, or the environment variable " +
                      std::string(kAdminTokenEnv) + ")");
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"ezone-admin\"");
  return r;
}

}  // namespace

std::string render_cluster_json(const AdminSources& s) {
  auto view = s.membership();
  const NodeConfig& c = *s.config;
  json peers = json::array();
  for (const auto& [ezone, m] : view->peers()) {
    json peer = peer_json(m);
    for (const PeerConfig& p : c.peers)  // its admin address, from this node's config
      if (p.ezone == ezone && p.admin.port != 0) peer["admin"] = p.admin.to_string();
    peers.push_back(std::move(peer));
  }
  json doc{{"node",
            {{"ezone", c.ezone},
             {"node_id", view->self_node_id()},
             {"incarnation", std::to_string(view->self_incarnation())},
             {"http", c.http.to_string()},
             {"admin", c.admin.to_string()},
             {"cluster", c.cluster.to_string()},
             {"epoch", view->self_epoch()},
             {"started_ms", s.started_wall_ms}}},
           {"peers", peers},
           {"etcd", etcd_json(c, s.etcd())},
           {"version", build_version()},
           // Which shared secrets this node asks for (core/shared_token.hpp);
           // never the secrets themselves.
           {"tokens",
            {{"admin", !c.admin_api.token.empty()},
             {"service", !c.router.service_token.empty()},
             {"peer", !c.router.peer_token.empty()}}},
           // Which links speak TLS ([tls], and [etcd]'s ca_file).
           {"tls",
            {{"admin", c.tls.enabled()},
             {"client_certs", c.tls.enabled() && c.tls.client_certs},
             {"http", c.tls.enabled() && c.tls.http},
             {"cluster", c.tls.enabled() && c.tls.cluster},
             {"etcd", static_cast<bool>(c.etcd.tls)}}}};
  if (s.may_write) {
    std::string why;
    const bool allowed = s.may_write(&why);
    doc["writes"] = json{{"allowed", allowed}, {"fenced", allowed ? "" : why}};
  }
  return doc.dump(2) + "\n";
}

HttpHandler make_admin_handler(AdminSources sources) {
  Counter* not_found = &sources.metrics->counter("ezone_admin_not_found_total",
                                                 "Admin requests for unknown paths");
  const char* refused_help = "Admin requests refused 401 for lacking the admin token, by reason";
  auto refused = [&](const char* reason) {
    return &sources.metrics->counter("ezone_admin_unauthorized_total", refused_help, {{"reason", reason}});
  };
  Counter* no_token = refused("missing");
  Counter* wrong_token = refused("wrong");
  sources.metrics->gauge("ezone_admin_token_required", "1 when the admin API asks for the admin token, 0 when open")
      .set(sources.config->admin_api.token.empty() ? 0 : 1);
  return [sources = std::move(sources), not_found, no_token, wrong_token](const HttpRequest& req) {
    std::string path = req.path();
    const LiveToken& token = sources.config->admin_api.token;
    if (!token.empty() && !open_path(path)) {
      const std::string* sent = req.find_header("authorization");
      if (!bearer_matches(sent, token)) {
        (sent ? wrong_token : no_token)->inc();
        return unauthorized(sent != nullptr);
      }
    }
    if (sources.gzs)
      if (auto answer = handle_gzs_admin(*sources.gzs, req)) return *answer;
    if (sources.extra)
      if (auto answer = sources.extra(req)) return *answer;
    bool known = open_path(path) || path == "/admin/v1/cluster";
    if (!known) {
      not_found->inc();
      return HttpResponse::error(404, "no admin endpoint " + path +
                                          "; try /healthz, /admin/v1/cluster or /metrics");
    }
    if (req.method != "GET")
      return HttpResponse::error(405, req.method + " not allowed on " + path + "; use GET");
    if (path == "/healthz") return HttpResponse::text(200, "ok\n");
    if (path == "/metrics") {
      HttpResponse r = HttpResponse::text(200, sources.metrics->render());
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      return r;
    }
    return HttpResponse::json(200, render_cluster_json(sources));
  };
}

}  // namespace ezone
