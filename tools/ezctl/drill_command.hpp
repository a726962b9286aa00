// ezctl drill idc-down --zone Z: a failover drill under takeout loadgen
// traffic (issue 6).
//
//   1. finds the cluster (GET /admin/v1/coord/nodes and /admin/v1/routes of
//      --node), waits until replication has caught up, starts the loadgen
//      in-process against every zone's router;
//   2. after --warmup seconds, isolates Z (POST /admin/v1/fault/isolate: its
//      lease is not renewed, its router and DRC go dark) and, unless the
//      survivors fail over by themselves (auto_failover), submits a failover;
//   3. measures the RTO: until every shard of Z is owned, active, by a
//      survivor whose DAL acknowledged that epoch (and, as the clients saw
//      it, until the first write on one of those shards acknowledged by a
//      survivor);
//   4. measures the RPO: every write Z acknowledged that the survivors did
//      not hold when they took over, each listed;
//   5. when the load ends, heals Z, waits until it rejoined and replication
//      caught up, lets the loadgen verify every acknowledged order on every
//      site, compares per-table and per-shard checksums of every site, and
//      reads the conflict table and quarantine;
//   6. writes drill-<ms>.json and drill-<ms>.txt in --report-dir and prints
//      the text.
//
// Exit codes: 0 when the failover happened, the RPO could be read at every
// survivor, every site converged and nothing acknowledged was lost silently
// (a write that differs is explained only by the conflict table or
// quarantine); 1 otherwise, or when the drill could not run; 2 bad usage.
// Z is healed on every path once it was isolated.
#pragma once

#include "tools/ezctl/options.hpp"

namespace ezctl {

int run_drill(const Options& options);

}  // namespace ezctl
