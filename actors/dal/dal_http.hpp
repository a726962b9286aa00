// The DAL's HTTP API for services outside the process (DESIGN.md, "dal"):
//
//   POST /dal/v1/tx
//   {"shard": 11, "epoch": 7,                      shard: null or absent for none
//    "statements": [{"sql": "UPDATE orders SET state=?1 WHERE id=?2",
//                    "params": ["accepted", 42]}]}
//
// Parameters and result values: JSON null, integers, floats and strings map
// to SQLite NULL, INTEGER, REAL and TEXT; a BLOB is {"blob": "<hex>"}.
// All statements run in one transaction under the DAL rule, each must be a
// single statement, and DDL, ATTACH, PRAGMA, transaction control and tables
// outside the schema are refused (the DAL's authorizer decides, so no text
// trick gets past it).
//
// Answers:
//   200 {"committed": true, "outbox_seq": N, "hlc": H, "results": [{"changes": n, "rows": [[...]]}]}
//   400 malformed request, a refused statement, a row of another shard
//   409 wrong zone, stale epoch, not the master, a constraint violation
//   503 + Retry-After  write-forbidden shard, no lease, DAL queue full
// with {"committed": false, "refusal": "<reason>", "error": "<message>"}.
// Bad requests are counted in ezone_dal_http_bad_requests_total; refusals in
// ezone_dal_refusals_total{reason}.
#pragma once

#include "actors/router/endpoint.hpp"
#include "core/metrics.hpp"
#include "storage/dal/dal.hpp"

namespace ezone {

// Limits on one request (the body size is bounded by the HTTP server).
constexpr size_t kDalHttpStatementsMax = 100;
constexpr size_t kDalHttpParamsMax = 999;

// The endpoint, served locally (no sharding key: the transaction names its
// shard, and the DAL judges it). dal and metrics must outlive the router.
Endpoint dal_tx_endpoint(dal::Dal& dal, Metrics& metrics);

}  // namespace ezone
