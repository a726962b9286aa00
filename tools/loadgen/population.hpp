// What a run needs before its first flow: which zone each node serves, a
// pool of registered users, merchants in every shard, and delivery points.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "storage/net/tls.hpp"

#include "core/address.hpp"
#include "core/ids.hpp"
#include "core/status.hpp"
#include "tools/loadgen/city_sampler.hpp"
#include "tools/loadgen/takeout_client.hpp"

namespace ezone::loadgen {

// Delivery points drawn at start; flows pick among them (sampling in the
// fences costs microseconds per point, so it stays off the request path).
constexpr size_t kDeliveryPoints = 20000;

struct Population {
  std::vector<std::string> node_ezones;             // X-Ezone of each node, by --nodes index
  std::vector<int64_t> users;
  std::map<ShardId, std::vector<int64_t>> merchants;  // by the shard the app placed them in
  std::vector<GeoPoint> points;                     // only in shards that have merchants
  uint64_t setup_errors = 0;
  std::map<std::string, uint64_t> setup_error_kinds;
  std::string first_error;                          // the first setup error's text
};

// Asks every node GET /ezone/v1/probe and records its X-Ezone. unavailable
// naming the node when one does not answer within timeout_ms: nothing else
// can work then.
// tls: node.http's client context when it speaks TLS.
Result<std::vector<std::string>> probe_nodes(const std::vector<HostPort>& nodes, const std::string& service_token,
                                             int64_t timeout_ms, const net::TlsContextPtr& tls = nullptr);

struct PopulationPlan {
  std::vector<HostPort> nodes;
  int64_t timeout_ms = 2000;
  int threads = 8;
  int users = 200;
  int merchants_per_shard = 4;
  std::string run_id;  // 8 digits; in every phone and name, so reruns never collide
  uint64_t seed = 1;
  net::TlsContextPtr tls;  // node.http's client context when it speaks TLS
};

// Registers users and merchants (requests spread over the nodes at random)
// and draws the delivery points. unavailable when no user or no merchant
// could be created (the message quotes the first error).
Result<Population> build_population(const PopulationPlan& plan, const CitySampler& sampler,
                                    std::vector<std::string> node_ezones);

// Runs fn(i, clients, rng) for i in [0, n) on `threads` threads, each with
// its own connections and RNG (seeded from seed and the thread number).
void parallel_for(size_t n, int threads, const std::vector<HostPort>& nodes, int64_t timeout_ms,
                  const net::TlsContextPtr& tls, uint64_t seed,
                  const std::function<void(size_t, NodeClients&, std::mt19937_64&)>& fn);

}  // namespace ezone::loadgen
