#include "storage/coord/journal.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/json.hpp"

namespace ezone::coord {
namespace {

std::string workflow_key(const std::string& id) { return kWorkflowKeyPrefix + id; }
std::string runner_key(const std::string& id) { return kWorkflowRunnerKeyPrefix + id; }

Result<JournaledWorkflow> decode_kv(const meta::KeyValue& kv) {
  auto w = decode_workflow_json(kv.value);
  if (!w) return Status(Errc::parse_error, kv.key + " (mod_revision " + std::to_string(kv.mod_revision) + "): " +
                                               w.status().message());
  return JournaledWorkflow{std::move(*w), kv.mod_revision};
}

}  // namespace

Result<JournaledWorkflow> WorkflowJournal::create(const Workflow& workflow, bool* created) {
  if (Status s = validate_workflow_id(workflow.id); !s) return s;
  auto put = store_.cas(workflow_key(workflow.id), 0, encode_workflow_json(workflow));
  if (!put) return put.status();
  if (!put->succeeded) {
    if (created) *created = false;
    if (put->current.empty()) return load(workflow.id);
    return decode_kv(put->current.front());
  }
  if (created) *created = true;
  prune_finished();
  return JournaledWorkflow{workflow, put->revision};
}

Result<JournaledWorkflow> WorkflowJournal::load(const std::string& id) {
  if (Status s = validate_workflow_id(id); !s) return s;
  auto got = store_.range(workflow_key(id));
  if (!got) return got.status();
  if (got->kvs.empty()) return Status(Errc::not_found, "no workflow '" + id + "'");
  return decode_kv(got->kvs.front());
}

Result<std::vector<JournaledWorkflow>> WorkflowJournal::list(std::vector<std::string>* bad) {
  auto got = store_.range(kWorkflowKeyPrefix, /*prefix=*/true);
  if (!got) return got.status();
  std::vector<std::pair<int64_t, JournaledWorkflow>> found;
  for (const meta::KeyValue& kv : got->kvs) {
    auto w = decode_kv(kv);
    if (!w) {
      if (bad) bad->push_back(w.status().message());
      continue;
    }
    found.emplace_back(kv.create_revision, std::move(*w));
  }
  std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<JournaledWorkflow> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

Result<int64_t> WorkflowJournal::update(const Workflow& workflow, int64_t expected_mod_revision) {
  auto put = store_.cas(workflow_key(workflow.id), expected_mod_revision, encode_workflow_json(workflow));
  if (!put) return put.status();
  if (!put->succeeded)
    return Status(Errc::conflict, "workflow " + workflow.id + " changed in the journal (expected revision " +
                                      std::to_string(expected_mod_revision) + "); re-read it");
  return put->revision;
}

Result<bool> WorkflowJournal::claim(const std::string& id, const std::string& ezone, int64_t lease) {
  meta::TxnRequest txn;
  txn.compares.push_back(meta::Compare{runner_key(id), meta::Compare::Target::version, 0, ""});
  txn.success.push_back(meta::Op{meta::Op::Kind::put, runner_key(id), ezone, lease});
  auto done = store_.txn(txn);
  if (!done) return done.status();
  if (done->succeeded) return true;
  auto now = runner(id);
  if (!now) return now.status();
  return *now == ezone;
}

Status WorkflowJournal::release(const std::string& id, const std::string& ezone) {
  meta::TxnRequest txn;
  txn.compares.push_back(meta::Compare{runner_key(id), meta::Compare::Target::value, 0, ezone});
  txn.success.push_back(meta::Op{meta::Op::Kind::del, runner_key(id), "", 0});
  auto done = store_.txn(txn);
  return done ? Status::ok() : done.status();
}

Result<std::string> WorkflowJournal::runner(const std::string& id) {
  auto got = store_.range(runner_key(id));
  if (!got) return got.status();
  return got->kvs.empty() ? std::string() : got->kvs.front().value;
}

Result<std::vector<LiveNode>> WorkflowJournal::live_nodes() {
  auto got = store_.range(kNodeKeyPrefix, /*prefix=*/true);
  if (!got) return got.status();
  std::vector<LiveNode> out;
  for (const meta::KeyValue& kv : got->kvs) {
    LiveNode n;
    n.ezone = kv.key.substr(std::string(kNodeKeyPrefix).size());
    n.lease = kv.lease;
    auto doc = parse_json_or_discarded(kv.value);
    if (doc.is_object() && doc.contains("admin") && doc["admin"].is_string()) n.admin = doc["admin"].get<std::string>();
    out.push_back(std::move(n));
  }
  return out;
}

void WorkflowJournal::prune_finished() {
  auto all = list();
  if (!all) return;  // best effort: pruning is housekeeping
  size_t finished = 0;
  for (const JournaledWorkflow& j : *all) finished += j.workflow.outcome != Outcome::running;
  for (const JournaledWorkflow& j : *all) {
    if (finished <= kFinishedWorkflowsKept) break;
    if (j.workflow.outcome == Outcome::running) continue;
    meta::TxnRequest txn;
    txn.compares.push_back(meta::Compare{workflow_key(j.workflow.id), meta::Compare::Target::mod_revision,
                                         j.mod_revision, ""});
    txn.success.push_back(meta::Op{meta::Op::Kind::del, workflow_key(j.workflow.id), "", 0});
    if (store_.txn(txn)) --finished;
  }
}

}  // namespace ezone::coord
