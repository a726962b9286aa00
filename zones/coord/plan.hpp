// Planning for the coordinator's workflows: pure functions from a route
// table (and measurements) to a Workflow or to the next route table. The
// engine (storage/coord/engine.hpp) does the I/O; everything it decides is
// decided here, so it is tested without etcd or nodes.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "zones/coord/workflow.hpp"
#include "zones/routing/route_table.hpp"

namespace ezone::coord {

// A switchover of `shards` to ezone `to`, planned on `table`. Shards already
// owned by `to` are left out (so a repeated request is a no-op: the result
// is then `done` at once, with detail saying so). Errors:
//   invalid_argument  no shards, a shard twice, an unknown shard or ezone
//   conflict          a listed shard is write-forbidden: another workflow
//                     is moving it (finish or cancel that one first)
Result<Workflow> plan_switchover(const RouteTable& table, const std::vector<ShardId>& shards,
                                 const std::string& to, const std::string& id, int64_t now_wall_ms);

// Capacity of each surviving ezone, in any unit (relative weights); an
// ezone missing from the map has capacity 1.
using Capacities = std::map<std::string, double>;
// Measured traffic per shard (requests/s or any unit); a shard missing from
// the map weighs 1.
using ShardWeights = std::map<ShardId, double>;

// A failover of every shard owned by `dead` to the survivors (every other
// ezone of the table not listed in `excluded`), heaviest shard first to the
// survivor whose load after taking it, divided by its capacity, is lowest
// (ties: the ezone name). Errors:
//   invalid_argument  unknown ezone, or no survivor left
//   conflict          `dead` owns no shard (nothing to fail over)
Result<Workflow> plan_failover(const RouteTable& table, const std::string& dead,
                               const std::vector<std::string>& excluded, const Capacities& capacities,
                               const ShardWeights& weights, bool force, const std::string& id,
                               int64_t now_wall_ms);

// One shard to move in a rebalance.
struct Move {
  ShardId shard = 0;
  std::string from;
  std::string to;
  double weight = 0;
};

struct RebalancePlan {
  std::vector<Move> moves;
  std::map<std::string, double> share_before;  // ezone -> % of the weight
  std::map<std::string, double> share_after;
};

// Moves shards between ezones toward `target` (ezone -> percent; they must
// sum to 100 within 0.5 and name ezones of the table; ezones not named get
// 0). Greedy: each move takes the shard from the ezone furthest above its
// target to the one furthest below that most reduces the total distance
// from the target, and stops when no move reduces it. At most one move per
// shard. invalid_argument for a bad target.
Result<RebalancePlan> plan_rebalance(const RouteTable& table, const ShardWeights& weights,
                                     const std::map<std::string, double>& target);

// Where the workflow's shards stand in a route table.
enum class Placement {
  before,       // owned by their `from` owners and active (failover: any state)
  forbidden,    // owned by their `from` owners, write-forbidden
  after,        // owned by their `to` owners, active
  elsewhere,    // anything else: someone changed them behind the workflow
};
// *why (optional) names the first shard that is `elsewhere`.
Placement placement(const RouteTable& table, const Workflow& workflow, std::string* why = nullptr);

// The next tables of a workflow (each at table.epoch() + 1):
//   forbid_table:   the shards write-forbidden, owners unchanged
//   transfer_table: the shards owned by their `to` owners, active
//   restore_table:  the shards owned by their `from` owners, active
// Errors as move_shards / set_shard_state (route_table.hpp).
Result<RouteTable> forbid_table(const RouteTable& table, const Workflow& workflow);
Result<RouteTable> transfer_table(const RouteTable& table, const Workflow& workflow);
Result<RouteTable> restore_table(const RouteTable& table, const Workflow& workflow);

}  // namespace ezone::coord
