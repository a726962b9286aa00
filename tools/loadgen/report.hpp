// The load generator's report: human-readable text for each step and for
// verification, and one JSON object with every figure (the last line of
// stdout, for scripts).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/loadgen/flow_engine.hpp"
#include "tools/loadgen/verifier.hpp"

namespace ezone::loadgen {

// Problems listed in the JSON (the text lists all of them).
constexpr size_t kJsonProblemsMax = 100;

std::string step_text(const StepStats& s);
nlohmann::json step_json(const StepStats& s);
// "bj 52.0% / sh 48.0%" of the requests served by each zone.
std::string split_text(const std::map<std::string, uint64_t>& served_by);

std::string verify_text(const ReplicationWait& wait, const VerifyResult& result);
nlohmann::json verify_json(const ReplicationWait& wait, const VerifyResult& result);

}  // namespace ezone::loadgen
