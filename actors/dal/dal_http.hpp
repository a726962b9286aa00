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
//
//   POST /dal/v1/read
//   {"table": "orders", "key": [42]}               the primary key's values, in key order
//
// reads one row of a replicated table by its primary key, at this site (any
// site holds every row; a peer's newest writes arrive with replication).
// A table the site's row cache keeps ([cache] tables) is served from it when
// it holds the row, without waiting on the database, and filled on a miss:
// the same coherence as the app's cache use (storage/cache/row_cache.hpp),
// so a read after a write answered at this site shows that write.
//   200 {"found": true, "cached": true|false, "row": {"id": 42, ...}}
//   404 {"found": false, "error": "..."}
//   400 {"error": "..."}  malformed, a table the schema does not replicate,
//                         a key of the wrong length
// Reads are counted in ezone_dal_http_reads_total{result=hit|miss|not_found}.
#pragma once

#include "actors/router/endpoint.hpp"
#include "core/metrics.hpp"
#include "storage/cache/row_cache.hpp"
#include "storage/dal/dal.hpp"

namespace ezone {

// Limits on one request (the body size is bounded by the HTTP server).
constexpr size_t kDalHttpStatementsMax = 100;
constexpr size_t kDalHttpParamsMax = 999;

// The endpoint, served locally (no sharding key: the transaction names its
// shard, and the DAL judges it). dal and metrics must outlive the router.
Endpoint dal_tx_endpoint(dal::Dal& dal, Metrics& metrics);

// POST /dal/v1/read, served locally. cache may be null (no [cache]); dal,
// cache and metrics must outlive the router.
Endpoint dal_read_endpoint(dal::Dal& dal, RowCache* cache, Metrics& metrics);

}  // namespace ezone
