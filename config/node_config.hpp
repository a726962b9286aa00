// NodeConfig: everything one ezoned node needs, read from one TOML file.
//
//   [node]     ezone, http, admin, cluster, data_dir, log_level
//   [[peers]]  ezone, cluster (and optionally admin, http)
//   [etcd]     endpoints, request_timeout_ms, and TLS to etcd: ca_file,
//              cert_file, key_file (tls_config.cpp)
//   [timeouts] heartbeat/failure-detection/reconnect/lease settings
//   [limits]   thread counts and request bounds
//   [gzs]      fences, shard grouping, merchants, order-id minter
//   [router]   hop limit, write-forbidden handling, forwarding bounds
//   [dal]      the SQLite database and its schema file
//   [drc]      replication batches and pulls
//   [app]      the application served (ezoned: "takeout")
//   [coordinator] optional: workflow timing and automatic failover
//   [admin]    optional: what the admin API (node.admin) lets operators do
//   [soa]      optional: the SOA proxy's services and instances (soa_config.hpp)
//   [incident] optional: the incident-grading thresholds (incident_config.cpp)
//   [tracing]  optional: where sampled spans go: the log, an OTLP collector (tracing_config.cpp)
//   [cache]    optional (needs [dal]): the site's row cache in LMDB (cache_config.cpp)
//   [tls]      optional: node.admin, node.http and the cluster port over TLS (tls_config.cpp)
//
// config/examples/ holds complete files; every key is documented there.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/soa_config.hpp"
#include "core/address.hpp"
#include "storage/net/tls.hpp"
#include "core/shared_token.hpp"
#include "core/status.hpp"
#include "zones/incident_grade.hpp"

namespace ezone {

struct PeerConfig {
  std::string ezone;
  HostPort cluster;
  HostPort admin;  // port 0 = not configured
  HostPort http;   // port 0 = not configured
};

struct EtcdConfig {
  std::vector<HostPort> endpoints;
  int64_t request_timeout_ms = 1000;
  // TLS to etcd (config/tls_config.cpp): ca_file (or https:// endpoints)
  // turns it on; cert_file and key_file answer etcd's --client-cert-auth.
  net::ClientTls tls;
};

struct TimeoutsConfig {
  // CAF middleman heartbeats: a silent connection is closed after
  // connection_timeout_ms. Off by default in CAF, so always set here.
  int64_t heartbeat_interval_ms = 100;
  int64_t connection_timeout_ms = 500;
  // Application-level ping between cluster actors; a peer that has not
  // answered for peer_down_after_ms is marked down (covers SIGSTOP).
  int64_t peer_ping_interval_ms = 100;
  int64_t peer_down_after_ms = 600;
  int64_t reconnect_interval_ms = 100;
  int64_t connect_timeout_ms = 1000;
  // The node's registration lease in etcd.
  int64_t lease_ttl_s = 5;
  int64_t etcd_check_interval_ms = 500;
};

struct LimitsConfig {
  int http_threads = 2;
  int admin_threads = 1;
  int64_t http_body_bytes_max = 1 << 20;
  int64_t http_header_bytes_max = 16 << 10;
  int64_t http_connections_max = 4096;
  int64_t http_idle_timeout_ms = 30000;
  int caf_worker_threads = 2;
};

// GZS data. Paths are resolved against the config file's directory.
struct GzsConfig {
  std::string fences_dir;      // GeoJSON fences; empty = no fences (geo keys get 404)
  std::string shards_file;     // shard grouping and initial owners; empty = none
  std::string merchants_file;  // merchant id -> shard CSV; empty = none
  int minter_id = 0;           // order-id minter, 0..15, unique per ezone
};

struct RouterSettings {
  int hops_max = 3;                     // forwards allowed before 508
  int64_t write_forbidden_hold_ms = 0;  // hold requests to a moving shard this long (0 = answer 503 at once)
  int64_t forwarded_key_hold_ms = 1000; // hold a forwarded request whose key this node has not learnt yet
                                        // (< forward_timeout_ms)
  int retry_after_s = 1;                // Retry-After on 503
  int64_t forward_timeout_ms = 2000;    // one forwarded exchange, connect to last byte
  int forward_connections_max = 64;     // pooled keep-alive connections per peer router
  int64_t request_deadline_ms = 10000;  // a client must send a whole request within this
  // Shared by every site: added to forwards so that a receiver trusts their
  // route trail (actors/router/route_trail.hpp, "Trust"). Empty: trails are
  // trusted from clients too. From peer_token or peer_token_file (re-read
  // on a reload: LiveToken).
  LiveToken peer_token;
  // Shared by every site and the services that call internal endpoints
  // (RouterConfig::service_token). Empty: internal endpoints are open.
  // From service_token or service_token_file (re-read on a reload).
  LiveToken service_token;
};

// The DAL (DESIGN.md, "dal"). Present only when the file has a [dal] section.
// Paths are resolved against the config file's directory.
struct DalSettings {
  bool enabled = false;           // true when a [dal] section is present
  std::string schema_file;        // required in [dal]; see config/schema_config.hpp
  std::string db_file;            // default: <node.data_dir>/<ezone>.db
  bool synchronous_full = true;   // key `synchronous` = "full" | "normal"
  int64_t group_tx_max = 512;     // requests per group commit, 1..100000
  int64_t queue_tx_max = 50000;   // queued requests before queue_full, 1..10000000
  int64_t feed_rows_max = 200000; // change-feed rows kept, 1000..100000000
  int64_t statement_ms_max = 5000; // one handler statement's run time, 0 (none)..3600000
  // A consistency check of what this ezone owns (storage/dal/check.hpp)
  // every check_every_s seconds: 0 (never) or 60..604800; its chunks' rows
  // (1..100000) and the pause between them (0..60000 ms).
  int64_t check_every_s = 0;
  int64_t check_chunk_rows = 1000;
  int64_t check_pause_ms = 0;
};

// The DRC (DESIGN.md, "drc"): how this site pulls each peer's outbox.
// Allowed only with [dal].
struct DrcSettings {
  int64_t batch_rows_max = 2000;      // rows per pulled batch, 1..1000000
  int64_t batch_bytes_max = 4 << 20;  // bytes per pulled batch, 4096..(64<<20)
  int64_t pull_wait_ms = 500;         // long-poll hold at the origin, 0..10000
  int64_t pull_timeout_ms = 3000;     // one pull; must be > pull_wait_ms, ..60000
  int64_t retry_ms = 100;             // wait after a failed pull, 1..60000
};

// [coordinator] (DESIGN.md, "coordinator"): how this node runs journaled
// workflows. Every node runs a coordinator; any of them may run a workflow.
struct CoordinatorSettings {
  // Submit a failover when an ezone that owns shards has lost its lease.
  // Off by default: turn it on where etcd has a quorum that a dead IDC
  // cannot take with it (three members with a witness, or one laptop etcd).
  bool auto_failover = false;
  int64_t ack_timeout_ms = 5000;    // a switchover's acknowledgement wait, 100..600000
  int64_t apply_timeout_ms = 30000; // its watermark wait, 100..3600000
  int64_t skew_margin_ms = 1000;    // wait after a lease is gone, 0..60000
  int64_t failover_wait_ms = 60000; // a failover of a zone that keeps its lease, 1000..3600000
  int64_t poll_ms = 5;              // between steps of a waiting workflow, 1..1000
};

// [app]: the application this node serves next to the runtime's endpoints.
// ezoned knows the apps built into it (examples/: "takeout"); an embedder
// passes its own through NodeOptions::app instead.
struct AppSettings {
  std::string name;  // empty: no app
};

// [admin]: what the admin API on node.admin allows besides reading.
struct AdminSettings {
  // POST /admin/v1/fault/isolate and /heal (disaster-recovery drills: the
  // node's data plane goes dark while the process runs). Off by default: a
  // production node answers them 403 unless an operator turned this on.
  bool allow_fault_injection = false;
  // The admin token (core/shared_token.hpp), from token or token_file. When
  // set, every admin request but GET /healthz and GET /metrics must carry
  // "Authorization: Bearer TOKEN", or is answered 401. Empty: the admin API
  // is open to whoever reaches node.admin (logged at start). A token file
  // may hold two during a rotation, and is re-read on a reload
  // (core/shared_token.hpp).
  LiveToken token;
};

// [incident]: how this node grades incidents (zones/incident_grade.hpp).
struct IncidentSettings {
  IncidentPolicy policy = IncidentPolicy::defaults();
  int64_t window_s = 300;  // GET /admin/v1/incident's window when it names none
};

// [tracing]: where the node's sampled spans go (actors/node/span_exporter.hpp).
struct TracingSettings {
  bool log_spans = true;        // one event=span log line per span
  HostPort otlp_endpoint;       // an OTLP/HTTP collector; empty host = no export
  std::string otlp_path = "/v1/traces";
  int64_t batch_max = 512;      // spans per export request
  int64_t queue_max = 8192;     // spans waiting for export; more are dropped and counted
  int64_t flush_interval_ms = 1000;
  int64_t export_timeout_ms = 2000;
  bool exports() const { return !otlp_endpoint.host.empty(); }
};

// [cache]: the site's row cache (storage/cache/row_cache.hpp). No tables:
// no cache.
struct CacheSettings {
  std::vector<std::string> tables;
  int64_t entries_max = 100000;
  int64_t bytes_max_mb = 256;
  int64_t value_bytes_max = 65536;
  int64_t recent_max = 100000;
};

// [tls]: node.admin, and with http node.http, and with cluster the cluster
// port, over TLS (config/tls_config.cpp).
struct TlsSettings {
  std::string cert_file;  // resolved paths
  std::string key_file;
  std::string ca_file;
  bool client_certs = false;  // node.admin asks clients for certificates from ca_file
  bool http = false;          // node.http too, and the router's forwards to peers
  bool cluster = false;       // the cluster port too: mutual TLS between the nodes
  // Loaded with the config. server: node.admin's; client: this node's calls
  // to peers' node.admin (the CA, and its certificate when asked).
  net::TlsContextPtr server;
  net::TlsContextPtr client;
  net::TlsContextPtr http_server;  // node.http's (http): asks no client certificate
  net::TlsContextPtr cluster_server;  // the cluster port's (cluster): asks every peer for a certificate
  bool enabled() const { return server != nullptr; }
};

struct NodeConfig {
  std::string source;  // the file it was read from (for error messages)
  std::string ezone;
  HostPort http;
  HostPort admin;
  HostPort cluster;
  bool allow_wildcard_bind = false;  // bind 0.0.0.0 / :: only if set
  std::string data_dir;
  std::string log_level = "info";
  std::vector<PeerConfig> peers;
  EtcdConfig etcd;
  TimeoutsConfig timeouts;
  LimitsConfig limits;
  GzsConfig gzs;
  RouterSettings router;
  DalSettings dal;
  DrcSettings drc;
  AppSettings app;
  CoordinatorSettings coordinator;
  AdminSettings admin_api;  // [admin] (node.admin is the address)
  SoaSettings soa;          // [soa]
  IncidentSettings incident;  // [incident]
  TracingSettings tracing;    // [tracing]
  CacheSettings cache;        // [cache]
  TlsSettings tls;            // [tls]
};

// Reads and validates a config file. On failure returns invalid_argument (or
// not_found / io_error for an unreadable file) whose message names the file,
// the key and the fix, e.g.
//   "bj.toml: key 'node.http': '127.0.0.1' has no port; write host:port.
//    Fix: set node.http to an address such as \"127.0.0.1:7100\""
// Relative paths (data_dir, gzs.*, dal.*) are resolved against the file's
// directory. When [dal] is present it also loads and checks the schema file
// (load_node_schema in config/schema_config.hpp) and returns its error, so
// `ezoned --check` catches a broken schema; the caller that needs the
// data::Schema itself calls load_node_schema.
Result<NodeConfig> load_node_config(const std::string& path);

// Same as load_node_config, from text already in memory; source names it.
// Reads no other file: the schema file named by [dal] is not checked.
Result<NodeConfig> parse_node_config(const std::string& text, const std::string& source);

// Checks that each listening address (http, admin, cluster) can be bound
// now. Fails with unavailable naming the key, the address, what holds it if
// known ("in use"), and the fix.
Status check_listen_addresses(const NodeConfig& config);

}  // namespace ezone
