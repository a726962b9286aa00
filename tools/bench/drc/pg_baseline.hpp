// The PostgreSQL baseline for the DRC benchmark: PostgreSQL 15 logical
// replication between two local clusters, a publisher and a subscriber.
//
// PgReplicationPair owns everything it starts:
//
//   temp dir (mkdtemp under work_dir)
//     pub/  sub/          two clusters made by initdb, started by pg_ctl,
//                         listening on 127.0.0.1 only, on free ports
//     pub.log sub.log     server logs (quoted in errors)
//   a guard process       /bin/sh waiting on a pipe: if this process dies
//                         without cleaning up (crash, kill -9), it stops
//                         both servers and removes the temp dir
//
// Both clusters run with wal_level=logical, fsync=on and
// synchronous_commit=on: every commit on the publisher waits for its WAL
// flush, as DRC's SQLite commits do. The subscription's own
// synchronous_commit (PostgreSQL's default for subscriptions is "off") is an
// option: on by default, so the subscriber's applies are durable too.
//
// The table, on both sides:
//   rows(id bigint primary key, shard int not null, payload text not null,
//        created_at_us bigint not null)
// and on the subscriber only:
//   applied_at timestamptz not null default clock_timestamp()
// so each row records when the subscriber itself applied it. Lag is
// applied_at - created_at_us, both from CLOCK_REALTIME on this machine.
//
// The publication publishes inserts only, so each workload can TRUNCATE
// both sides independently before it starts.
//
// Threading: one PgReplicationPair is driven by one thread at a time; the
// workloads start their own writer threads (each with its own connection)
// and join them before they return. When run as root, the servers run as
// an unprivileged OS user (PostgreSQL refuses root), created if missing.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/status.hpp"

namespace ezone::drc {

struct PgPairOptions {
  std::string bin_dir = "/usr/lib/postgresql/15/bin";
  // Parent of the temp dir; empty: $TMPDIR or /tmp. It must be reachable
  // (x permission on every component) by os_user.
  std::string work_dir;
  // The OS user the servers run as when this process is root. Created with
  // useradd --system if missing; "postgres" is tried if that fails.
  std::string os_user = "ezonebench";
  bool subscriber_synchronous_commit = true;
  int payload_bytes = 100;
  int start_timeout_ms = 60'000;        // initdb, pg_ctl start/stop, first replication
  int apply_timeout_ms = 600'000;       // a workload waiting for the subscriber
  int statement_timeout_ms = 120'000;   // any single SQL statement
  // Polled by every wait; when it turns true the running workload returns
  // Errc::unavailable ("cancelled") so the destructor can clean up.
  // Not owned; may be null.
  const std::atomic<bool>* cancel = nullptr;
  // Progress lines ("initdb pub", "writing 20000 rows"); may be empty.
  std::function<void(const std::string&)> log;
};

// Workload 1: subscription disabled, rows committed on the publisher, then
// enabled. Times are from CLOCK_REALTIME.
struct ApplyFigures {
  int64_t rows = 0;
  int rows_per_tx = 0;
  int writers = 0;                         // publisher connections
  double publisher_rows_per_s = 0;         // commit rate while writing
  double publisher_tx_per_s = 0;
  double startup_ms = 0;                   // enable -> first row applied
  double apply_rows_per_s = 0;             // rows / (enable -> last row applied)
  double apply_steady_rows_per_s = 0;      // rows / (first -> last row applied)
};

// Workload 2: a paced writer offering single-row transactions at a rate.
struct LagFigures {
  double offered_per_s = 0;
  double achieved_per_s = 0;               // rows / (first send -> last commit)
  int connections = 0;
  int64_t rows = 0;
  int64_t late_sends = 0;                  // sent more than 1 ms after their slot
  double lag_p50_ms = 0;                   // applied_at - created_at
  double lag_p99_ms = 0;
  double lag_max_ms = 0;
  double commit_p50_ms = 0;                // publisher commit round trip
  double commit_p99_ms = 0;
};

// Workload 3: the subscriber's server stopped, rows committed on the
// publisher, the subscriber started again.
struct CatchupFigures {
  int64_t rows = 0;
  int rows_per_tx = 0;
  int writers = 0;
  double publisher_rows_per_s = 0;
  double restart_ms = 0;                   // pg_ctl start until it accepts connections
  double startup_ms = 0;                   // accepting connections -> first row applied
  double catchup_rows_per_s = 0;           // rows / (accepting connections -> last applied)
  double catchup_steady_rows_per_s = 0;    // rows / (first -> last row applied)
};

class PgReplicationPair {
 public:
  // Makes the temp dir, initdb's and starts both clusters, creates the
  // table, publication and subscription, and checks that one row goes
  // across. On failure everything started so far is stopped and removed,
  // and the Status says what failed (with the tail of the server log).
  static Result<std::unique_ptr<PgReplicationPair>> start(PgPairOptions options);

  // Stops both servers (pg_ctl stop -m fast, then SIGKILL if that fails),
  // removes the temp dir and reaps the guard. Never throws.
  ~PgReplicationPair();
  PgReplicationPair(const PgReplicationPair&) = delete;
  PgReplicationPair& operator=(const PgReplicationPair&) = delete;

  // Workload 1. rows >= 1, rows_per_tx >= 1, writers >= 1.
  Result<ApplyFigures> measure_apply(int64_t rows, int rows_per_tx, int writers);
  // Workload 2. writes_per_s > 0, duration_s > 0, connections >= 1.
  Result<LagFigures> measure_lag(double writes_per_s, double duration_s, int connections);
  // Workload 3. rows >= 1, rows_per_tx >= 1, writers >= 1.
  Result<CatchupFigures> measure_catchup(int64_t rows, int rows_per_tx, int writers);

  // "PostgreSQL 15.x, pub 127.0.0.1:P, sub 127.0.0.1:Q, data in DIR (ext4)".
  std::string describe() const;

 private:
  struct Impl;
  explicit PgReplicationPair(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ezone::drc
