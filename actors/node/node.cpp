#include "actors/node/node_impl.hpp"

#include <filesystem>
#include <random>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "actors/cluster/cluster_actor.hpp"
#include "config/schema_config.hpp"
#include "core/build_info.hpp"
#include "core/json.hpp"
#include "core/process_identity.hpp"
#include "storage/etcd/etcd_meta_store.hpp"
#include "storage/route/route_store.hpp"

namespace ezone {
namespace {

std::shared_ptr<spdlog::logger> default_logger(const NodeConfig& config) {
  auto logger = std::make_shared<spdlog::logger>(
      "ezone." + config.ezone, std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(spdlog::level::from_str(config.log_level));
  return logger;
}

uint64_t new_incarnation() {
  std::random_device rd;
  uint64_t value = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return value == 0 ? 1 : value;
}

// cfg loads the middleman itself, on the bounded backend.
void configure_caf(ClusterSystemConfig& cfg, const NodeConfig& config, Metrics& metrics,
                   std::shared_ptr<spdlog::logger> logger) {
  cfg.limits.refused = &metrics.counter("ezone_cluster_refused_connections_total",
                                        "Cluster-port connections closed for announcing an oversized message");
  cfg.limits.on_refused = [logger, ezone = config.ezone](const std::string& why) {
    logger->warn("event=cluster_connection_refused ezone={} detail=\"{}\"", ezone, why);
  };
  if (config.tls.cluster) {
    cfg.tls.server = config.tls.cluster_server;
    cfg.tls.client = config.tls.client;
    cfg.tls.handshake_failures = &metrics.counter("ezone_cluster_tls_handshake_failures_total",
                                                  "Cluster-port connections closed for a failed TLS handshake");
    cfg.tls.on_failure = [logger, ezone = config.ezone](const std::string& why) {
      logger->warn("event=cluster_tls_failed ezone={} detail=\"{}\"", ezone, why);
    };
  }
  const TimeoutsConfig& t = config.timeouts;
  // Heartbeats are off by default in CAF 0.17; without them a hung peer is
  // never noticed by the middleman and remote connects block forever.
  cfg.set("middleman.heartbeat-interval", caf::timespan(std::chrono::milliseconds(t.heartbeat_interval_ms)));
  cfg.set("middleman.connection-timeout", caf::timespan(std::chrono::milliseconds(t.connection_timeout_ms)));
  cfg.set("scheduler.max-threads", static_cast<size_t>(config.limits.caf_worker_threads));
  // Work stealing keeps idle workers polling (every 50 us for a while after
  // each message): about 12% of a core per node at idle, much more under
  // DRC traffic, taken from the request path's I/O threads. The actors are
  // the control plane only, so workers that sleep on a shared queue's
  // condition variable lose nothing.
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("middleman.workers", size_t{0});
  // CAF's own log would leave files in the working directory.
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
}

std::string registration_json(const NodeConfig& c, uint64_t incarnation, int64_t started_ms) {
  return nlohmann::json{{"ezone", c.ezone},
                        {"http", c.http.to_string()},
                        {"admin", c.admin.to_string()},
                        {"cluster", c.cluster.to_string()},
                        {"incarnation", std::to_string(incarnation)},
                        {"version", build_version()},
                        {"started_ms", started_ms},
                        // Lets a later process of this ezone tell whether this one still runs.
                        {"process", ProcessIdentity::self(std::to_string(incarnation)).to_json()}}
      .dump();
}

}  // namespace

bool Node::Impl::may_act(std::string* why) const {
  if (!etcd->lease_valid(why)) return false;
  if (lineage && !lineage->confirmed(why)) return false;
  const int64_t fence = etcd->fence_epoch();
  if (gzs->epoch() >= fence) return true;
  if (why)
    *why = fence == INT64_MAX ? "fenced: the current route-table epoch could not be read from etcd yet"
                              : "fenced until it installs epoch " + std::to_string(fence) + " (it holds " +
                                    std::to_string(gzs->epoch()) + ")";
  return false;
}

Status Node::Impl::start_data_dir() {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec)
    return Status(Errc::io_error, config.source + ": key 'node.data_dir': cannot create " +
                                      config.data_dir + ": " + ec.message() +
                                      ". Fix: choose a writable directory");
  auto lock = FileLock::acquire(config.data_dir + "/LOCK", config.data_dir, config.source, "node.data_dir");
  if (!lock) return lock.status();
  data_dir_lock = std::move(*lock);
  if (!config.dal.enabled) return Status::ok();
  auto db_lock = FileLock::acquire(config.dal.db_file + ".lock", config.dal.db_file, config.source, "dal.db_file");
  if (!db_lock) return db_lock.status();
  db_file_lock = std::move(*db_lock);
  return Status::ok();
}

Status Node::Impl::start_meta(std::shared_ptr<meta::MetaStore> injected) {
  if (injected) {
    meta = std::move(injected);
    return Status::ok();
  }
  meta::EtcdMetaStoreConfig etcd_config;
  etcd_config.endpoints = config.etcd.endpoints;
  etcd_config.request_timeout_ms = config.etcd.request_timeout_ms;
  etcd_config.metrics = metrics.get();
  etcd_config.tls = config.etcd.tls.context;
  auto store = meta::EtcdMetaStore::create(std::move(etcd_config));
  if (!store)
    return Status(store.status().code(),
                  config.source + ": key 'etcd': " + store.status().message());
  meta = std::shared_ptr<meta::MetaStore>(std::move(*store));
  return Status::ok();
}

Status Node::Impl::start_gzs() {
  GzsOptions options;
  options.on_epoch = [this](Epoch epoch) {
    std::lock_guard<std::mutex> lock(cluster_mutex);
    if (cluster) send_epoch(cluster, epoch);
    if (dal) dal->gate_changed();
  };
  auto started = Gzs::start(config, *meta, *metrics, logger, std::move(options));
  if (!started) return started.status();
  gzs = std::move(*started);
  return Status::ok();
}

void Node::Impl::start_tracing() {
  if (config.tracing.exports())
    spans = std::make_unique<SpanExporter>(config.ezone, config.tracing, *metrics, logger);
  span_sink = make_span_sink(config.tracing, logger, spans.get());
}

Status Node::Impl::start_dal() {
  if (!config.dal.enabled) return Status::ok();
  auto schema = load_node_schema(config);
  if (!schema) return Status(schema.status().code(), config.source + ": key 'dal.schema_file': " + schema.status().message());
  dal::DalConfig dc;
  dc.ezone = config.ezone;
  dc.logger = logger;
  dc.path = config.dal.db_file;
  dc.synchronous_full = config.dal.synchronous_full;
  dc.group_tx_max = static_cast<size_t>(config.dal.group_tx_max);
  dc.queue_tx_max = static_cast<size_t>(config.dal.queue_tx_max);
  dc.feed_rows_max = static_cast<size_t>(config.dal.feed_rows_max);
  dc.statement_ms_max = config.dal.statement_ms_max;
  dc.check_every_ms = config.dal.check_every_s * 1000;
  dc.check_chunk_rows = static_cast<size_t>(config.dal.check_chunk_rows);
  dc.check_pause_ms = config.dal.check_pause_ms;
  dc.on_span = span_sink;
  if (const char* pause = std::getenv("EZONE_FAULT_APPLY_PAUSE_MS")) {
    dc.fault_apply_pause_ms = std::atoll(pause);
    logger->warn("event=fault_hook ezone={} EZONE_FAULT_APPLY_PAUSE_MS={} (crash tests only)", config.ezone,
                 dc.fault_apply_pause_ms);
  }
  // The DAL's write gate: the route table the router reads, and the lease
  // that self-fences this ezone when etcd stops renewing it.
  auto gate = [this] {
    dal::WriteGate g;
    g.routes = gzs->routes();
    g.lease_valid = may_act(&g.lease_detail);
    return g;
  };
  auto opened = dal::Dal::open(dc, std::move(schema.value()), gate, hlc, metrics.get());
  if (!opened) return Status(opened.status().code(), config.source + ": key 'dal': " + opened.status().message());
  lineage->set_database(opened.value()->lineage(), opened.value()->replaced_lineage());
  auto store =
      dal::SnapshotStore::open(*opened.value(), config.data_dir + "/snapshots", *metrics, SystemClock::instance());
  if (!store) return Status(store.status().code(), config.source + ": key 'node.data_dir': " + store.status().message());
  snapshots = std::move(store.value());
  if (!config.cache.tables.empty()) {
    const CacheSettings& c = config.cache;
    RowCacheOptions options{config.data_dir + "/cache", c.tables, static_cast<size_t>(c.entries_max),
                            static_cast<size_t>(c.bytes_max_mb) << 20, static_cast<size_t>(c.value_bytes_max),
                            static_cast<size_t>(c.recent_max), logger, "", 0};
    auto row_cache = RowCache::open(*opened.value(), *metrics, std::move(options));
    if (!row_cache) return Status(row_cache.status().code(), config.source + ": key 'cache': " + row_cache.status().message());
    cache = std::move(row_cache.value());
  }
  std::lock_guard<std::mutex> lock(cluster_mutex);
  dal = std::move(opened.value());
  return Status::ok();
}

Status Node::Impl::start_cluster() {
  caf_config = std::make_unique<ClusterSystemConfig>();
  configure_caf(*caf_config, config, *metrics, logger);
  system = std::make_unique<caf::actor_system>(*caf_config);
  ClusterActorConfig cc{config.ezone, incarnation, config.peers, config.timeouts, slot, logger,
                        metrics.get()};
  {
    std::lock_guard<std::mutex> lock(cluster_mutex);
    cluster = spawn_cluster_actor(*system, std::move(cc));
    send_epoch(cluster, gzs->epoch());
  }
  if (dal) {
    DrcServiceConfig drc_config;
    drc_config.ezone = config.ezone;
    for (const PeerConfig& p : config.peers) drc_config.peers.push_back(p.ezone);
    drc_config.tuning = DrcTuning{static_cast<uint32_t>(config.drc.batch_rows_max),
                                  static_cast<uint32_t>(config.drc.batch_bytes_max), config.drc.pull_wait_ms,
                                  config.drc.pull_timeout_ms, config.drc.retry_ms};
    drc_config.dal = dal.get();
    drc_config.metrics = metrics.get();
    drc_config.logger = logger;
    drc_config.fault = fault;
    drc = DrcService::start(*system, cluster, std::move(drc_config));
  }
  auto port = system->middleman().publish(cluster, config.cluster.port, config.cluster.host.c_str(),
                                          /*reuse_addr=*/true);
  if (!port)
    return Status(Errc::unavailable, config.source + ": key 'node.cluster': cannot listen on " +
                                         config.cluster.to_string() + ": " +
                                         system->render(port.error()) +
                                         ". Fix: free the port or choose another for node.cluster");
  start_cluster_actor(cluster);
  return Status::ok();
}

void Node::Impl::stop() {
  if (stopped) return;
  stopped = true;
  if (ingress) ingress->stop();
  if (soa) soa->stop();
  if (admin) admin->stop();
  if (soa_registry) soa_registry->stop();  // after admin: no registration request is left
  if (coordinator) coordinator->stop();
  if (feed) feed->stop();  // its streams read the DAL
  if (gzs) gzs->stop();  // no epoch reaches the cluster actor after this
  if (drc) drc->stop();
  if (system) {
    {
      std::lock_guard<std::mutex> lock(cluster_mutex);
      if (cluster) caf::anon_send_exit(cluster, caf::exit_reason::user_shutdown);
      cluster = nullptr;
    }
    system.reset();  // joins CAF's threads and closes the cluster port
  }
  drc.reset();
  if (cache) cache->stop();  // unsubscribes from the DAL
  snapshots.reset();         // waits for a copy being made
  {
    // After the actor system: no puller or server can reach the DAL now.
    std::lock_guard<std::mutex> lock(cluster_mutex);
    dal.reset();
  }
  if (spans) spans->stop();  // after everything that reports spans: sends the last ones
  if (etcd) etcd->stop();
  db_file_lock.release();
  data_dir_lock.release();
  logger->info("event=node_stopped ezone={}", config.ezone);
}

Result<std::unique_ptr<Node>> Node::start(const NodeConfig& config, NodeOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->incarnation = new_incarnation();
  impl->config = config;
  impl->logger = options.logger ? options.logger : default_logger(config);
  impl->metrics = std::make_unique<Metrics>(config.ezone);
  // A plain bind of each address first: the common mistake (a port in use)
  // then fails before any thread or actor exists.
  if (Status s = check_listen_addresses(config); !s) return s;
  if (Status s = impl->start_data_dir(); !s) return s;
  if (Status s = impl->start_meta(std::move(options.meta)); !s) return s;
  impl->etcd = std::make_unique<EtcdSession>(
      *impl->meta, impl->config,
      registration_json(config, impl->incarnation, impl->started_wall_ms), impl->logger,
      *impl->metrics);
  impl->etcd->set_fault_state(impl->fault);
  impl->etcd->set_takeover(options.takeover);
  // Before any actor, thread or port: a twin must not join the cluster.
  if (Status alone = impl->etcd->check_alone(); !alone) return alone;
  if (config.dal.enabled) {
    impl->lineage = std::make_unique<LineageGuard>(*impl->meta, config.ezone, config.dal.db_file, impl->logger,
                                                   *impl->metrics);
  }
  impl->etcd->set_fence_epoch_source([store = impl->meta.get(), lineage = impl->lineage.get()]() -> Result<int64_t> {
    if (lineage) {
      if (Status s = lineage->confirm(); !s) return s;
    }
    auto table = RouteStore(*store).load();
    if (!table && table.status().code() == Errc::not_found) return int64_t{0};  // nothing to catch up with
    if (!table) return table.status();
    return table->epoch();
  });
  impl->start_tracing();
  Status s = impl->start_gzs();
  if (s) s = impl->start_dal();
  if (s) s = impl->start_cluster();
  if (s) s = impl->start_app(options.app, options.endpoints);
  if (s) impl->make_coordinator();
  if (s) s = impl->start_http(std::move(options.endpoints));
  if (!s) {
    impl->stop();
    return s;
  }
  if (Status registered = impl->etcd->start(); !registered) {
    impl->stop();
    return registered;
  }
  impl->coordinator->start();
  impl->logger->info("event=node_started ezone={} http={} admin={} cluster={} incarnation={} version={}",
                     config.ezone, config.http.to_string(), config.admin.to_string(),
                     config.cluster.to_string(), impl->incarnation, build_version());
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Node::~Node() { stop(); }
void Node::stop() { impl_->stop(); }
const NodeConfig& Node::config() const { return impl_->config; }
std::shared_ptr<const MembershipView> Node::membership() const { return impl_->slot->get(); }
EtcdState Node::etcd_state() const { return impl_->etcd->state(); }
Metrics& Node::metrics() { return *impl_->metrics; }
uint16_t Node::admin_port() const { return impl_->admin->port(); }
uint16_t Node::http_port() const { return impl_->ingress->port(); }
Gzs& Node::gzs() { return *impl_->gzs; }
dal::Dal* Node::dal() { return impl_->dal.get(); }
TokenReloadReport Node::reload_tokens(const std::string& cause) { return impl_->tokens->reload(cause); }

std::string Node::cluster_json() const { return render_cluster_json(impl_->admin_sources()); }

}  // namespace ezone
