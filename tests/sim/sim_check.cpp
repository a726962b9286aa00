// The oracle and the invariants of DESIGN.md, checked as events happen.
//
// The oracle watches the store with no delay: every route table committed
// (by epoch) and which lease each ezone's registration is under. Sites are
// judged against it, never against their own (possibly stale) view:
//
//   1 one owner    each epoch is committed once, epoch after epoch; a commit
//                  for shard S happens only at the ezone the store's current
//                  table names as S's owner (no split brain, whatever the
//                  sites believe); one writing site per (shard, epoch).
//   2 DAL rule     every commit, on the gate the Dal's writer took for it:
//                  a table the store committed, this ezone the owner, the
//                  shard active, the lease valid, the request's epoch not
//                  ahead, an older epoch only with the same route; and a
//                  request at the gate's epoch is refused exactly when the
//                  rule fails (a wrong-zone write as wrong_zone).
//   3 outbox       every commit answers with the next outbox seq of its
//                  site; the entry under that seq, read when a peer pulls
//                  it, holds the commit's HLC, shard and row; by the end
//                  every commit's entry has been read so.
//   4 exactly once before each apply the durable cursor is exactly where
//                  the last apply left it (across restarts); each apply
//                  takes exactly the entries after it, however late,
//                  repeated or reordered the batch; outboxes hold only the
//                  site's own commits (never a re-shipped change); after
//                  quiescing, no (origin, version) twice in a change feed.
//   5 conflicts    every kept conflict names the policy's winner; the
//                  converged value of each key is the policy's winner among
//                  the versions nobody overwrote; every other version was
//                  overwritten or is kept as a conflict loser (nothing lost
//                  silently).
//   6 switchover   when a switchover moves a shard from A to B, B has
//                  applied every commit A made to it.
//   7 convergence  after healing and quiescing, equal checksums per table
//                  and per shard at every site.
//   9 quarantine   a write is refused as quarantined only for a row its
//                  site holds in quarantine; after quiescing, every site
//                  holds the same quarantined rows, each with a conflict.
//                  Quarantine and release records in the outbox are the
//                  site's own control records (invariants 3 and 4 allow
//                  them beside its commits).
//                  (The operator releases every quarantined row now and
//                  then, World::operator_releases, so keys stay writable;
//                  for some it keeps the losing version, a commit at the
//                  owner that is checked as any other.)
//   8 fencing      a site whose lease is valid by its own reckoning holds
//                  the lease the store has registered for it (checked every
//                  tick), and every commit happened under that lease.
#include <set>

#include "storage/coord/journal.hpp"
#include "tests/sim/sim_world.hpp"

namespace ezone::sim {

namespace {
std::string shard_text(ShardId s) { return "shard " + std::to_string(s); }
}  // namespace

void World::watch_store() {
  auto loaded = routes_->load_stored();
  if (!loaded) std::abort();
  tables_[loaded->table.epoch()] = std::make_shared<const RouteTable>(loaded->table);
  meta::WatchCallbacks tcb;
  tcb.on_events = [this](const std::vector<meta::WatchEvent>& events) {
    for (const meta::WatchEvent& e : events) {
      if (e.type != meta::WatchEvent::Type::put) {
        violation("invariant 1: the route table key was deleted");
        continue;
      }
      auto table = decode_stored_route_table(e.kv);
      if (!table) {
        violation("invariant 1: the store holds a malformed table: " + table.status().message());
        continue;
      }
      on_table_event(*table);
    }
  };
  tcb.on_status = [](const Status&) {};
  auto tw = store_->watch(kRouteTableKey, false, loaded->mod_revision + 1, tcb);
  meta::WatchCallbacks ncb;
  ncb.on_events = [this](const std::vector<meta::WatchEvent>& events) {
    for (const meta::WatchEvent& e : events) {
      const std::string ezone = e.kv.key.substr(std::string(coord::kNodeKeyPrefix).size());
      if (e.type == meta::WatchEvent::Type::put) {
        registered_[ezone] = e.kv.lease;
      } else {
        registered_.erase(ezone);
        trace("registration of " + ezone + " gone");
      }
    }
  };
  ncb.on_status = [](const Status&) {};
  auto nw = store_->watch(coord::kNodeKeyPrefix, true, 0, ncb);
  if (!tw || !nw) std::abort();
  table_watch_ = std::move(*tw);
  node_watch_ = std::move(*nw);
}

void World::on_table_event(const RouteTable& table) {
  const Epoch last = tables_.rbegin()->first;
  if (table.epoch() != last + 1) {
    violation("invariant 1: the store went from epoch " + std::to_string(last) + " to " + std::to_string(table.epoch()));
    return;
  }
  auto shared = std::make_shared<const RouteTable>(table);
  const RouteTable& before = *tables_.rbegin()->second;
  tables_[table.epoch()] = shared;
  std::string change;
  for (const ShardRoute& r : table.shards()) {
    const ShardRoute* old = before.find(r.shard);
    if (*old != r) change += " " + std::to_string(r.shard) + ":" + r.owner + (r.state == ShardState::active ? "" : "(wf)");
  }
  trace("epoch " + std::to_string(table.epoch()) + change + (stepping_.empty() ? "" : " by " + stepping_));
  check_transfer(table.epoch(), before, table);
  push_table(shared);
}

void World::check_commit(SimSite& s, const dal::TxOutcome& out, ShardId shard, Epoch target, const std::string& key,
                         const std::string& value, const GateSeen& g) {
  ++stats_.commits;
  const std::string who = s.ezone() + " committed " + key + " (" + shard_text(shard) + ", gate epoch " +
                          std::to_string(g.epoch) + ")";
  auto at = tables_.find(g.epoch);
  if (at == tables_.end()) return violation("invariant 2: " + who + " under a table the store never committed");
  const ShardRoute* r = at->second->find(shard);
  if (!r || r->owner != s.ezone() || r->state != ShardState::active)
    return violation("invariant 2: " + who + " but that table gives it to " + (r ? r->owner : "nobody") +
                     (r && r->state != ShardState::active ? ", write-forbidden" : ""));
  if (!g.lease_valid) return violation("invariant 2: " + who + " without a valid lease");
  if (target > g.epoch) return violation("invariant 2: " + who + " for a request routed at a later epoch " + std::to_string(target));
  if (target < g.epoch) {
    auto old = tables_.find(target);
    const ShardRoute* then = old == tables_.end() ? nullptr : old->second->find(shard);
    if (!then || *then != *r) return violation("invariant 2: " + who + " for a request routed at epoch " +
                                               std::to_string(target) + " whose route differs");
  }
  auto reg = registered_.find(s.ezone());
  if (reg == registered_.end() || reg->second != g.lease_id)
    return violation("invariant 8: " + who + " under lease " + std::to_string(g.lease_id) + " but the store " +
                     (reg == registered_.end() ? "holds no lease for it" : "holds lease " + std::to_string(reg->second)));
  const RouteTable& current = *tables_.rbegin()->second;
  const ShardRoute* now_route = current.find(shard);
  if (now_route->owner != s.ezone())
    return violation("invariant 1: split brain: " + who + " while the store gives it to " + now_route->owner +
                     " at epoch " + std::to_string(current.epoch()));
  auto [w, inserted] = writer_of_.emplace(std::make_pair(shard, g.epoch), s.index());
  if (!inserted && w->second != s.index())
    return violation("invariant 1: " + who + " but " + sites_[static_cast<size_t>(w->second)]->ezone() +
                     " also wrote that shard at that epoch");

  // Invariant 3: the commit's outbox entry, from the outbox itself.
  if (out.outbox_seq == 0 || out.rows != 1) return violation("invariant 3: " + who + " with no outbox entry");
  if (out.outbox_seq > 1 && !commit_by_seq_.count(seq_key(s.index(), out.outbox_seq - 1)) &&
      !control_entry(s, out.outbox_seq - 1))
    return violation("invariant 3: " + who + " as outbox seq " + std::to_string(out.outbox_seq) + ", but seq " +
                     std::to_string(out.outbox_seq - 1) + " was no commit of it");
  if (commit_by_seq_.count(seq_key(s.index(), out.outbox_seq)))
    return violation("invariant 3: " + who + " reusing outbox seq " + std::to_string(out.outbox_seq));
  commit_by_seq_[seq_key(s.index(), out.outbox_seq)] = commits_.size();
  commits_.push_back(CommitRecord{s.index(), shard, key, value, out.hlc, out.outbox_seq, g.epoch, {}, now(), false,
                                  generation_[static_cast<size_t>(s.index())], false});
}

void World::check_outbox_entry(int site, const dal::OutboxEntry& e) {
  const std::string& ezone = sites_[static_cast<size_t>(site)]->ezone();
  auto it = commit_by_seq_.find(seq_key(site, e.seq));
  if (it == commit_by_seq_.end() && is_control(e)) return;  // a quarantine or a release
  if (it == commit_by_seq_.end())
    return violation("invariant 4: " + ezone + "'s outbox holds seq " + std::to_string(e.seq) +
                     " that is not one of its own acknowledged commits (re-shipped or invented)");
  CommitRecord& c = commits_[it->second];
  if (c.entry_checked) return;
  auto changes = dal::decode_changes(e.body);
  bool holds = e.hlc == c.hlc && e.shard == static_cast<int64_t>(c.shard) && changes && changes->size() == 1 &&
               (*changes)[0].pk.size() == 1 && std::get<std::string>((*changes)[0].pk[0]) == c.key;
  bool has_value = false;
  for (const dal::Value& v : holds ? (*changes)[0].row : dal::Row{})
    has_value = has_value || (std::holds_alternative<std::string>(v) && std::get<std::string>(v) == c.value);
  holds = holds && has_value;
  if (!holds)
    return violation("invariant 3: " + ezone + "'s outbox entry " + std::to_string(e.seq) + " does not hold its commit " +
                     c.key + "=" + c.value);
  c.base = (*changes)[0].base;
  c.entry_checked = true;
}

// A quarantine or release record: the site's own control record, never a
// client's commit.
bool World::is_control(const dal::OutboxEntry& e) {
  auto changes = dal::decode_changes(e.body);
  return changes && changes->size() == 1 && (*changes)[0].table == "_ezone_quarantine";
}

bool World::control_entry(SimSite& s, uint64_t seq) {
  auto batch = s.dal().read_outbox(seq - 1, 1, 1 << 20);
  return batch && batch->entries.size() == 1 && batch->entries[0].seq == seq && is_control(batch->entries[0]);
}

void World::check_refusal(SimSite& s, const dal::TxOutcome& out, ShardId shard, Epoch target, const GateSeen& g,
                          const std::string& key) {
  ++stats_.refusals;
  if (out.refusal == dal::Refusal::none)
    return violation("a write at " + s.ezone() + " failed without a refusal: " + out.status.to_string());
  if (out.refusal == dal::Refusal::quarantined) {
    // Allowed only for a row this site holds in quarantine.
    auto q = s.dal().quarantine(1000000);
    if (!q) return violation("quarantine() failed at " + s.ezone());
    const std::string pk = dal::row_text({dal::Value(key)});
    for (const dal::QuarantineEntry& e : *q)
      if (e.table == "kv" && e.pk == pk) return void(++stats_.quarantined_refused);
    return violation("the DAL at " + s.ezone() + " refused key " + key + " as quarantined, but it is not quarantined there");
  }
  if (target != g.epoch || g.epoch == 0) return;
  auto at = tables_.find(g.epoch);
  if (at == tables_.end()) return violation("invariant 2: " + s.ezone() + " judged a write on an unknown epoch");
  const ShardRoute* r = at->second->find(shard);
  const bool rule = r && r->owner == s.ezone() && r->state == ShardState::active && g.lease_valid;
  if (rule)
    return violation("the DAL at " + s.ezone() + " refused a write the rule allows (" + shard_text(shard) + ", epoch " +
                     std::to_string(g.epoch) + "): " + out.status.message());
  if (r && r->owner != s.ezone()) {
    ++stats_.wrong_zone_refused;
    if (out.refusal != dal::Refusal::wrong_zone)
      return violation("invariant 2: a wrong-zone write at " + s.ezone() + " was refused as " + dal::refusal_name(out.refusal));
  }
}

void World::check_transfer(Epoch epoch, const RouteTable& before, const RouteTable& after) {
  std::vector<std::pair<const ShardRoute*, const ShardRoute*>> moved;
  for (const ShardRoute& r : after.shards())
    if (before.find(r.shard)->owner != r.owner) moved.emplace_back(before.find(r.shard), &r);
  if (moved.empty()) return;
  if (stepping_.empty()) return violation("invariant 1: epoch " + std::to_string(epoch) + " moved shards outside any workflow");
  // The journal still holds the workflow as it was before this step.
  auto j = oracle_journal_->load(stepping_);
  if (!j) {
    if (j.status().code() != Errc::not_found) return trace("transfer not checked: " + j.status().message());
    return violation("the journal lost workflow " + stepping_);
  }
  const coord::Workflow& w = j->workflow;
  if (w.kind != coord::WorkflowKind::switchover || !w.dead_ezone.empty()) return;  // a failover may leave writes behind
  for (const auto& [from, to] : moved) {
    SimSite* b = nullptr;
    for (auto& s : sites_)
      if (s->ezone() == to->owner) b = s.get();
    if (!b || !b->alive()) {
      trace("transfer of " + shard_text(to->shard) + " not checked: " + to->owner + " is down");
      continue;
    }
    auto applied = b->dal().cursor(from->owner);
    if (!applied) return violation("cursor read failed at " + b->ezone());
    for (const CommitRecord& c : commits_) {
      if (c.shard != to->shard || sites_[static_cast<size_t>(c.site)]->ezone() != from->owner || c.seq <= *applied ||
          c.lost || c.generation != generation_[static_cast<size_t>(c.site)])
        continue;
      return violation("invariant 6: switchover " + w.id + " moved " + shard_text(to->shard) + " from " + from->owner +
                       " to " + to->owner + " at epoch " + std::to_string(epoch) + ", but " + to->owner + " applied " +
                       from->owner + " only up to seq " + std::to_string(*applied) + "; commit " + c.key + "=" + c.value +
                       " (seq " + std::to_string(c.seq) + ") is not there");
    }
    ++stats_.transfers_checked;
  }
}

void World::check_sites() {
  for (auto& s : sites_) {
    if (!s->alive()) continue;
    auto view = s->view();
    if (view) {
      auto at = tables_.find(view->epoch());
      if (at == tables_.end() || *at->second != *view)
        return violation("invariant 1: " + s->ezone() + " holds a table at epoch " + std::to_string(view->epoch()) +
                         " that the store never committed");
    }
    if (s->lease_valid()) {
      auto reg = registered_.find(s->ezone());
      if (reg == registered_.end() || reg->second != s->lease_id())
        return violation("invariant 8: " + s->ezone() + " still counts lease " + std::to_string(s->lease_id()) +
                         " as valid, but the store " +
                         (reg == registered_.end() ? "has expired it" : "registers lease " + std::to_string(reg->second)));
    }
  }
}

}  // namespace ezone::sim
