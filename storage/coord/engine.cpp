#include "storage/coord/engine.hpp"

#include <algorithm>
#include <set>

namespace ezone::coord {

struct WorkflowEngine::Ctx {
  JournaledWorkflow j;
  RouteTable table;
  std::set<std::string> live;              // registered ezones
  std::vector<LiveNode> nodes;
  int64_t now = 0;                         // wall ms
  Workflow& w() { return j.workflow; }
};

namespace {

std::set<std::string> targets_of(const Workflow& w) {
  std::set<std::string> out;
  for (const auto& [shard, to] : w.to) out.insert(to);
  return out;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

}  // namespace

WorkflowEngine::WorkflowEngine(meta::MetaStore& store, SiteProbe& probe, const Clock& clock, EngineOptions options)
    : store_(store), probe_(probe), clock_(clock), options_(options), journal_(store), routes_(store) {}

// An id already journaled is answered with its workflow (idempotent
// submit); not_found is the only miss that lets the caller plan anew.
Status WorkflowEngine::find_existing(const std::string& id, bool* created, std::optional<JournaledWorkflow>* out) {
  if (Status s = validate_workflow_id(id); !s) return s;
  if (created) *created = false;
  auto existing = journal_.load(id);
  if (existing) *out = std::move(*existing);
  else if (existing.status().code() != Errc::not_found) return existing.status();
  return Status::ok();
}

Result<JournaledWorkflow> WorkflowEngine::record(Result<Workflow> planned, bool dry_run, bool* created) {
  if (!planned) return planned.status();
  if (dry_run) return JournaledWorkflow{std::move(*planned), 0};
  return journal_.create(*planned, created);
}

Result<JournaledWorkflow> WorkflowEngine::submit_switchover(const std::vector<ShardId>& shards, const std::string& to,
                                                            const std::string& id, bool dry_run, bool* created) {
  std::optional<JournaledWorkflow> known;
  if (Status st = find_existing(id, created, &known); !st) return st;
  if (known) return std::move(*known);
  auto table = routes_.load();
  if (!table) return table.status();
  auto planned = plan_switchover(*table, shards, to, id, clock_.wall_ms());
  return record(std::move(planned), dry_run, created);
}

Result<JournaledWorkflow> WorkflowEngine::submit_failover(const std::string& dead, bool force, const std::string& id,
                                                          bool dry_run, const Capacities& capacities,
                                                          const ShardWeights& weights, bool* created) {
  std::optional<JournaledWorkflow> known;
  if (Status st = find_existing(id, created, &known); !st) return st;
  if (known) return std::move(*known);
  auto table = routes_.load();
  if (!table) return table.status();
  auto nodes = journal_.live_nodes();
  if (!nodes) return nodes.status();
  // Survivors are the live ezones; with force, an ezone without a node is
  // still excluded, since nobody would serve its new shards.
  std::vector<std::string> excluded;
  for (const auto& [zone, site] : table->sites()) {
    bool live = std::any_of(nodes->begin(), nodes->end(), [&](const LiveNode& n) { return n.ezone == zone; });
    if (!live && zone != dead) excluded.push_back(zone);
  }
  auto planned = plan_failover(*table, dead, excluded, capacities, weights, force, id, clock_.wall_ms());
  return record(std::move(planned), dry_run, created);
}

Result<JournaledWorkflow> WorkflowEngine::cancel(const std::string& id) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    auto j = journal_.load(id);
    if (!j) return j.status();
    Workflow& w = j->workflow;
    if (w.outcome != Outcome::running)
      return Status(Errc::conflict, "workflow " + id + " already finished: " + outcome_name(w.outcome) +
                                        (w.detail.empty() ? "" : " (" + w.detail + ")"));
    if (w.cancel_requested) return j;
    w.cancel_requested = true;
    w.enter(w.step, clock_.wall_ms(), "cancel requested");
    auto rev = journal_.update(w, j->mod_revision);
    if (rev) return JournaledWorkflow{w, *rev};
    if (rev.status().code() != Errc::conflict) return rev.status();
  }
  return Status(Errc::conflict, "workflow " + id + " kept changing while cancelling it; try again");
}

Result<StepResult> WorkflowEngine::step(const std::string& id) {
  auto j = journal_.load(id);
  if (!j) return j.status();
  if (j->workflow.outcome != Outcome::running) return StepResult{std::move(*j), false, ""};
  auto table = routes_.load();
  if (!table) return table.status();
  auto nodes = journal_.live_nodes();
  if (!nodes) return nodes.status();
  Ctx c{std::move(*j), std::move(*table), {}, std::move(*nodes), clock_.wall_ms()};
  for (const LiveNode& n : c.nodes) c.live.insert(n.ezone);
  return c.w().kind == WorkflowKind::switchover ? step_switchover(c) : step_failover(c);
}

Result<StepResult> WorkflowEngine::step_switchover(Ctx& c) {
  Workflow& w = c.w();
  std::string why;
  Placement p = placement(c.table, w, &why);
  if (p == Placement::elsewhere) return finish(c, Outcome::failed, "the shards changed behind the workflow: " + why);
  if (p == Placement::after)
    return finish(c, Outcome::done,
                  std::string("the shards are at their target") + (w.cancel_requested ? " (the cancel came too late)" : ""),
                  c.table.epoch());
  if (w.cancel_requested && w.step != Step::restore) return enter(c, Step::restore, "cancelling");
  switch (w.step) {
    case Step::forbid: return do_forbid(c);
    case Step::restore: return do_restore(c);
    default: break;
  }
  if (p != Placement::forbidden)
    return finish(c, Outcome::failed, "the shards were made writable again behind the workflow (epoch " +
                                          std::to_string(c.table.epoch()) + ")");
  switch (w.step) {
    case Step::await_acks: return do_await_acks(c);
    case Step::await_apply: return do_await_apply(c);
    case Step::transfer: return do_transfer(c);
    default: return finish(c, Outcome::failed, std::string("a switchover cannot be at step ") + step_name(w.step));
  }
}

Result<StepResult> WorkflowEngine::step_failover(Ctx& c) {
  Workflow& w = c.w();
  std::string why;
  Placement p = placement(c.table, w, &why);
  if (p == Placement::elsewhere) return finish(c, Outcome::failed, "the shards changed behind the workflow: " + why);
  if (p == Placement::after) return finish(c, Outcome::done, "the shards are at their new owners", c.table.epoch());
  if (w.cancel_requested) return finish(c, Outcome::cancelled, "cancelled before any shard moved");
  if (w.step == Step::await_lease_expiry) return do_await_lease(c);
  if (w.step == Step::transfer) return do_transfer(c);
  return finish(c, Outcome::failed, std::string("a failover cannot be at step ") + step_name(w.step));
}

Result<StepResult> WorkflowEngine::do_forbid(Ctx& c) {
  Workflow& w = c.w();
  if (placement(c.table, w) == Placement::forbidden) {
    // Our commit landed before a crash kept us from journaling it.
    w.forbid_epoch = c.table.epoch();
    if (w.forbid_wall_ms == 0) w.forbid_wall_ms = c.now;
    return enter(c, Step::await_acks, "write-forbidden at epoch " + std::to_string(w.forbid_epoch));
  }
  auto next = forbid_table(c.table, w);
  if (!next) return finish(c, Outcome::failed, next.status().message());
  auto committed = routes_.commit(c.table.epoch(), *next);
  if (!committed) {
    if (committed.status().code() == Errc::conflict) return StepResult{c.j, true, "route table moved; retrying"};
    return committed.status();
  }
  w.forbid_epoch = committed->epoch();
  // The window opens when the forbidding epoch is committed, not when this
  // step began: the commit itself (an etcd write) is not part of it.
  c.now = clock_.wall_ms();
  w.forbid_wall_ms = c.now;
  return enter(c, Step::await_acks, "write-forbidden at epoch " + std::to_string(w.forbid_epoch));
}

Result<StepResult> WorkflowEngine::do_await_acks(Ctx& c) {
  Workflow& w = c.w();
  for (const std::string& t : targets_of(w)) {
    if (!c.live.count(t)) {
      w.cancel_requested = true;
      return enter(c, Step::restore, "cancelling: target " + t + " has no lease (its node is down)");
    }
  }
  if (w.dead_ezone.empty()) {
    for (const std::string& owner : w.old_owners()) {
      if (c.live.count(owner)) continue;
      // The old owner lost its lease: it is fenced. The switchover goes on
      // as a failover for it (its unreplicated writes come back through the
      // conflict policy when it returns).
      w.dead_ezone = owner;
      w.lease_gone_wall_ms = c.now;
      w.enter(w.step, c.now, owner + " lost its lease; continuing as a failover for its shards");
      return save(c, true);
    }
  }
  std::vector<std::string> pending;
  for (const LiveNode& n : c.nodes) {
    auto ack = probe_.acknowledged_epoch(n.ezone);
    if (ack && *ack >= w.forbid_epoch) continue;
    if (!ack && ack.status().code() == Errc::not_found) continue;  // no DAL there: it cannot write
    pending.push_back(n.ezone + (ack ? " at epoch " + std::to_string(*ack) : " (" + ack.status().message() + ")"));
  }
  if (!pending.empty()) {
    if (c.now - w.step_wall_ms > options_.ack_timeout_ms) {
      w.cancel_requested = true;
      return enter(c, Step::restore, "cancelling: no acknowledgement of epoch " + std::to_string(w.forbid_epoch) +
                                         " within " + std::to_string(options_.ack_timeout_ms) + " ms from " + join(pending));
    }
    return wait(c, "acknowledgement of epoch " + std::to_string(w.forbid_epoch) + " from " + join(pending));
  }
  std::string marks;
  for (const std::string& owner : w.old_owners()) {
    if (!c.live.count(owner)) continue;
    auto head = probe_.outbox_head(owner);
    if (!head) return wait(c, "outbox head of " + owner + " (" + head.status().message() + ")");
    w.high_water[owner] = *head;
    marks += (marks.empty() ? "" : ", ") + owner + " at " + std::to_string(*head);
  }
  return enter(c, Step::await_apply, "every live node acknowledged epoch " + std::to_string(w.forbid_epoch) +
                                         "; high-water marks: " + (marks.empty() ? "none" : marks));
}

Result<StepResult> WorkflowEngine::do_await_apply(Ctx& c) {
  Workflow& w = c.w();
  std::vector<std::string> pending;
  for (const std::string& t : targets_of(w)) {
    if (!c.live.count(t)) {
      w.cancel_requested = true;
      return enter(c, Step::restore, "cancelling: target " + t + " lost its lease");
    }
    for (const auto& [owner, mark] : w.high_water) {
      auto applied = probe_.applied(t, owner);
      if (applied && *applied >= mark) continue;
      pending.push_back(t + " applied " + owner + " " +
                        (applied ? std::to_string(*applied) : "? (" + applied.status().message() + ")") + "/" +
                        std::to_string(mark));
    }
  }
  if (pending.empty()) return enter(c, Step::transfer, "targets applied up to the high-water marks");
  if (c.now - w.step_wall_ms > options_.apply_timeout_ms) {
    w.cancel_requested = true;
    return enter(c, Step::restore, "cancelling: replication did not reach the high-water mark within " +
                                       std::to_string(options_.apply_timeout_ms) + " ms: " + join(pending));
  }
  return wait(c, "watermark: " + join(pending));
}

Result<StepResult> WorkflowEngine::do_await_lease(Ctx& c) {
  Workflow& w = c.w();
  if (w.force) return enter(c, Step::transfer, "forced by the operator: not waiting for " + w.dead_ezone + "'s lease");
  if (c.live.count(w.dead_ezone)) {
    if (w.lease_gone_wall_ms != 0)
      return finish(c, Outcome::cancelled, w.dead_ezone + " registered again before its shards moved");
    if (c.now - w.created_wall_ms > options_.failover_wait_ms)
      return finish(c, Outcome::cancelled, w.dead_ezone + " kept its lease for " +
                                               std::to_string(options_.failover_wait_ms) +
                                               " ms: it is alive; use a switchover");
    return wait(c, w.dead_ezone + " still holds its lease");
  }
  if (w.lease_gone_wall_ms == 0) {
    w.lease_gone_wall_ms = c.now;
    w.enter(w.step, c.now, w.dead_ezone + "'s lease is gone");
    return save(c, true);
  }
  int64_t left = w.lease_gone_wall_ms + options_.skew_margin_ms - c.now;
  if (left > 0) return wait(c, "skew margin after " + w.dead_ezone + "'s lease: " + std::to_string(left) + " ms left");
  return enter(c, Step::transfer, w.dead_ezone + "'s lease is gone and the skew margin has passed");
}

Result<StepResult> WorkflowEngine::do_transfer(Ctx& c) {
  Workflow& w = c.w();
  if (!w.dead_ezone.empty() && !w.force) {
    if (c.live.count(w.dead_ezone)) {
      if (w.kind == WorkflowKind::failover)
        return finish(c, Outcome::cancelled, w.dead_ezone + " registered again before its shards moved");
      // A switchover that went on as a failover while its old owner had no
      // lease: the owner is back, so the commit's condition (its
      // registration absent) cannot hold any more, and retrying it would
      // spin for ever (found by the simulator, seed 307). Wait for the
      // owner's acknowledgement and watermark again, as a planned
      // switchover: then nothing it wrote is left behind.
      const std::string back = w.dead_ezone;
      w.dead_ezone.clear();
      w.lease_gone_wall_ms = 0;
      return enter(c, Step::await_acks, back + " registered again; waiting for its acknowledgement and watermark");
    }
    int64_t left = w.lease_gone_wall_ms + options_.skew_margin_ms - c.now;
    if (left > 0) return wait(c, "skew margin after " + w.dead_ezone + "'s lease: " + std::to_string(left) + " ms left");
  }
  auto next = transfer_table(c.table, w);
  if (!next) return finish(c, Outcome::failed, next.status().message());
  // The dead zone must still be unregistered when the change lands, not
  // only when this step looked: had it registered again in between, it
  // could act on the old table until its watch caught up. In one etcd
  // transaction, a registration after this commit reads the new epoch as
  // its fence (EtcdSession::fence_epoch) and one before it fails it.
  std::vector<meta::Compare> also;
  if (!w.dead_ezone.empty() && !w.force)
    also.push_back(meta::Compare{kNodeKeyPrefix + w.dead_ezone, meta::Compare::Target::version, 0, ""});
  auto committed = routes_.commit(c.table.epoch(), *next, also);
  if (!committed) {
    if (committed.status().code() == Errc::conflict) return StepResult{c.j, true, "route table moved; retrying"};
    return committed.status();
  }
  c.now = clock_.wall_ms();  // the window closes when the moving epoch is committed
  std::string note = "moved at epoch " + std::to_string(committed->epoch());
  if (w.forbid_wall_ms > 0) note += "; write-forbidden window " + std::to_string(c.now - w.forbid_wall_ms) + " ms";
  if (!w.dead_ezone.empty())
    note += "; writes of " + w.dead_ezone + " not yet replicated arrive when it returns and go through the conflict policy";
  return finish(c, Outcome::done, note, committed->epoch());
}

Result<StepResult> WorkflowEngine::do_restore(Ctx& c) {
  Workflow& w = c.w();
  std::string reason = w.detail.empty() ? "cancelled" : w.detail;
  if (placement(c.table, w) == Placement::before) return finish(c, Outcome::cancelled, reason, c.table.epoch());
  auto next = restore_table(c.table, w);
  if (!next) return finish(c, Outcome::failed, next.status().message());
  auto committed = routes_.commit(c.table.epoch(), *next);
  if (!committed) {
    if (committed.status().code() == Errc::conflict) return StepResult{c.j, true, "route table moved; retrying"};
    return committed.status();
  }
  return finish(c, Outcome::cancelled, reason + "; shards returned to their owners at epoch " +
                                           std::to_string(committed->epoch()),
                committed->epoch());
}

Result<StepResult> WorkflowEngine::finish(Ctx& c, Outcome outcome, std::string detail, Epoch final_epoch) {
  Workflow& w = c.w();
  w.outcome = outcome;
  w.detail = detail;
  if (final_epoch > 0 && w.final_epoch == 0) {
    w.final_epoch = final_epoch;
    w.final_wall_ms = c.now;
  }
  w.enter(Step::finished, c.now, std::string(outcome_name(outcome)) + ": " + detail);
  return save(c, true);
}

Result<StepResult> WorkflowEngine::enter(Ctx& c, Step next, std::string note) {
  Workflow& w = c.w();
  if (next == Step::restore) {
    const std::string prefix = "cancelling: ";
    w.detail = note.rfind(prefix, 0) == 0 ? note.substr(prefix.size()) : "cancelled on request";
  }
  w.enter(next, c.now, std::move(note));
  return save(c, true);
}

Result<StepResult> WorkflowEngine::wait(Ctx& c, std::string waiting_on) {
  return StepResult{c.j, false, std::move(waiting_on)};
}

Result<StepResult> WorkflowEngine::save(Ctx& c, bool progressed, std::string waiting_on) {
  auto rev = journal_.update(c.w(), c.j.mod_revision);
  if (!rev) return rev.status();
  c.j.mod_revision = *rev;
  return StepResult{c.j, progressed, std::move(waiting_on)};
}

}  // namespace ezone::coord
