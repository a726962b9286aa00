// The coordinator: the real WorkflowEngine, stepped from the simulation
// loop, asking the sites through SimProbe over its own simulated links.
#include <algorithm>

#include "tests/sim/sim_world.hpp"

namespace ezone::sim {

SimSite* World::reachable_site(const std::string& ezone) {
  for (auto& s : sites_) {
    if (s->ezone() != ezone) continue;
    if (!s->alive() || !net_->call(coord_node(), s->index())) return nullptr;
    return s.get();
  }
  return nullptr;
}

Result<Epoch> SimProbe::acknowledged_epoch(const std::string& ezone) {
  SimSite* s = world_.reachable_site(ezone);
  if (!s) return Status(Errc::unavailable, ezone + " does not answer");
  return s->dal().acknowledged_epoch();
}

Result<uint64_t> SimProbe::outbox_head(const std::string& ezone) {
  SimSite* s = world_.reachable_site(ezone);
  if (!s) return Status(Errc::unavailable, ezone + " does not answer");
  lineages_[ezone] = s->dal().lineage();
  return s->dal().outbox_head();
}

// As HttpSiteProbe::applied: 0 while the cursor is of an outbox of origin
// that a re-seed replaced, whose seqs say nothing of the current one.
Result<uint64_t> SimProbe::applied(const std::string& ezone, const std::string& origin) {
  SimSite* s = world_.reachable_site(ezone);
  if (!s) return Status(Errc::unavailable, ezone + " does not answer");
  if (world_.breaks().probe_skips_watermark) return UINT64_MAX;
  auto cursor = s->dal().origin_cursor(origin);
  if (!cursor) return cursor.status();
  auto through = s->dal().applied_through(origin);  // short of rows that wait parked
  if (!through) return through.status();
  cursor->seq = std::min(cursor->seq, *through);
  if (cursor->lineage == 0) return cursor->seq;
  auto known = lineages_.find(origin);
  if (known == lineages_.end()) {
    SimSite* o = world_.reachable_site(origin);
    if (!o) return Status(Errc::unavailable, origin + " does not answer");
    known = lineages_.emplace(origin, o->dal().lineage()).first;
  }
  return known->second != cursor->lineage ? 0 : cursor->seq;
}

bool World::coord_store_hop(bool request) {
  // While a request or answer travels, time passes and other messages land
  // (another node's registration, a site's grant...), between the engine's
  // reads and its compare-and-swap.
  const bool slow = opt_.store_hop_ms_max > 0;
  if (chance(rng_, slow ? 1.0 : 0.3)) {
    clock_.advance_ms(uniform_int(rng_, 1, slow ? opt_.store_hop_ms_max : 5));
    store_->tick();
    net_->run_due(now());
  }
  const int from = request ? coord_node() : store_node();
  const int to = request ? store_node() : coord_node();
  return net_->up(from, to) && !chance(rng_, net_->link(from, to).drop);
}

void World::coordinator_actions(bool chaos) {
  if (now() < coord_down_until_ms_ || now() < coord_next_ms_) return;
  coord_next_ms_ = now() + uniform_int(rng_, 20, 100);
  if (chaos && chance(rng_, 0.05)) submit_workflow();
  if (chaos && !workflows_.empty() && chance(rng_, 0.01)) {
    const std::string id = workflows_[static_cast<size_t>(uniform_int(rng_, 0, static_cast<int64_t>(workflows_.size()) - 1))];
    auto r = engine_->cancel(id);
    trace("cancel " + id + ": " + (r ? "requested" : r.status().message()));
  }
  if (auto_failover_) detect_failures();
  step_workflows();
}

// The node's Coordinator with auto_failover (actors/node/coordinator.cpp):
// an ezone seen registered before and missing now, owning shards that no
// running workflow moves, gets a failover.
void World::detect_failures() {
  auto nodes = engine_->journal().live_nodes();
  if (!nodes) return;
  std::set<std::string> live;
  for (const coord::LiveNode& n : *nodes) live.insert(n.ezone);
  seen_live_.insert(live.begin(), live.end());
  const RouteTable& table = *tables_.rbegin()->second;
  std::set<ShardId> moving;
  for (const std::string& id : workflows_) {
    auto j = oracle_journal_->load(id);
    if (j) moving.insert(j->workflow.shards.begin(), j->workflow.shards.end());
  }
  for (const auto& [zone, site] : table.sites()) {
    if (live.count(zone) || !seen_live_.count(zone)) continue;
    std::vector<ShardId> owned = table.shards_owned_by(zone);
    const bool busy = std::any_of(owned.begin(), owned.end(), [&](ShardId s) { return moving.count(s) > 0; });
    if (owned.empty() || busy) continue;
    const std::string id = "auto-" + zone + "-" + std::to_string(++workflow_count_);
    auto r = engine_->submit_failover(zone, false, id, false);
    trace("auto failover " + id + ": " + (r ? "submitted" : r.status().message()));
    if (r) workflows_.push_back(id);
  }
}

void World::submit_workflow() {
  if (workflows_.size() >= 2) return;
  const RouteTable& table = *tables_.rbegin()->second;
  const std::string id = "wf-" + std::to_string(++workflow_count_);
  const int n = static_cast<int>(sites_.size());
  const double u = uniform01(rng_);
  Result<coord::JournaledWorkflow> r = Status(Errc::internal, "none");
  std::string what;
  if (u < 0.6) {
    const std::string to = sites_[static_cast<size_t>(uniform_int(rng_, 0, n - 1))]->ezone();
    std::vector<ShardId> shards;
    const int count = static_cast<int>(uniform_int(rng_, 1, 2));
    for (int i = 0; i < count; ++i) {
      const auto shard = static_cast<ShardId>(uniform_int(rng_, 0, opt_.shards - 1));
      if (table.find(shard)->owner != to && std::find(shards.begin(), shards.end(), shard) == shards.end())
        shards.push_back(shard);
    }
    if (shards.empty()) return;
    std::sort(shards.begin(), shards.end());
    what = "switchover of";
    for (ShardId s : shards) what += " " + std::to_string(s);
    what += " to " + to;
    r = engine_->submit_switchover(shards, to, id, false);
  } else if (u < 0.9) {
    const std::string dead = sites_[static_cast<size_t>(uniform_int(rng_, 0, n - 1))]->ezone();
    what = "failover of " + dead;
    r = engine_->submit_failover(dead, false, id, false);
  } else {
    // A forced failover is safe only if the ezone really is down: the
    // operator's word. The simulation keeps it down until the workflow ends.
    int dead = -1;
    for (auto& s : sites_)
      if (!s->alive() && !pinned_dead_.count(s->index())) dead = s->index();
    if (dead < 0) return;
    what = "forced failover of " + sites_[static_cast<size_t>(dead)]->ezone();
    pinned_dead_.insert(dead);
    forced_dead_[id] = dead;
    r = engine_->submit_failover(sites_[static_cast<size_t>(dead)]->ezone(), true, id, false);
  }
  if (!r) {
    forced_dead_.erase(id);
    trace("submit " + id + " " + what + ": " + r.status().message());
    return;
  }
  trace("submit " + id + " " + what);
  workflows_.push_back(id);
}

void World::step_workflows() {
  for (const std::string& id : std::vector<std::string>(workflows_)) {
    for (int i = 0; i < 4 && violations_.empty(); ++i) {
      stepping_ = id;
      auto r = engine_->step(id);
      stepping_.clear();
      if (!r) {
        trace("step " + id + ": " + r.status().message());
        break;
      }
      const coord::Workflow& w = r->state.workflow;
      if (r->progressed)
        trace("step " + id + " at " + coord::step_name(w.step) + " " + coord::outcome_name(w.outcome) +
              (w.events.empty() ? "" : ": " + w.events.back().note));
      if (w.outcome != coord::Outcome::running) {
        if (w.outcome == coord::Outcome::done)
          ++(w.kind == coord::WorkflowKind::switchover ? stats_.switchovers_done : stats_.failovers_done);
        if (w.outcome == coord::Outcome::cancelled) ++stats_.cancelled;
        if (w.outcome == coord::Outcome::failed) ++stats_.failed;
        workflows_.erase(std::find(workflows_.begin(), workflows_.end(), id));
        forced_dead_.erase(id);
        break;
      }
      if (!r->progressed) break;
    }
  }
}

}  // namespace ezone::sim
