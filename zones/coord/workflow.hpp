// Workflow: one coordinator job (switchover or failover) as the value that
// the coordinator journals in etcd (DESIGN.md, "coordinator"). Everything a
// coordinator needs to resume a job after a crash is in this record, so a
// node that finds a running workflow whose runner died carries on from its
// step, and a cancel is a field of the record rather than a message.
//
// Switchover of shard set X to ezone B (DESIGN.md, "Planned switchover"):
//
//   forbid --E1: X write-forbidden--> await_acks --every live node at >= E1-->
//     await_apply (H = each old owner's outbox head) --B applied up to H-->
//     transfer --E2: X owned by B, active--> finished(done)
//
//   cancel (any step before transfer committed):
//     --> restore --X back to its old owners, active--> finished(cancelled)
//   an old owner lost its lease while we waited for its ack or watermark:
//     the switchover becomes a failover: await_lease_expiry --> transfer
//
// Failover of the shards of dead ezone A:
//
//   await_lease_expiry --A unregistered for lease + skew margin--> transfer
//     --E: A's shards to survivors (plan), active--> finished(done)
//
// Thread-safety: a value type.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/ids.hpp"
#include "core/status.hpp"

namespace ezone::coord {

enum class WorkflowKind { switchover, failover };
enum class Step { forbid, await_acks, await_apply, await_lease_expiry, transfer, restore, finished };
enum class Outcome { running, done, cancelled, failed };

const char* workflow_kind_name(WorkflowKind kind);
const char* step_name(Step step);
const char* outcome_name(Outcome outcome);

// One line of a workflow's history: what happened at which step, and when.
struct StepEvent {
  Step step = Step::forbid;
  int64_t wall_ms = 0;
  std::string note;
  bool operator==(const StepEvent& o) const { return step == o.step && wall_ms == o.wall_ms && note == o.note; }
};
constexpr size_t kWorkflowEventsMax = 64;  // older events are dropped from the record

struct Workflow {
  std::string id;  // [a-z0-9_-], 1..64 bytes
  WorkflowKind kind = WorkflowKind::switchover;
  Step step = Step::forbid;
  Outcome outcome = Outcome::running;
  std::vector<ShardId> shards;              // X, ascending, each once
  std::map<ShardId, std::string> from;      // each shard's owner before the workflow
  std::map<ShardId, std::string> to;        // each shard's owner after it
  std::string dead_ezone;                   // failover (or a switchover turned failover)
  bool force = false;                       // failover by operator decision, no lease wait
  bool cancel_requested = false;
  Epoch base_epoch = 0;                     // the epoch the plan was made at
  Epoch forbid_epoch = 0;                   // where X became write-forbidden (0: not yet)
  Epoch final_epoch = 0;                    // the transfer's or restore's epoch
  std::map<std::string, uint64_t> high_water;  // old owner -> its outbox head H
  int64_t created_wall_ms = 0;
  int64_t forbid_wall_ms = 0;               // when E1 committed
  int64_t final_wall_ms = 0;                // when E2 (or the restore) committed
  int64_t step_wall_ms = 0;                 // when the current step began
  int64_t lease_gone_wall_ms = 0;           // failover: first seen unregistered
  std::string detail;                       // why it failed or was cancelled; what it waits on
  std::vector<StepEvent> events;            // newest last, at most kWorkflowEventsMax

  // The write-forbidden window this workflow caused, in ms (0 while open or
  // when it never forbade writes).
  int64_t window_ms() const {
    return forbid_wall_ms > 0 && final_wall_ms >= forbid_wall_ms ? final_wall_ms - forbid_wall_ms : 0;
  }
  // The ezones that own some shard of X before the workflow, each once.
  std::vector<std::string> old_owners() const;
  // Appends an event (dropping the oldest past the maximum) and, if step
  // changes, records when the new step began.
  void enter(Step next, int64_t wall_ms, std::string note);

  bool operator==(const Workflow& o) const;
  bool operator!=(const Workflow& o) const { return !(*this == o); }
};

// Checks an id: 1..64 bytes of [a-z0-9_-]. invalid_argument otherwise.
Status validate_workflow_id(const std::string& id);

// JSON, the form journaled in etcd and served by the admin API. Decoding
// trusts nothing (an operator may edit etcd by hand): parse_error with the
// field at fault for malformed JSON, wrong types, unknown enum spellings or
// an inconsistent record (a shard without an owner before and after).
std::string encode_workflow_json(const Workflow& workflow);
Result<Workflow> decode_workflow_json(const std::string& text);

}  // namespace ezone::coord
