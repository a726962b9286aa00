#include "actors/node/node_impl.hpp"

#include "actors/dal/dal_http.hpp"
#include "actors/drc/admin_drc.hpp"
#include "actors/node/admin_cache.hpp"
#include "actors/node/admin_coord.hpp"
#include "actors/node/admin_gzs.hpp"
#include "actors/node/admin_snapshot.hpp"

namespace ezone {

AdminSources Node::Impl::admin_sources() {
  AdminSources sources{&config, started_wall_ms, [this] { return slot->get(); },
                       [this] { return etcd->state(); }, metrics.get(), gzs.get(), nullptr, nullptr};
  sources.may_write = [this](std::string* why) { return may_act(why); };
  sources.extra = [this](const HttpRequest& req) -> std::optional<HttpResponse> {
    if (auto answer = handle_soa_admin(soa.get(), config.source, req)) return answer;
    if (auto answer = handle_soa_registry_admin(soa_registry.get(), config.source, req)) return answer;
    if (auto answer = handle_incident_admin(incident_sources(), req)) return answer;
    if (auto answer = handle_cache_admin(cache.get(), config.ezone, req)) return answer;
    if (auto answer = handle_snapshot_admin(snapshots.get(), req)) return answer;
    if (tokens)
      if (auto answer = handle_token_admin(*tokens, req)) return answer;
    CoordAdminSources coord{config.ezone, coordinator.get(), dal.get(), {}, nullptr, nullptr,
                            config.admin_api.token, config.tls.client};
    if (ingress) {
      coord.served_per_shard = [this] { return ingress->router().served_per_shard(); };
      coord.served_recently = [this](int64_t window_ms) { return ingress->router().served_recently(window_ms); };
    }
    for (const PeerConfig& p : config.peers) coord.peers.push_back(p.ezone);
    if (auto answer = handle_coord_admin(coord, req)) return answer;
    if (auto answer = handle_fault_admin(fault_sources(), req)) return answer;
    if (dal) return handle_drc_admin(*dal, drc.get(), req, metrics.get());
    return std::nullopt;
  };
  return sources;
}

IncidentAdminSources Node::Impl::incident_sources() {
  IncidentAdminSources s{config.ezone, config.incident, nullptr,
                         &metrics->counter("ezone_admin_bad_requests_total", "Malformed admin requests, by endpoint",
                                           {{"endpoint", "incident"}})};
  if (ingress) s.answers = [this](int64_t window_ms) { return ingress->router().answers_recently(window_ms); };
  return s;
}

FaultAdminSources Node::Impl::fault_sources() {
  return FaultAdminSources{config.ezone,
                           config.source,
                           config.admin_api.allow_fault_injection,
                           fault.get(),
                           [this](std::string* why) { return may_act(why); },
                           logger,
                           &metrics->counter("ezone_fault_isolations_total",
                                             "Isolations of this node begun by fault injection (drills)")};
}

Status Node::Impl::start_app(const AppFactory& app, std::vector<Endpoint>& endpoints) {
  if (!app) return Status::ok();
  if (!dal) {
    return Status(Errc::invalid_argument, config.source + ": the application keeps its data in the DAL, but the "
                                                          "config has no [dal] section. Fix: add [dal] schema_file");
  }
  AppContext context{config, *dal, *gzs, *metrics, logger, cache.get()};
  auto made = app(context);
  if (!made) return Status(made.status().code(), config.source + ": the application failed to start: " + made.status().message());
  for (Endpoint& e : *made) endpoints.push_back(std::move(e));
  return Status::ok();
}

Status Node::Impl::start_http(std::vector<Endpoint> endpoints) {
  const LimitsConfig& l = config.limits;
  HttpServerOptions http_options{"http", "node.http", config.http, l.http_threads,
                                 l.http_body_bytes_max, l.http_header_bytes_max,
                                 l.http_connections_max, l.http_idle_timeout_ms, config.ezone};
  http_options.request_timeout_ms = config.router.request_deadline_ms;
  http_options.tls = config.tls.http_server;
  RouterConfig rc;
  rc.ezone = config.ezone;
  rc.hops_max = config.router.hops_max;
  rc.hold_ms = config.router.write_forbidden_hold_ms;
  rc.forwarded_key_hold_ms = config.router.forwarded_key_hold_ms;
  rc.retry_after_s = config.router.retry_after_s;
  rc.resolver = gzs->resolver();
  rc.epoch = [g = gzs.get()] { return g->epoch(); };
  rc.may_write = [this](std::string* why) { return may_act(why); };
  rc.fault = fault;
  rc.peer_token = config.router.peer_token;
  rc.service_token = config.router.service_token;
  if (rc.service_token.empty())
    logger->warn("event=internal_open ezone={} http={} detail=\"no router.service_token: the internal endpoints "
                 "(/dal/v1/tx runs SQL on the schema's tables, /drc/v1/changes streams every change) answer whoever "
                 "reaches this address; set router.service_token_file or keep it private\"",
                 config.ezone, config.http.to_string());
  if (rc.peer_token.empty())
    logger->info("event=router_trust ezone={} detail=\"no router.peer_token: route trail headers (X-Ezone-Epoch, "
                 "-Via) are trusted from clients too; strip them at the edge or set a token\"",
                 config.ezone);
  // A sampled W3C trace's router spans, tagged with this ezone (router.hpp,
  // "Tracing"), go to the log and to an OTLP collector ([tracing]).
  if (span_sink)
    rc.on_span = [sink = span_sink](const RouterSpan& r) { sink(router_span(r, unix_ns_now())); };
  rc.forwarder.connections_per_upstream_max = config.router.forward_connections_max;
  rc.forwarder.response_timeout_ms = config.router.forward_timeout_ms;
  if (config.tls.http) rc.forwarder.tls = config.tls.client;  // the peers' node.http speak TLS
  // The router's lanes, which the SOA proxy's calls go out on too.
  auto lanes = IoThreads::start(std::max(1, l.http_threads), "rt-" + config.ezone);
  if (!config.soa.services.empty()) {
    std::vector<std::string> zones{config.ezone};
    for (const PeerConfig& p : config.peers) zones.push_back(p.ezone);
    auto proxy = SoaProxy::start(config.ezone, zones, config.soa, lanes, *metrics, logger, span_sink);
    if (!proxy) {
      lanes->stop();
      return Status(proxy.status().code(), config.source + ": " + proxy.status().message());
    }
    soa = std::move(*proxy);
    for (Endpoint& e : soa->endpoints()) endpoints.push_back(std::move(e));
    if (config.soa.registration)
      soa_registry = std::make_unique<SoaRegistry>(config.ezone, *meta, *soa, *metrics, logger,
                                                   [this] { return etcd->state().reachable; });
  }
  endpoints.push_back(probe_endpoint(config.ezone, *gzs));
  if (dal) {
    endpoints.push_back(dal_tx_endpoint(*dal, *metrics));
    endpoints.push_back(dal_read_endpoint(*dal, cache.get(), *metrics));
    feed = std::make_unique<ChangeFeedHub>(*dal, *metrics);
    endpoints.push_back(feed->endpoint());
  }
  auto h = RouterIngress::start(std::move(rc), std::move(endpoints), http_options, *metrics, std::move(lanes));
  if (!h) return Status(h.status().code(), config.source + ": " + h.status().message());
  ingress = std::move(*h);
  tokens = std::make_unique<TokenReloader>(config, *metrics, logger);
  // Admin last: a node whose /healthz answers serves everything else too.
  HttpServerOptions admin_options = http_options;
  admin_options.name = "admin";
  admin_options.config_key = "node.admin";
  admin_options.bind = config.admin;
  admin_options.threads = l.admin_threads;
  admin_options.tls = config.tls.server;
  if (config.tls.enabled())
    logger->info("event=tls ezone={} admin={} client_certs={} http={} cluster={} cert={}", config.ezone,
                 config.admin.to_string(), config.tls.client_certs, config.tls.http, config.tls.cluster,
                 config.tls.cert_file);
  if (config.admin_api.token.empty())
    logger->warn("event=admin_open ezone={} admin={} detail=\"no [admin] token: whoever reaches this address may move "
                 "routes, fail zones over and download the database; set admin.token_file or keep the address "
                 "private\"",
                 config.ezone, config.admin.to_string());
  auto a = HttpServer::start(admin_options, make_admin_handler(admin_sources()), *metrics);
  if (!a) return Status(a.status().code(), config.source + ": " + a.status().message());
  admin = std::move(*a);
  return Status::ok();
}

void Node::Impl::make_coordinator() {
  CoordinatorConfig cc;
  cc.ezone = config.ezone;
  const CoordinatorSettings& s = config.coordinator;
  cc.auto_failover = s.auto_failover;
  cc.engine = coord::EngineOptions{s.ack_timeout_ms, s.apply_timeout_ms, s.skew_margin_ms, s.failover_wait_ms};
  cc.poll_ms = s.poll_ms;
  cc.admin_token = config.admin_api.token;
  cc.admin_tls = config.tls.client;
  // Made before the admin server serves, so /admin/v1/workflows answers
  // from the first request; its thread starts once the etcd session runs.
  // An isolated node drives nothing, not even in the moments before its
  // lease runs out: a dark IDC cannot reach etcd or the other sites.
  coordinator = std::make_unique<Coordinator>(
      *meta, cc, [this] { return etcd->state().lease_id; },
      [this] { return !fault->isolated() && may_act(nullptr); }, logger, *metrics);
}

}  // namespace ezone
