// ezone::Node: one ezone runtime. ezoned is a thin main around it, and a test
// rig can start several Nodes in one process: each has its own CAF actor
// system, listeners, threads and etcd session, and stop() releases them all.
//
// The header is free of CAF and Beast so that embedders compile quickly.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "actors/node/admin_tokens.hpp"
#include "actors/node/etcd_session.hpp"
#include "actors/router/endpoint.hpp"
#include "config/node_config.hpp"
#include "core/metrics.hpp"
#include "core/status.hpp"
#include "storage/meta/meta_store.hpp"
#include "zones/membership.hpp"

namespace spdlog {
class logger;
}

namespace ezone {

class Gzs;
class RowCache;
namespace dal {
class Dal;
}

// What an application gets from the node it runs in (see NodeOptions::app).
// Everything outlives the endpoints the app returns.
struct AppContext {
  const NodeConfig& config;
  dal::Dal& dal;       // the site's database (transactions under the DAL rule)
  Gzs& gzs;            // key -> shard -> owner, and order-id minting
  Metrics& metrics;    // register the app's own metrics here
  std::shared_ptr<spdlog::logger> logger;
  // The site's row cache ([cache]), invalidated by the change feed; null
  // when the config names no tables. Lives as long as dal.
  RowCache* cache = nullptr;
};

// Builds an application's endpoints once the node's DAL and GZS are up.
// Called once, during Node::start; an error fails the start with it.
using AppFactory = std::function<Result<std::vector<Endpoint>>(const AppContext&)>;

struct NodeOptions {
  // The cluster's metadata store. Null: an EtcdMetaStore on config.etcd.
  // Tests pass a shared MemoryMetaStore.
  std::shared_ptr<meta::MetaStore> meta;
  // Where log lines go. Null: a stderr logger named after the ezone.
  std::shared_ptr<spdlog::logger> logger;
  // The application's endpoints, served by the API router on node.http
  // next to the built-in GET /ezone/v1/probe. Handlers run in the zone that
  // owns the request's shard; the router adds X-Ezone-Shard to the request.
  std::vector<Endpoint> endpoints;
  // The application (e.g. examples/takeout): its endpoints join `endpoints`.
  // Requires [dal] in the config.
  AppFactory app;
  // Register even over a running process of this ezone (ezoned
  // --takeover): that process is fenced. Without it, Node::start fails
  // with conflict when one runs (see EtcdSession).
  bool takeover = false;
};

class Node {
 public:
  // Creates the data dir, connects to the metadata store, starts the actor
  // system, publishes the cluster actor on node.cluster, and serves admin
  // and HTTP. Fails (after releasing whatever it had started) with a message
  // naming the config key at fault, e.g. a port already in use.
  static Result<std::unique_ptr<Node>> start(const NodeConfig& config, NodeOptions options = {});
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Stops serving, leaves the cluster, revokes the etcd lease and joins
  // every thread. Idempotent.
  void stop();

  const NodeConfig& config() const;
  // The latest membership snapshot; never null.
  std::shared_ptr<const MembershipView> membership() const;
  EtcdState etcd_state() const;
  // The document served at GET /admin/v1/cluster.
  std::string cluster_json() const;
  Metrics& metrics();
  // The node's GZS (fences, merchants, route table).
  Gzs& gzs();
  // Re-reads the token files named in the config ([admin] token_file,
  // [router] service_token_file and peer_token_file) and applies what
  // changed from the next request (actors/node/admin_tokens.hpp). ezoned
  // calls it on SIGHUP. A file that cannot be read leaves its token as it
  // was, and the report says why. cause is logged (ezoned: "signal").
  TokenReloadReport reload_tokens(const std::string& cause = "api");
  // The node's DAL; nullptr when the config has no [dal] section.
  dal::Dal* dal();
  // Ports actually bound (useful when a test configures port 0... never:
  // config requires real ports; these echo them back).
  uint16_t admin_port() const;
  uint16_t http_port() const;

 private:
  struct Impl;
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ezone
