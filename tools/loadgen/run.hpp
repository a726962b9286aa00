// One whole load-generator run, as `loadgen` performs it and as tests and
// tools/bench/e2e drive it in-process:
//
//   probe nodes -> load fences -> register users, merchants -> load step(s)
//   -> [hooks.before_verify] -> wait for replication -> read every acked
//   order at every node -> report
//
// The human-readable report goes to stdout as it happens, progress to stderr
// once a second; the JSON report is returned (main prints it last).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.hpp"
#include "tools/loadgen/flow_engine.hpp"
#include "tools/loadgen/options.hpp"
#include "tools/loadgen/verifier.hpp"
#include "tools/loadgen/verify.hpp"

namespace ezone::loadgen {

struct RunHooks {
  // Called once the load has drained and before verification starts, with
  // every order the run saw acknowledged. Tests tamper with a site here, to
  // check that verification notices.
  std::function<void(const std::vector<AckedOrder>&)> before_verify;
  // Every step of every flow as it is answered (see CallObserver).
  CallObserver on_call;
};

struct RunResult {
  nlohmann::json report;             // every figure: "setup", "steps", "max_rate" (find-max), "verify", "ok"
  std::vector<AckedOrder> acked;     // every acknowledged order, in finishing order
  bool verified = false;             // verification ran (options.verify)
  ReplicationWait replication;       // when verified
  VerifyResult verify;               // when verified
  double max_rate = 0;               // find-max: the highest passing rate (0 if none passed)
  bool ok = false;                   // verification ran and found no problem, or was not asked for
};

// Runs the load described by `options` against the nodes. Fails (unavailable,
// parse_error, ...) only when the run cannot start: a node does not answer,
// the fences cannot be loaded, no user or merchant could be registered. A
// finished run whose verification found problems is a success whose ok is
// false.
Result<RunResult> run_loadgen(const Options& options, const RunHooks& hooks = {});

}  // namespace ezone::loadgen
