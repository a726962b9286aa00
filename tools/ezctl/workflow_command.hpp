// ezctl's coordinator commands (DESIGN.md, "coordinator"):
//
//   switchover --shards S1,S2 --to EZONE [--id ID] [--dry-run] [--no-wait]
//   failover --zone EZONE [--force] [--id ID] [--dry-run] [--no-wait]
//   rebalance --target bj=52,sh=48 [--weights S=W,...] [--window S] [--id ID] [--dry-run] [--no-wait]
//     (without --weights, shards weigh what the routers measured: the
//     requests each live node served per shard in the last S seconds,
//     300 by default)
//   workflows [ID]
//   cancel ID
//
// Unless --no-wait, a started workflow is followed live (its step, what it
// waits on, the time elapsed) until it ends or --wait-ms runs out; the
// workflow itself goes on in the cluster either way. Exit codes: 0 done,
// 1 cancelled, failed, refused or unreachable, 2 bad usage, 3 still running
// when the wait ran out.
#pragma once

#include "tools/ezctl/options.hpp"

namespace ezctl {

int run_switchover(const Options& options);
int run_failover(const Options& options);
int run_rebalance(const Options& options);
int run_workflows(const Options& options);
int run_cancel(const Options& options);

}  // namespace ezctl
