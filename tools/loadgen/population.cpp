#include "tools/loadgen/population.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

#include "storage/net/http_client.hpp"

namespace ezone::loadgen {
namespace {

using nlohmann::json;

struct SetupLog {
  std::mutex mutex;
  Population* out;

  void error(const Call& c) {
    std::lock_guard<std::mutex> lock(mutex);
    ++out->setup_errors;
    ++out->setup_error_kinds[c.error];
    if (out->first_error.empty()) out->first_error = c.error + ": " + c.message;
  }
};

// The id of a 201 answer, or 0 after logging why there is none.
int64_t created_id(Call c, const std::string& what, SetupLog* log) {
  if (c.ok()) {
    auto id = json_id(c.body.value("id", json()));
    if (id) return *id;
    c.error = "bad_response";
    c.message = what + ": " + id.status().message();
  }
  log->error(c);
  return 0;
}

std::string phone(const std::string& run_id, size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "1%s%06zu", run_id.c_str(), i % 1000000);
  return buf;
}

void register_users(const PopulationPlan& plan, Population* pop, SetupLog* log) {
  pop->users.assign(static_cast<size_t>(plan.users), 0);
  parallel_for(pop->users.size(), plan.threads, plan.nodes, plan.timeout_ms, plan.tls, plan.seed,
               [&](size_t i, NodeClients& clients, std::mt19937_64& rng) {
                 const json body{{"phone", phone(plan.run_id, i)}, {"name", "loadgen " + plan.run_id + " user " + std::to_string(i)}};
                 const Call c = clients.call(rng() % clients.size(), "POST", "/v1/users", body.dump(), 201);
                 pop->users[i] = created_id(c, "/v1/users", log);  // each i has its own slot
               });
  std::vector<int64_t> ok;
  for (int64_t id : pop->users) if (id > 0) ok.push_back(id);
  pop->users = std::move(ok);
}

void create_merchants(const PopulationPlan& plan, const CitySampler& sampler, Population* pop, SetupLog* log) {
  const std::vector<ShardId> shards = sampler.shards();
  const size_t per = static_cast<size_t>(plan.merchants_per_shard);
  parallel_for(shards.size() * per, plan.threads, plan.nodes, plan.timeout_ms, plan.tls, plan.seed + 1,
               [&](size_t i, NodeClients& clients, std::mt19937_64& rng) {
                 const ShardId shard = shards[i / per];
                 auto point = sampler.sample_in_shard(shard, rng);
                 if (!point) return;  // a shard with no usable fence gets no merchants
                 const json body{{"name", "loadgen " + plan.run_id + " merchant " + std::to_string(i)},
                                 {"lat", point->lat}, {"lon", point->lon}};
                 const Call c = clients.call(rng() % clients.size(), "POST", "/v1/merchants", body.dump(), 201);
                 const int64_t id = created_id(c, "/v1/merchants", log);
                 if (id == 0) return;
                 const json& placed = c.body.value("shard", json(shard));  // the app's placement is the truth
                 std::lock_guard<std::mutex> lock(log->mutex);
                 pop->merchants[placed.is_number_unsigned() ? placed.get<ShardId>() : shard].push_back(id);
               });
}

}  // namespace

void parallel_for(size_t n, int threads, const std::vector<HostPort>& nodes, int64_t timeout_ms,
                  const net::TlsContextPtr& tls, uint64_t seed,
                  const std::function<void(size_t, NodeClients&, std::mt19937_64&)>& fn) {
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      NodeClients clients(nodes, timeout_ms, tls);
      std::mt19937_64 rng(seed * 1000003 + static_cast<uint64_t>(t));
      for (size_t i = next++; i < n; i = next++) fn(i, clients, rng);
    });
  }
  for (std::thread& th : pool) th.join();
}

Result<std::vector<std::string>> probe_nodes(const std::vector<HostPort>& nodes, const std::string& service_token,
                                             int64_t timeout_ms, const net::TlsContextPtr& tls) {
  std::vector<std::string> ezones;
  net::HttpRequest probe{"GET", "/ezone/v1/probe", "", "", {}};
  net::add_service_token(probe, service_token);
  for (const HostPort& node : nodes) {
    auto resp = net::HttpConnection(node, tls).request(probe, timeout_ms);
    if (!resp) {
      return Status(resp.status().code(), "cannot reach node " + node.to_string() + " (--nodes takes node.http addresses): " +
                                              resp.status().message());
    }
    if (resp->status == 401)
      return Status(Errc::invalid_argument, node.to_string() + " wants the cluster's service token: " +
                                                resp->body.substr(0, 200) + " (--service-token-file FILE)");
    ezones.push_back(resp->header("X-Ezone"));
  }
  return ezones;
}

Result<Population> build_population(const PopulationPlan& plan, const CitySampler& sampler,
                                    std::vector<std::string> node_ezones) {
  Population pop;
  pop.node_ezones = std::move(node_ezones);
  SetupLog log{{}, &pop};
  register_users(plan, &pop, &log);
  if (pop.users.empty()) return Status(Errc::unavailable, "no user could be registered; first error: " + pop.first_error);
  create_merchants(plan, sampler, &pop, &log);
  if (pop.merchants.empty()) return Status(Errc::unavailable, "no merchant could be created; first error: " + pop.first_error);
  std::mt19937_64 rng(plan.seed + 2);
  for (size_t i = 0; i < kDeliveryPoints; ++i) {
    auto p = sampler.sample(rng);
    if (p && pop.merchants.count(p->shard)) pop.points.push_back(*p);
  }
  if (pop.points.empty()) return Status(Errc::unavailable, "no delivery point fell in a shard with merchants");
  return pop;
}

}  // namespace ezone::loadgen
