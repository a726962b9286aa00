// WorkflowJournal: the coordinator's workflows in etcd (DESIGN.md,
// "coordinator": every workflow is journaled, so it survives the crash of
// the node running it).
//
// etcd keys:
//   /ezone/v1/workflows/<id>         the Workflow as JSON (zones/coord/workflow.hpp)
//   /ezone/v1/workflow-runners/<id>  the ezone running it, under that ezone's
//                                    lease: when the runner dies its lease
//                                    expires, the key goes, and another node
//                                    may claim the workflow and resume it
//   /ezone/v1/nodes/<ezone>          (written by each node's EtcdSession under
//                                    its ownership lease) which ezones are live
//
// Every update is a compare-and-swap on the record's mod_revision, so two
// coordinators (or a coordinator and an operator's cancel) never overwrite
// each other: the loser re-reads and decides again.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "storage/meta/meta_store.hpp"
#include "zones/coord/workflow.hpp"

namespace ezone::coord {

constexpr const char* kWorkflowKeyPrefix = "/ezone/v1/workflows/";
constexpr const char* kWorkflowRunnerKeyPrefix = "/ezone/v1/workflow-runners/";
constexpr const char* kNodeKeyPrefix = "/ezone/v1/nodes/";
// Finished workflows kept in the journal; older finished ones are deleted
// when a new workflow is created.
constexpr size_t kFinishedWorkflowsKept = 200;

struct JournaledWorkflow {
  Workflow workflow;
  int64_t mod_revision = 0;
};

// An ezone with a live registration (its node holds its lease).
struct LiveNode {
  std::string ezone;
  std::string admin;  // HOST:PORT of its admin API, from its registration
  int64_t lease = 0;
};

class WorkflowJournal {
 public:
  // store must outlive the journal.
  explicit WorkflowJournal(meta::MetaStore& store) : store_(store) {}
  meta::MetaStore& store() { return store_; }

  // Writes a new workflow. If one with that id exists, returns it instead
  // (created = false): submitting the same id twice starts one workflow.
  Result<JournaledWorkflow> create(const Workflow& workflow, bool* created = nullptr);
  // not_found for an unknown id; parse_error naming the key for a malformed record.
  Result<JournaledWorkflow> load(const std::string& id);
  // Every workflow, oldest first (by creation revision). A malformed record
  // is skipped and named in *bad (optional).
  Result<std::vector<JournaledWorkflow>> list(std::vector<std::string>* bad = nullptr);
  // Replaces the record if its mod_revision is still expected_mod_revision;
  // returns the new one. conflict when it moved (re-read and decide again).
  Result<int64_t> update(const Workflow& workflow, int64_t expected_mod_revision);

  // Makes `ezone` the runner of workflow `id` under `lease` if nobody is, or
  // if it already is. Returns false when another ezone runs it.
  Result<bool> claim(const std::string& id, const std::string& ezone, int64_t lease);
  // Gives up the claim (only if `ezone` holds it).
  Status release(const std::string& id, const std::string& ezone);
  // The runner of a workflow; "" when none.
  Result<std::string> runner(const std::string& id);

  // Live registrations under /ezone/v1/nodes/. A registration whose JSON has
  // no admin address still counts as live (admin "").
  Result<std::vector<LiveNode>> live_nodes();

 private:
  void prune_finished();

  meta::MetaStore& store_;
};

}  // namespace ezone::coord
