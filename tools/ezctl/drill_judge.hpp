// The judging half of `ezctl drill idc-down` (drill_command.hpp does the
// I/O): what the takeout loadgen's clients saw acknowledged, what the
// survivors held when they took over (RPO), and whether anything was lost
// silently once the failed IDC was back. Pure functions, so tests feed them
// made-up answers.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/loadgen/flow_engine.hpp"
#include "tools/loadgen/verify.hpp"
#include "zones/incident_grade.hpp"

namespace ezctl::drill {

// The takeout flow's states in order: created 1 .. delivered 4; 0 for ""
// (no row) or an unknown state.
int state_rank(const std::string& state);

// The newest acknowledged state of an order and the zone that served it.
struct AckedState {
  ezone::ShardId shard = 0;
  std::string state;
  std::string zone;
  int64_t wall_ms = 0;
};

// What the drill learns from the loadgen's answers while it runs.
// Thread-safe: the loadgen's workers call record() concurrently.
class AckLog {
 public:
  void record(const ezone::loadgen::CallEvent& e);
  // Orders whose newest acknowledged step `zone` served, acknowledged at or
  // before until_wall_ms.
  std::map<int64_t, AckedState> served_by(const std::string& zone, int64_t until_wall_ms) const;
  // The first successful step on one of `shards` served by a zone other than
  // `failed` at or after since_wall_ms; 0 when none yet.
  int64_t first_takeover_ack(const std::set<ezone::ShardId>& shards, const std::string& failed,
                             int64_t since_wall_ms) const;
  uint64_t calls() const;

 private:
  mutable std::mutex mutex_;
  struct Success {
    int64_t wall_ms;
    ezone::ShardId shard;
    std::string zone;
  };
  std::map<int64_t, AckedState> orders_;
  std::vector<Success> successes_;  // every acknowledged step, in arrival order
  uint64_t calls_ = 0;
};

// One acknowledged write the survivors did not have when they took over.
struct RpoEntry {
  int64_t order_id = 0;
  ezone::ShardId shard = 0;
  std::string acked_state;     // acknowledged by the failed zone
  std::string survivor_state;  // what the survivor held ("" = no row)
  std::string survivor;
};

// Compares what the failed zone acknowledged with a survivor's rows (order
// id -> state; an order missing from the map has no row there). A survivor
// that holds a later state is fine (the flow went on there).
std::vector<RpoEntry> rpo_entries(const std::map<int64_t, AckedState>& acked, const std::map<int64_t, std::string>& rows,
                                  const std::string& survivor);

// How a verification problem stands once the failed zone is back: explained
// when the order is in the conflict table or in quarantine (the runtime
// kept both versions and says so), silent otherwise.
struct LossVerdict {
  std::vector<ezone::loadgen::Problem> explained;
  std::vector<ezone::loadgen::Problem> silent;
};
// pks: the row_text keys ("[42]") of the orders table in conflicts or quarantine.
LossVerdict judge_problems(const std::vector<ezone::loadgen::Problem>& problems, const std::set<std::string>& pks);

// One verification problem as the report's JSON has it.
nlohmann::json problem_json(const ezone::loadgen::Problem& p);

// What the drill cost the business, graded under policy
// (zones/incident_grade.hpp): the clients' failed requests (`clients` as the report
// has it: "requests" and "errors" by kind), and the acknowledged orders that
// were missing at the survivors at takeover (rpo) or lost silently, with
// the amounts they carried (from acked). {"grade": "P3", "reason", the
// impact's figures}.
nlohmann::json incident_json(const nlohmann::json& clients, const std::vector<RpoEntry>& rpo,
                             const std::vector<ezone::loadgen::Problem>& silent,
                             const std::vector<ezone::loadgen::AckedOrder>& acked, const ezone::IncidentPolicy& policy);

// The readable report for the JSON one drill_command writes.
std::string report_text(const nlohmann::json& report);

}  // namespace ezctl::drill
