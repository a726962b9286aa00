// The DRC benchmark's report: its figures as JSON and as tables, and the
// summary that sets each ezone figure beside the PostgreSQL baseline's and
// its target. Shared by drc_bench and pg_baseline (the PostgreSQL figures'
// JSON).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/bench/drc/pg_baseline.hpp"

namespace ezone::drc {

struct RestartFigures {
  int64_t rows = 0;
  int rows_per_tx = 0;
  int window = 0;
  double writer_rows_per_s = 0;     // bj's commit rate while sh was down
  double start_ms = 0;              // Node::start of sh
  double first_batch_ms = 0;        // sh started -> its cursor first moved (a batch committed)
  double apply_rows_per_s = 0;      // rows / (sh started -> caught up)
  double apply_incl_start_rows_per_s = 0;  // rows / (Node::start called -> caught up)
  // Rows after the first batch / (first batch -> caught up); 0 when the
  // first batch held them all.
  double apply_steady_rows_per_s = 0;
};

double round_to(double v, int digits);

// side[key] when it is an array, else an empty one (never a temporary, so
// pointers into it stay valid).
const nlohmann::json& list_of(const nlohmann::json& side, const char* key);

nlohmann::json to_json(const RestartFigures& f);
nlohmann::json to_json(const LagFigures& f);
nlohmann::json to_json(const ApplyFigures& f);
nlohmann::json to_json(const CatchupFigures& f);

// Tables of each side's figures (their JSON, as the run records them).
void print_ezone(const nlohmann::json& ez);
void print_lags(const char* who, const nlohmann::json& lags);
void print_pg(const nlohmann::json& pg);

// One line of the summary: a figure of each side, their ratio and the target.
struct Verdict {
  std::string what, ratio_label, target;
  double ezone = 0, pg = 0, ratio = 0;
  bool has_pg = false;
  std::optional<bool> met;
};

std::vector<Verdict> verdicts(const nlohmann::json& ez, const nlohmann::json& pg);
void print_summary(const std::vector<Verdict>& vs);
nlohmann::json verdicts_json(const std::vector<Verdict>& vs);

}  // namespace ezone::drc
