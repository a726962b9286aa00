#include "tools/loadgen/run.hpp"

#include <chrono>
#include <cstdio>

#include "tools/loadgen/city_sampler.hpp"
#include "tools/loadgen/flow_engine.hpp"
#include "tools/loadgen/population.hpp"
#include "tools/loadgen/report.hpp"

namespace ezone::loadgen {
namespace {

using nlohmann::json;

// 8 digits from the clock and the seed: reruns register fresh phones.
std::string make_run_id(uint64_t seed) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%08llu",
                static_cast<unsigned long long>((static_cast<uint64_t>(ms) ^ (seed * 0x9E3779B97F4A7C15ull)) % 100000000ull));
  return buf;
}

std::map<ShardId, std::string> initial_owners(const geo::GeoFences& fences) {
  std::map<ShardId, std::string> out;
  for (const geo::ShardSpec& s : fences.shards.shards) out[s.id] = s.owner;
  return out;
}

json setup_json(const Population& pop) {
  size_t merchants = 0;
  for (const auto& [shard, ids] : pop.merchants) merchants += ids.size();
  return json{{"users", pop.users.size()}, {"merchants", merchants}, {"merchant_shards", pop.merchants.size()},
              {"delivery_points", pop.points.size()}, {"node_ezones", pop.node_ezones},
              {"errors", pop.setup_error_kinds}};
}

// Runs the load: one step, or the find-max search. Records each step's JSON.
void run_load(const Options& o, FlowEngine& engine, RunResult* out) {
  json steps = json::array();
  if (!o.find_max) {
    const StepStats s = engine.run(LoadStep{"run", o.rate, o.duration_s, o.profile});
    std::printf("%s", step_text(s).c_str());
    steps.push_back(step_json(s));
    out->report["steps"] = steps;
    return;
  }
  FindMaxSearch search(o.rate, o.bisect_steps, o.rate_max);
  while (auto rate = search.next_rate()) {
    char name[32];
    std::snprintf(name, sizeof(name), "rate-%.0f", *rate);
    const StepStats s = engine.run(LoadStep{name, *rate, o.step_s, Profile::flat});
    const StepOutcome outcome{*rate, s.flows_per_s(), s.worst_p99_us(), s.error_count()};
    const bool passed = step_passes(outcome, o.p99_ms * 1000);
    search.record(outcome, o.p99_ms * 1000);
    std::printf("%s  => %s\n", step_text(s).c_str(), passed ? "PASS" : "FAIL");
    std::fflush(stdout);
    json j = step_json(s);
    j["passed"] = passed;
    steps.push_back(j);
  }
  out->report["steps"] = steps;
  out->report["max_rate"] = out->max_rate = search.best_rate();
  std::printf("find-max: max sustained rate %.0f flows/s (p99 <= %lld ms, no errors)\n", search.best_rate(),
              static_cast<long long>(o.p99_ms));
}

void run_verify(const Options& o, RunResult* out) {
  std::fprintf(stderr, "verify: waiting (at most %.0f s) for replication, then reading %zu orders at %zu nodes\n",
               o.verify_wait_s, out->acked.size(), o.nodes.size());
  out->replication = wait_for_replication(o.admins, o.admin_token, o.verify_wait_s, o.timeout_ms, o.admin_tls());
  out->verify = verify_sites(o.nodes, out->acked, static_cast<size_t>(o.verify_batch), o.service_token, o.timeout_ms,
                             o.http_tls());
  out->verified = true;
  std::printf("%s", verify_text(out->replication, out->verify).c_str());
  std::fflush(stdout);
  out->report["verify"] = verify_json(out->replication, out->verify);
}

}  // namespace

Result<RunResult> run_loadgen(const Options& o, const RunHooks& hooks) {
  const std::string run_id = make_run_id(o.seed);
  RunResult out;
  out.report = json{{"run_id", run_id}, {"seed", o.seed}, {"mode", o.find_max ? "find_max" : "rate"},
                    {"profile", profile_name(o.profile)}, {"entry", entry_policy_name(o.entry)},
                    {"workers", o.workers}};
  auto ezones = probe_nodes(o.nodes, o.service_token, o.timeout_ms, o.http_tls());
  if (!ezones) return ezones.status();
  auto fences = geo::load_geo_fences(o.fences_dir, o.shards_file);
  if (!fences) {
    return Status(Errc::invalid_argument, "cannot load fences (" + o.fences_dir + ", " + o.shards_file +
                                              "): " + fences.status().message() +
                                              " (tools/fetch-data fetches the city fences)");
  }
  auto sampler = CitySampler::create(*fences);
  if (!sampler) return sampler.status();
  std::fprintf(stderr, "loadgen: run %s, seed %llu: registering %d users and %d merchants per shard\n", run_id.c_str(),
               static_cast<unsigned long long>(o.seed), o.users, o.merchants_per_shard);
  PopulationPlan plan{o.nodes, o.timeout_ms, std::min(o.workers, 8), o.users, o.merchants_per_shard, run_id, o.seed,
                      o.http_tls()};
  auto pop = build_population(plan, *sampler, std::move(*ezones));
  if (!pop) return Status(pop.status().code(), "setup failed: " + pop.status().message());
  out.report["setup"] = setup_json(*pop);
  {
    FlowEngine engine(o, *pop, initial_owners(**fences), hooks.on_call);
    run_load(o, engine, &out);
    out.acked = engine.acked();
  }  // the workers stop (and close their connections) before verification
  out.report["acked_orders"] = out.acked.size();
  if (hooks.before_verify) hooks.before_verify(out.acked);
  if (o.verify) run_verify(o, &out);
  if (!o.save_acked.empty()) {
    Status s = save_acked(o.save_acked, out.acked);
    if (!s) std::fprintf(stderr, "loadgen: %s\n", s.message().c_str());
  }
  out.ok = !o.verify || out.verify.ok();
  out.report["ok"] = out.ok;
  return out;
}

}  // namespace ezone::loadgen
