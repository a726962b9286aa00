// Node::Impl, shared by the files that start a node: node.cpp (data dir,
// etcd, GZS, DAL, cluster; start and stop) and node_http.cpp (the app, the
// router, the admin API and its sources, the coordinator).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <spdlog/logger.h>

#include "actors/cluster/bounded_backend.hpp"
#include "actors/cluster/membership_slot.hpp"
#include "actors/drc/change_feed.hpp"
#include "actors/drc/drc_service.hpp"
#include "actors/gzs/gzs.hpp"
#include "actors/http/http_server.hpp"
#include "actors/node/admin_api.hpp"
#include "actors/node/admin_fault.hpp"
#include "actors/node/admin_incident.hpp"
#include "actors/node/admin_tokens.hpp"
#include "actors/node/coordinator.hpp"
#include "actors/node/etcd_session.hpp"
#include "actors/node/file_lock.hpp"
#include "actors/node/lineage_guard.hpp"
#include "actors/node/node.hpp"
#include "actors/node/span_exporter.hpp"
#include "actors/router/router.hpp"
#include "actors/soa/soa_proxy.hpp"
#include "actors/soa/soa_registry.hpp"
#include "core/clock.hpp"
#include "core/fault_state.hpp"
#include "core/hlc.hpp"
#include "storage/cache/row_cache.hpp"
#include "storage/dal/snapshot_store.hpp"

namespace ezone {

struct Node::Impl {
  NodeConfig config;
  int64_t started_wall_ms = SystemClock::instance().wall_ms();
  uint64_t incarnation = 0;  // random, never 0: set by Node::start
  std::shared_ptr<spdlog::logger> logger;
  std::unique_ptr<Metrics> metrics;
  std::shared_ptr<meta::MetaStore> meta;
  std::unique_ptr<EtcdSession> etcd;
  std::shared_ptr<MembershipSlot> slot = std::make_shared<MembershipSlot>();
  std::unique_ptr<ClusterSystemConfig> caf_config;
  std::unique_ptr<caf::actor_system> system;
  caf::actor cluster;
  std::unique_ptr<Gzs> gzs;
  HybridClock hlc{SystemClock::instance()};
  // Where sampled spans go ([tracing]): made first, as the DAL, the SOA
  // proxy and the router report to span_sink (empty: nowhere).
  std::unique_ptr<SpanExporter> spans;  // with an otlp_endpoint
  SpanSink span_sink;
  std::unique_ptr<dal::Dal> dal;      // when [dal] is configured
  std::unique_ptr<RowCache> cache;    // when [cache] names tables; before the DAL closes
  std::unique_ptr<dal::SnapshotStore> snapshots;  // copies for peers' re-seeds; with the DAL
  // With a DAL: fenced until etcd confirms the database is this ezone's.
  // Made before the DAL, whose writer asks it (may_act).
  std::unique_ptr<LineageGuard> lineage;
  std::unique_ptr<DrcService> drc;    // when there is a DAL
  std::unique_ptr<ChangeFeedHub> feed;  // GET /drc/v1/changes, when there is a DAL
  std::unique_ptr<HttpServer> admin;
  std::unique_ptr<TokenReloader> tokens;  // re-reads config's token files (SIGHUP, admin)
  std::unique_ptr<SoaProxy> soa;  // when [soa] is configured; before ingress, whose handlers call it
  std::unique_ptr<SoaRegistry> soa_registry;  // with [soa] registration; feeds `soa`
  std::unique_ptr<RouterIngress> ingress;
  std::unique_ptr<Coordinator> coordinator;
  // Fault injection for drills (admin_fault.hpp): read by the etcd session,
  // the router, the DRC and the coordinator.
  std::shared_ptr<FaultState> fault = std::make_shared<FaultState>(SystemClock::instance());
  std::mutex cluster_mutex;  // guards `cluster` and `dal` against the GZS watch thread
  bool stopped = false;
  FileLock data_dir_lock;  // held from start_data_dir until stop() has closed the DAL
  FileLock db_file_lock;   // [dal]: the same for its SQLite file, which may live elsewhere

  // The admin API's view of this node (node_http.cpp).
  AdminSources admin_sources();
  IncidentAdminSources incident_sources();
  FaultAdminSources fault_sources();
  // Whether this node may act on its lease: it holds it with margin, and
  // it has installed the route table that was current when it got it.
  bool may_act(std::string* why) const;
  void make_coordinator();
  Status start_data_dir();
  Status start_meta(std::shared_ptr<meta::MetaStore> injected);
  void start_tracing();
  Status start_gzs();
  Status start_dal();
  Status start_cluster();
  Status start_app(const AppFactory& app, std::vector<Endpoint>& endpoints);
  Status start_http(std::vector<Endpoint> endpoints);
  void stop();
};

}  // namespace ezone
