#include "zones/coord/plan.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace ezone::coord {
namespace {

std::string shard_label(const ShardRoute& r) { return "shard " + std::to_string(r.shard) + " (" + r.name + ")"; }

double weight_of(const ShardWeights& weights, ShardId shard) {
  auto it = weights.find(shard);
  return it == weights.end() ? 1.0 : std::max(0.0, it->second);
}

Workflow new_workflow(WorkflowKind kind, const std::string& id, Epoch epoch, int64_t now_wall_ms) {
  Workflow w;
  w.id = id;
  w.kind = kind;
  w.base_epoch = epoch;
  w.created_wall_ms = now_wall_ms;
  return w;
}

// The table with each of the workflow's shards given `owner_of(shard)` and
// `state`, at epoch + 1.
template <typename OwnerOf>
Result<RouteTable> rewrite(const RouteTable& table, const Workflow& w, OwnerOf owner_of, ShardState state) {
  std::vector<ShardRoute> shards = table.shards();
  std::set<ShardId> wanted(w.shards.begin(), w.shards.end());
  for (ShardRoute& r : shards) {
    if (!wanted.count(r.shard)) continue;
    r.owner = owner_of(r.shard);
    r.state = state;
    wanted.erase(r.shard);
  }
  if (!wanted.empty())
    return Status(Errc::invalid_argument, "workflow " + w.id + ": shard " + std::to_string(*wanted.begin()) +
                                              " is not in the route table at epoch " +
                                              std::to_string(table.epoch()));
  return RouteTable::create(table.epoch() + 1, std::move(shards), table.sites());
}

}  // namespace

Result<Workflow> plan_switchover(const RouteTable& table, const std::vector<ShardId>& shards,
                                 const std::string& to, const std::string& id, int64_t now_wall_ms) {
  if (Status s = validate_workflow_id(id); !s) return s;
  if (shards.empty()) return Status(Errc::invalid_argument, "a switchover needs at least one shard");
  if (!table.has_ezone(to))
    return Status(Errc::invalid_argument, "unknown ezone '" + to + "' (the route table at epoch " +
                                              std::to_string(table.epoch()) + " has no such site)");
  Workflow w = new_workflow(WorkflowKind::switchover, id, table.epoch(), now_wall_ms);
  std::set<ShardId> seen;
  std::vector<std::string> already;
  for (ShardId s : shards) {
    if (!seen.insert(s).second) return Status(Errc::invalid_argument, "shard " + std::to_string(s) + " is listed twice");
    const ShardRoute* r = table.find(s);
    if (!r) return Status(Errc::invalid_argument, "unknown shard " + std::to_string(s));
    if (r->state == ShardState::write_forbidden)
      return Status(Errc::conflict, shard_label(*r) + " is write-forbidden at epoch " + std::to_string(table.epoch()) +
                                        ": another workflow is moving it; finish or cancel that one first");
    if (r->owner == to) {
      already.push_back(r->name);
      continue;
    }
    w.from[s] = r->owner;
    w.to[s] = to;
  }
  for (const auto& [s, owner] : w.from) w.shards.push_back(s);
  if (w.shards.empty()) {
    // Nothing to move: record the request as done, so that running it twice
    // has the same effect as running it once.
    for (ShardId s : shards) {
      w.shards.push_back(s);
      w.from[s] = to;
      w.to[s] = to;
    }
    std::sort(w.shards.begin(), w.shards.end());
    w.outcome = Outcome::done;
    w.detail = "nothing to do: every shard is already owned by " + to;
    w.enter(Step::finished, now_wall_ms, w.detail);
    return w;
  }
  w.enter(Step::forbid, now_wall_ms,
          "planned at epoch " + std::to_string(table.epoch()) +
              (already.empty() ? "" : "; already at " + to + ": " + std::to_string(already.size()) + " shard(s)"));
  return w;
}

Result<Workflow> plan_failover(const RouteTable& table, const std::string& dead,
                               const std::vector<std::string>& excluded, const Capacities& capacities,
                               const ShardWeights& weights, bool force, const std::string& id,
                               int64_t now_wall_ms) {
  if (Status s = validate_workflow_id(id); !s) return s;
  if (!table.has_ezone(dead)) return Status(Errc::invalid_argument, "unknown ezone '" + dead + "'");
  std::vector<std::string> survivors;
  for (const auto& [zone, site] : table.sites()) {
    if (zone != dead && std::find(excluded.begin(), excluded.end(), zone) == excluded.end())
      survivors.push_back(zone);
  }
  if (survivors.empty()) return Status(Errc::invalid_argument, "no surviving ezone can take " + dead + "'s shards");
  std::vector<const ShardRoute*> moving;
  std::map<std::string, double> load;
  for (const ShardRoute& r : table.shards()) {
    if (r.owner == dead) moving.push_back(&r);
    else load[r.owner] += weight_of(weights, r.shard);
  }
  if (moving.empty())
    return Status(Errc::conflict, dead + " owns no shard at epoch " + std::to_string(table.epoch()) + ": nothing to fail over");
  // Heaviest first makes the greedy spread close to the best one.
  std::stable_sort(moving.begin(), moving.end(), [&](const ShardRoute* a, const ShardRoute* b) {
    return weight_of(weights, a->shard) > weight_of(weights, b->shard);
  });
  Workflow w = new_workflow(WorkflowKind::failover, id, table.epoch(), now_wall_ms);
  w.dead_ezone = dead;
  w.force = force;
  for (const ShardRoute* r : moving) {
    double wt = weight_of(weights, r->shard);
    const std::string* best = nullptr;
    double best_score = 0;
    for (const std::string& zone : survivors) {
      auto cap = capacities.find(zone);
      double c = cap == capacities.end() ? 1.0 : std::max(1e-9, cap->second);
      double score = (load[zone] + wt) / c;
      if (!best || score < best_score) best = &zone, best_score = score;
    }
    load[*best] += wt;
    w.from[r->shard] = dead;
    w.to[r->shard] = *best;
    w.shards.push_back(r->shard);
  }
  std::sort(w.shards.begin(), w.shards.end());
  w.enter(Step::await_lease_expiry, now_wall_ms,
          "planned at epoch " + std::to_string(table.epoch()) + ": " + std::to_string(w.shards.size()) +
              " shard(s) of " + dead + (force ? " (forced by the operator)" : ""));
  return w;
}

namespace {

double distance(const std::map<std::string, double>& load, const std::map<std::string, double>& goal) {
  double d = 0;
  for (const auto& [zone, g] : goal) {
    auto it = load.find(zone);
    d += std::fabs((it == load.end() ? 0 : it->second) - g);
  }
  return d;
}

std::map<std::string, double> shares(const std::map<std::string, double>& load, double total) {
  std::map<std::string, double> out;
  for (const auto& [zone, l] : load) out[zone] = total > 0 ? 100.0 * l / total : 0;
  return out;
}

}  // namespace

Result<RebalancePlan> plan_rebalance(const RouteTable& table, const ShardWeights& weights,
                                     const std::map<std::string, double>& target) {
  double sum = 0;
  for (const auto& [zone, pct] : target) {
    if (!table.has_ezone(zone)) return Status(Errc::invalid_argument, "unknown ezone '" + zone + "' in the target");
    if (!(pct >= 0 && pct <= 100))
      return Status(Errc::invalid_argument, "target for " + zone + " must be between 0 and 100");
    sum += pct;
  }
  if (std::fabs(sum - 100) > 0.5)
    return Status(Errc::invalid_argument, "the target percentages sum to " + std::to_string(sum) + ", not 100");
  std::map<std::string, double> load, goal;
  double total = 0;
  for (const auto& [zone, site] : table.sites()) load[zone] = 0;
  for (const ShardRoute& r : table.shards()) {
    load[r.owner] += weight_of(weights, r.shard);
    total += weight_of(weights, r.shard);
  }
  for (const auto& [zone, l] : load) {
    auto it = target.find(zone);
    goal[zone] = (it == target.end() ? 0 : it->second) / 100.0 * total;
  }
  RebalancePlan plan;
  plan.share_before = shares(load, total);
  std::map<ShardId, std::string> owner;
  for (const ShardRoute& r : table.shards()) owner[r.shard] = r.owner;
  std::set<ShardId> moved;
  // Each round is O(shards x ezones); at most one move per shard bounds the rounds.
  for (size_t round = 0; round < table.shards().size(); ++round) {
    double now = distance(load, goal);
    Move best;
    double best_d = now - 1e-9;
    bool found = false;
    for (const ShardRoute& r : table.shards()) {
      if (moved.count(r.shard)) continue;
      const std::string& from = owner[r.shard];
      if (load[from] <= goal[from]) continue;
      double wt = weight_of(weights, r.shard);
      for (const auto& [zone, g] : goal) {
        if (zone == from || load[zone] >= g) continue;
        load[from] -= wt, load[zone] += wt;
        double d = distance(load, goal);
        load[from] += wt, load[zone] -= wt;
        if (d < best_d) best = Move{r.shard, from, zone, wt}, best_d = d, found = true;
      }
    }
    if (!found) break;
    load[best.from] -= best.weight;
    load[best.to] += best.weight;
    owner[best.shard] = best.to;
    moved.insert(best.shard);
    plan.moves.push_back(best);
  }
  plan.share_after = shares(load, total);
  return plan;
}

Placement placement(const RouteTable& table, const Workflow& w, std::string* why) {
  bool all_before = true, all_forbidden = true, all_after = true;
  for (ShardId s : w.shards) {
    const ShardRoute* r = table.find(s);
    const std::string& from = w.from.at(s);
    const std::string& to = w.to.at(s);
    bool active = r && r->state == ShardState::active;
    bool before = r && r->owner == from && (active || w.kind == WorkflowKind::failover);
    bool forbidden = r && r->owner == from && !active;
    bool after = r && r->owner == to && active;
    all_before &= before;
    all_forbidden &= forbidden;
    all_after &= after;
    if (!before && !forbidden && !after) {
      if (why)
        *why = r ? shard_label(*r) + " is owned by " + r->owner + " (" + shard_state_name(r->state) +
                       ") at epoch " + std::to_string(table.epoch()) + "; the workflow expected " + from +
                       " or " + to
                 : "shard " + std::to_string(s) + " is gone from the route table";
      return Placement::elsewhere;
    }
  }
  if (all_after) return Placement::after;
  if (all_forbidden && w.kind == WorkflowKind::switchover) return Placement::forbidden;
  if (all_before) return Placement::before;
  if (why) *why = "the workflow's shards are half moved at epoch " + std::to_string(table.epoch());
  return Placement::elsewhere;
}

Result<RouteTable> forbid_table(const RouteTable& table, const Workflow& w) {
  return rewrite(table, w, [&](ShardId s) { return w.from.at(s); }, ShardState::write_forbidden);
}

Result<RouteTable> transfer_table(const RouteTable& table, const Workflow& w) {
  return rewrite(table, w, [&](ShardId s) { return w.to.at(s); }, ShardState::active);
}

Result<RouteTable> restore_table(const RouteTable& table, const Workflow& w) {
  return rewrite(table, w, [&](ShardId s) { return w.from.at(s); }, ShardState::active);
}

}  // namespace ezone::coord
