// loadgen: load generator for the takeout sample app (usage: loadgen --help).
//
//   probe nodes -> load fences -> register users, merchants -> load step(s)
//   -> wait for replication -> read every acked order at every node -> report
#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "tools/loadgen/city_sampler.hpp"
#include "tools/loadgen/flow_engine.hpp"
#include "tools/loadgen/options.hpp"
#include "tools/loadgen/population.hpp"
#include "tools/loadgen/report.hpp"
#include "tools/loadgen/verifier.hpp"

namespace ezone::loadgen {
namespace {

using nlohmann::json;

int fail(const std::string& what) {
  std::fprintf(stderr, "loadgen: %s\n", what.c_str());
  return 1;
}

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

// Runs the load: one step, or the find-max search. Appends each step's JSON.
void run_load(const Options& o, FlowEngine& engine, json* doc) {
  json steps = json::array();
  if (!o.find_max) {
    const StepStats s = engine.run(LoadStep{"run", o.rate, o.duration_s, o.profile});
    std::printf("%s", step_text(s).c_str());
    steps.push_back(step_json(s));
    (*doc)["steps"] = steps;
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
  (*doc)["steps"] = steps;
  (*doc)["max_rate"] = search.best_rate();
  std::printf("find-max: max sustained rate %.0f flows/s (p99 <= %lld ms, no errors)\n", search.best_rate(),
              static_cast<long long>(o.p99_ms));
}

// Verifies the acked orders; returns whether all is well.
bool run_verify(const Options& o, const std::vector<AckedOrder>& acked, json* doc) {
  std::fprintf(stderr, "verify: waiting (at most %.0f s) for replication, then reading %zu orders at %zu nodes\n",
               o.verify_wait_s, acked.size(), o.nodes.size());
  const ReplicationWait wait = wait_for_replication(o.admins, o.verify_wait_s, o.timeout_ms);
  const VerifyResult result = verify_sites(o.nodes, acked, static_cast<size_t>(o.verify_batch), o.timeout_ms);
  std::printf("%s", verify_text(wait, result).c_str());
  (*doc)["verify"] = verify_json(wait, result);
  return result.ok();
}

int run(const Options& o) {
  const std::string run_id = make_run_id(o.seed);
  json doc{{"run_id", run_id}, {"seed", o.seed}, {"mode", o.find_max ? "find_max" : "rate"},
           {"profile", profile_name(o.profile)}, {"entry", entry_policy_name(o.entry)}, {"workers", o.workers}};
  auto ezones = probe_nodes(o.nodes, o.timeout_ms);
  if (!ezones) return fail(ezones.status().message());
  auto fences = geo::load_geo_fences(o.fences_dir, o.shards_file);
  if (!fences) {
    return fail("cannot load fences (" + o.fences_dir + ", " + o.shards_file + "): " + fences.status().message() +
                " (tools/fetch-data fetches the city fences)");
  }
  auto sampler = CitySampler::create(*fences);
  if (!sampler) return fail(sampler.status().message());
  std::fprintf(stderr, "loadgen: run %s, seed %llu: registering %d users and %d merchants per shard\n", run_id.c_str(),
               static_cast<unsigned long long>(o.seed), o.users, o.merchants_per_shard);
  PopulationPlan plan{o.nodes, o.timeout_ms, std::min(o.workers, 8), o.users, o.merchants_per_shard, run_id, o.seed};
  auto pop = build_population(plan, *sampler, std::move(*ezones));
  if (!pop) return fail("setup failed: " + pop.status().message());
  doc["setup"] = setup_json(*pop);
  FlowEngine engine(o, *pop, initial_owners(**fences));
  run_load(o, engine, &doc);
  doc["acked_orders"] = engine.acked().size();
  bool ok = true;
  if (o.verify) ok = run_verify(o, engine.acked(), &doc);
  if (!o.save_acked.empty()) {
    Status s = save_acked(o.save_acked, engine.acked());
    if (!s) std::fprintf(stderr, "loadgen: %s\n", s.message().c_str());
  }
  doc["ok"] = ok;
  std::printf("%s\n", doc.dump().c_str());
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace ezone::loadgen

int main(int argc, char** argv) {
  using namespace ezone::loadgen;
  auto options = parse_options(argc, argv);
  if (!options) {
    std::fprintf(stderr, "loadgen: %s\n(see loadgen --help)\n", options.status().message().c_str());
    return 2;
  }
  if (options->help) {
    std::fputs(usage_text().c_str(), stdout);
    return 0;
  }
  return run(*options);
}
