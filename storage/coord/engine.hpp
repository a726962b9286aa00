// WorkflowEngine: runs the coordinator's workflows (zones/coord/workflow.hpp
// has the state diagram) against the cluster's memory (MetaStore: route
// table, journal, registrations) and the sites (SiteProbe).
//
// step() advances one workflow by at most one step and journals the result
// before returning, so the engine holds no state of its own: a node that
// crashed mid-workflow, or another node, resumes with the next step() on the
// same id. Every route-table change is an epoch compare-and-swap computed
// from the table as it is now, and every step first checks where the
// workflow's shards stand (plan.hpp, placement), so a step repeated after a
// crash between "commit" and "journal" finds its change already made and
// moves on instead of making it twice.
//
// Waiting never sleeps: a step that waits (on acknowledgements, a watermark,
// a lease) returns progressed = false, and the caller calls again after its
// poll interval. The node's Coordinator does that on its own thread; the
// simulator does it on its simulated clock.
//
// Thread-safety: step() on one workflow from two threads at once is safe
// (the journal's compare-and-swap makes one of them fail with conflict) but
// wasteful; callers use the runner claim (journal.hpp) to avoid it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "storage/coord/journal.hpp"
#include "storage/coord/site_probe.hpp"
#include "storage/meta/meta_store.hpp"
#include "storage/route/route_store.hpp"
#include "zones/coord/plan.hpp"

namespace ezone::coord {

struct EngineOptions {
  // Every live node must acknowledge the write-forbidden epoch within this
  // long, or the switchover is cancelled (the shards return to their owner).
  int64_t ack_timeout_ms = 5000;
  // The target must apply the old owners' outbox up to the high-water mark
  // within this long, or the switchover is cancelled.
  int64_t apply_timeout_ms = 30000;
  // Extra wait after a dead ezone's lease is gone from etcd before its
  // shards are given away: covers clock skew between etcd and that node,
  // whose self-fencing (EtcdSession::lease_valid) already stops it writing
  // a margin before its lease can expire.
  int64_t skew_margin_ms = 1000;
  // A non-forced failover of an ezone that keeps its lease gives up after
  // this long (it is alive: use a switchover).
  int64_t failover_wait_ms = 60000;
};

struct StepResult {
  JournaledWorkflow state;  // as journaled after the step
  bool progressed = false;  // false: waiting (or finished); call again later
  std::string waiting_on;   // what it waits for, for progress displays
};

class WorkflowEngine {
 public:
  // store, probe and clock must outlive the engine.
  WorkflowEngine(meta::MetaStore& store, SiteProbe& probe, const Clock& clock, EngineOptions options = {});

  WorkflowJournal& journal() { return journal_; }
  const EngineOptions& options() const { return options_; }

  // Plans a switchover on the current route table and journals it (unless
  // dry_run). An id already in the journal returns that workflow unchanged
  // (idempotent submit; *created, if given, says which). Errors from plan_switchover, the store, and
  // not_found when no route table exists.
  Result<JournaledWorkflow> submit_switchover(const std::vector<ShardId>& shards, const std::string& to,
                                              const std::string& id, bool dry_run, bool* created = nullptr);
  // Plans a failover of `dead`'s shards to the live ezones, spread by
  // capacity. Without force it waits for dead's lease to be gone (plus the
  // skew margin) before moving anything; with force it moves them at once,
  // on the operator's word. conflict when dead owns nothing.
  Result<JournaledWorkflow> submit_failover(const std::string& dead, bool force, const std::string& id,
                                            bool dry_run, const Capacities& capacities = {},
                                            const ShardWeights& weights = {}, bool* created = nullptr);
  // Marks the workflow for cancellation; its runner returns the shards to
  // their previous owners at its next step. conflict when it already
  // finished (its outcome says how). Idempotent.
  Result<JournaledWorkflow> cancel(const std::string& id);

  // Advances the workflow by at most one step (see the header comment).
  // A finished workflow is returned unchanged. Errors: the store's
  // (unavailable, timeout), conflict when the journal record changed under
  // this step (call again), not_found for an unknown id.
  Result<StepResult> step(const std::string& id);

 private:
  struct Ctx;
  Status find_existing(const std::string& id, bool* created, std::optional<JournaledWorkflow>* out);
  Result<JournaledWorkflow> record(Result<Workflow> planned, bool dry_run, bool* created);
  Result<StepResult> step_switchover(Ctx& c);
  Result<StepResult> step_failover(Ctx& c);
  Result<StepResult> do_forbid(Ctx& c);
  Result<StepResult> do_await_acks(Ctx& c);
  Result<StepResult> do_await_apply(Ctx& c);
  Result<StepResult> do_transfer(Ctx& c);
  Result<StepResult> do_restore(Ctx& c);
  Result<StepResult> do_await_lease(Ctx& c);
  Result<StepResult> commit_and_enter(Ctx& c, const Result<RouteTable>& next, Step after, std::string note);
  Result<StepResult> finish(Ctx& c, Outcome outcome, std::string detail, Epoch final_epoch = 0);
  Result<StepResult> enter(Ctx& c, Step next, std::string note);
  Result<StepResult> wait(Ctx& c, std::string waiting_on);
  Result<StepResult> save(Ctx& c, bool progressed, std::string waiting_on = "");

  meta::MetaStore& store_;
  SiteProbe& probe_;
  const Clock& clock_;
  EngineOptions options_;
  WorkflowJournal journal_;
  RouteStore routes_;
};

}  // namespace ezone::coord
