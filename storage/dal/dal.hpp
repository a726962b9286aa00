// The DAL (DESIGN.md, "dal"): the site's SQLite database, and the last line
// of defence against wrong-zone writes.
//
// One writer thread owns the write connection. Transactions are queued to it
// and committed in groups: one SQLite transaction (one fsync) carries many
// requests, each inside its own savepoint, so a refused or failed request is
// rolled back alone. For every request the writer
//   1. checks the request's (shard, epoch) against this site's write gate
//      (route table + lease), taken once per group;
//   2. runs the handler with a session attached (SQLite session extension);
//   3. checks every captured row: sharding-zone rows must carry the
//      request's shard, global-zone tables must have this ezone as master;
//   4. writes the rows' full images to the outbox, their versions to the
//      row-version table and their keys to the change feed, in the same
//      transaction;
// and answers only after COMMIT returned, so an acknowledged write and its
// outbox entry are durable together (synchronous=FULL by default).
//
// The same writer applies peers' outbox batches (drc), one SQLite transaction
// per batch that also advances the peer's cursor, so apply is exactly-once
// across crashes.
//
// Epoch acknowledgement: the writer reads the gate once per group and only
// then reports that epoch as acknowledged (acknowledged_epoch()). So after a
// node has acknowledged epoch E, no commit under an older epoch can follow;
// a switchover (DESIGN.md step 3) relies on exactly that.
//
// Thread-safety: every public member may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/hlc.hpp"
#include "core/ids.hpp"
#include "core/metrics.hpp"
#include "core/span.hpp"
#include "core/status.hpp"
#include "storage/dal/change_record.hpp"
#include "storage/dal/check.hpp"
#include "storage/dal/sql_value.hpp"
#include "storage/dal/timeline_check.hpp"
#include "zones/data/table_schema.hpp"
#include "zones/routing/route_table.hpp"

namespace spdlog {
class logger;
}

namespace ezone::dal {

struct DalConfig {
  std::string ezone;
  // Where refusals, halts and errors are logged; null: spdlog's default.
  std::shared_ptr<spdlog::logger> logger;  // this site's ezone: the origin of its outbox
  std::string path;   // the SQLite file (created if missing)
  // FULL: a commit survives power loss. NORMAL: it survives a process crash
  // only; faster, for laptops and benchmarks that say so.
  bool synchronous_full = true;
  size_t group_tx_max = 512;       // requests per group commit
  size_t queue_tx_max = 50000;     // queued requests; more get `queue_full`
  size_t feed_rows_max = 200000;   // change-feed rows kept for `since` readers
  size_t readers = 2;              // read-only connections for query()
  size_t query_rows_max = 10000;   // rows one query may return
  // Bytes of values one statement of a handler (Tx::query) may return.
  size_t query_bytes_max = size_t{64} << 20;
  // How long one statement of a handler (Tx::exec, Tx::query) may run; it is
  // then stopped and fails with Errc::timeout. Statements run on the writer,
  // so without this one endless query (a recursive CTE through the HTTP
  // API) held every write of the site forever. 0: no limit.
  int64_t statement_ms_max = 5000;
  // Fault hook for crash tests only: hold each peer batch's transaction open
  // this long before COMMIT, so a test can kill -9 the process mid-apply.
  // ezoned sets it from EZONE_FAULT_APPLY_PAUSE_MS; 0 (always, in production).
  int64_t fault_apply_pause_ms = 0;
  // A consistency check of what this ezone owns (Dal::start_check) every
  // check_every_ms, the first one interval after open; 0: none. Its id is
  // "auto-<ezone>-<unix ms>"; a check still running then skips the turn.
  int64_t check_every_ms = 0;
  size_t check_chunk_rows = 1000;
  int64_t check_pause_ms = 0;
  // Test hook: called on the check thread after each chunk was read on a
  // reader and before the writer sends it (dal_check_read.cpp).
  std::function<void()> check_read_hook;
  // Where a traced transaction's span goes (TxTarget::trace); empty: none.
  // Called where the outcome is (the writer thread, or the submitter's for
  // an immediate refusal), also while the Dal is destroyed: what it uses
  // must outlive the Dal.
  SpanSink on_span;
};

// What this site may write, taken as one snapshot per group commit.
struct WriteGate {
  std::shared_ptr<const RouteTable> routes;  // nullptr: no route table yet
  bool lease_valid = false;                  // the ezone's ownership lease
  std::string lease_detail;                  // why not, for the error text
};
using GateSource = std::function<WriteGate()>;

// Why the DAL refused a transaction. Each has a counter
// (ezone_dal_refusals_total{reason}) and a log line.
enum class Refusal {
  none,
  no_route_table,     // the node has no route table yet
  epoch_ahead,        // resolved at an epoch this node has not installed yet
  stale_epoch,        // resolved at an older epoch, and the shard's route changed since
  unknown_shard,      // the shard is not in the route table
  wrong_zone,         // another ezone owns the shard
  write_forbidden,    // the shard is moving
  lease_invalid,      // this ezone's lease is not valid: it is fenced
  not_master,         // a global-zone write away from the table's master
  shard_mismatch,     // a written row's shard column differs from the transaction's
  no_shard,           // a sharding-zone write in a transaction without a shard
  statement_refused,  // DDL, several statements, ATTACH, an internal or unclassified table
  queue_full,         // more than queue_tx_max requests are waiting
  stopping,           // the DAL is shutting down
  quarantined,        // a written row is quarantined (written on two sites at once; see QuarantineEntry)
};
const char* refusal_name(Refusal refusal);

// What the router resolved for the request: the shard its key maps to (none
// for global-zone or local-only work) and the route-table epoch it used.
//
// trace: the request's W3C trace context, whose parent is the caller's span
// (for a handler, the router's: trace_of(request), actors/http). When it is
// sampled and DalConfig::on_span is set, the transaction reports an
// INTERNAL span "dal.tx" (scope ezone.dal), from submit to outcome, with
// the attributes
//   ezone.shard, ezone.epoch        the target
//   ezone.dal.queued_us             submit until its group began
//   ezone.dal.run_us                its statements and their capture
//   ezone.dal.commit_us             the group's COMMIT (the fsync), after the
//                                   last request of the group ran
//   ezone.dal.group_size            requests committed with it
//   ezone.dal.rows, ezone.dal.outbox_seq    what it wrote
//   ezone.dal.refusal               the refusal's name, when refused
// and status ERROR with the outcome's message when it did not commit.
struct TxTarget {
  TxTarget() = default;
  TxTarget(std::optional<ShardId> shard, Epoch epoch, std::optional<TraceContext> trace = std::nullopt)
      : shard(shard), epoch(epoch), trace(std::move(trace)) {}
  std::optional<ShardId> shard;
  Epoch epoch = 0;
  std::optional<TraceContext> trace;
};

struct TxOutcome {
  Status status;                    // ok when committed
  Refusal refusal = Refusal::none;  // set when the DAL refused (status explains)
  uint64_t outbox_seq = 0;          // 0 when nothing replicated was written
  HlcTime hlc = 0;
  int64_t rows = 0;                 // replicated rows written
  bool ok() const { return status.is_ok(); }
};

// The handle a handler writes through. Valid only during the handler call,
// on the writer thread. Statements run inside the request's savepoint; the
// handler must not run BEGIN/COMMIT/ROLLBACK/SAVEPOINT, DDL or ATTACH, or
// touch tables outside the schema (refused as statement_refused).
class Tx {
 public:
  // Runs one statement, discarding rows; returns the number of changed rows.
  Result<int64_t> exec(std::string_view sql, const std::vector<Value>& params = {});
  // Runs one statement and returns its rows (at most query_rows_max).
  Result<std::vector<Row>> query(std::string_view sql, const std::vector<Value>& params = {});
  const TxTarget& target() const { return target_; }
  // Rows changed by the last exec()/query() (sqlite3_changes).
  int64_t changes() const { return changes_; }
  // The transaction's timestamp: the version of every row it writes.
  HlcTime hlc() const { return hlc_; }
  const std::string& ezone() const;

 private:
  friend class Dal;
  Tx(class Dal& dal, TxTarget target, HlcTime hlc) : dal_(dal), target_(target), hlc_(hlc) {}
  class Dal& dal_;
  TxTarget target_;
  HlcTime hlc_;
  Status refused_;  // the first statement the authorizer refused
  int64_t changes_ = 0;
};

// A handler: returns ok to commit, an error to roll the request back (the
// error comes back in TxOutcome unchanged).
using TxFn = std::function<Status(Tx&)>;

// One change-feed event: a row that changed here, locally or by replication.
struct FeedEvent {
  uint64_t id = 0;       // feed position, increasing; `since` readers resume from it
  std::string table;
  std::string pk;        // row_text of the primary key
  ChangeOp op = ChangeOp::upsert;
  int64_t shard = -1;    // the row's shard, -1 for global-zone rows
  std::string origin;
  HlcTime hlc = 0;
};

// A conflict: two concurrent versions of one row; the loser is kept here.
struct ConflictRecord {
  std::string table;
  std::string pk;
  data::RowVersion winner, loser;
  ChangeOp winner_op = ChangeOp::upsert, loser_op = ChangeOp::upsert;
  std::string winner_row, loser_row;  // row_text, "" for a deleted row
};

// A quarantined row (DESIGN.md, "return of a failed IDC"): a row that two
// sites wrote concurrently, which only happens while ownership overlapped
// (a forced failover, or an IDC that wrote before it learnt it had lost its
// shards). The conflict policy still picks one winner everywhere and keeps
// the loser, but the business has not seen both versions: until an operator
// releases the row, the DAL refuses every write to it (Refusal::quarantined)
// on every site. Replication of the row goes on.
//
// Every site agrees on what is quarantined: only the site that owns the
// row's shard (the master, for a global-zone table) turns a conflict it
// detects into a quarantine, and both that and an operator's release travel
// to the other sites as control records in the outbox. Each is a maximum
// (the newest version the quarantine covers, the newest a release covers),
// so the order they arrive in does not matter; a row is quarantined while
// the first exceeds the second, and a later conflict quarantines it again.
struct QuarantineEntry {
  std::string table;
  std::string pk;            // row_text of the primary key, e.g. "[42]"
  int64_t shard = -1;        // the row's shard, -1 for global-zone rows
  HlcTime hlc_max = 0;       // newest version its quarantine covers
  std::string origins;       // the sites whose versions conflicted, "bj,sh"
  int64_t since_wall_ms = 0; // when this site learnt of its quarantine
  uint64_t conflicts = 0;    // its records in the conflict table
  bool released = false;
  int64_t released_wall_ms = 0;
  std::string released_by;   // the ezone where an operator released it
};

struct ApplyReport {
  uint64_t entries = 0;    // outbox entries applied (duplicates skipped are not counted)
  uint64_t rows = 0;       // rows applied
  uint64_t conflicts = 0;  // conflicts recorded
  uint64_t parked = 0;     // rows parked because their table is halted
  uint64_t cursor = 0;     // the origin's cursor after the batch
  bool restarted = false;  // the origin was re-seeded: its cursor went back to 0 first
};

// A peer's batch decoded and keyed by Dal::prepare(); opaque.
struct PreparedBatch;
// The batch a PreparedBatch was prepared from.
const OutboxBatch& prepared_outbox(const PreparedBatch& batch);

// Dal::trim_outbox deletes at most this many entries per call.
constexpr uint64_t kTrimEntriesPerCall = 64000;

// Replication of one table from one origin, halted on a schema difference.
// Its rows are parked (durably, in order) and applied once the schemas match.
struct HaltedTable {
  std::string origin;
  std::string table;
  std::string reason;
  uint64_t parked_rows = 0;
};

class Dal {
 public:
  // Opens the database (WAL), creates the internal tables and any schema
  // table that is missing (running its ddl), checks that every replicated
  // table has a primary key and its shard column, and starts the writer.
  // Errors: io_error for the file, invalid_argument naming the table for a
  // schema problem.
  static Result<std::unique_ptr<Dal>> open(DalConfig config, data::Schema schema, GateSource gate,
                                           HybridClock& clock, Metrics* metrics = nullptr);
  // Stops the writer; queued requests end with Refusal::stopping.
  ~Dal();
  Dal(const Dal&) = delete;
  Dal& operator=(const Dal&) = delete;

  // Queues a transaction. The future is ready after the commit (or refusal).
  std::future<TxOutcome> submit(TxTarget target, TxFn fn);
  // The same, calling `done` with the outcome instead (on the writer thread,
  // or on the caller's when refused at once). For I/O threads that must not
  // block: `done` must return quickly.
  using DoneFn = std::function<void(TxOutcome)>;
  void submit(TxTarget target, TxFn fn, DoneFn done);
  TxOutcome run(TxTarget target, TxFn fn) { return submit(target, std::move(fn)).get(); }

  // A read-only query on a reader connection (sees committed data only).
  Result<std::vector<Row>> query(std::string_view sql, const std::vector<Value>& params = {});

  // ---- serving peers (the origin side of drc) ----
  // Entries with seq > after, at most rows_max entries and about bytes_max
  // bytes (always at least one entry when there is one).
  Result<OutboxBatch> read_outbox(uint64_t after, size_t rows_max, size_t bytes_max);
  uint64_t outbox_head() const;
  // Deletes outbox entries with seq <= upto that every peer has applied (the
  // caller knows: drc passes the smallest cursor its peers pulled from). The
  // newest entry is always kept, so the sequence continues after a restart.
  // Deletes in transactions of 1,000 entries, so commits interleave, and
  // stops once it deleted kTrimEntriesPerCall (the caller trims again).
  // Returns the number deleted.
  Result<uint64_t> trim_outbox(uint64_t upto);
  // Copies the whole WAL into the database file and syncs it (SQLite's FULL
  // checkpoint), waiting up to 5 s for an open write transaction to end:
  // for a quiet disk before a measurement, or before copying the file. The
  // DAL otherwise checkpoints on its own, in the background.
  Status checkpoint();
  // Writes a transaction-consistent copy of the whole database to `path`
  // (which must not exist), on a reader connection, without holding the
  // writer: SQLite's VACUUM INTO. For re-seeding a peer (dal/reseed.hpp).
  // io_error when the copy cannot be written; a partial file is removed.
  Status snapshot_into(const std::string& path);
  // Calls fn(head) on the writer thread after every commit that added
  // outbox entries (drc's long-polling pulls wait on it). Quick callers only.
  using OutboxFn = std::function<void(uint64_t head)>;
  uint64_t on_outbox(OutboxFn fn);
  void remove_on_outbox(uint64_t id);
  // Blocks until outbox_head() > after or timeout_ms passed; returns the head.
  uint64_t wait_outbox(uint64_t after, int64_t timeout_ms);

  // ---- applying a peer's batch (the receiving side of drc) ----
  // Applies the entries after the origin's cursor, exactly once, on the
  // writer thread. Errors: invalid_argument for a batch from this ezone,
  // conflict for a gap after the cursor (the batch does not continue it),
  // parse_error for undecodable rows; nothing of the batch is applied then.
  Result<ApplyReport> apply(const OutboxBatch& batch);
  // The same in two steps, for a pipeline: prepare() decodes and keys the
  // batch on the calling thread (its errors: invalid_argument, parse_error,
  // counted like a failed apply), so the writer spends its time in SQLite;
  // apply() queues it to the writer and returns at once. `done` runs on the
  // writer thread after the commit (or the failure) and must return quickly.
  // Batches queued one after another apply in that order.
  Result<std::shared_ptr<const PreparedBatch>> prepare(OutboxBatch batch);
  using ApplyDoneFn = std::function<void(Result<ApplyReport>)>;
  void apply(std::shared_ptr<const PreparedBatch> batch, ApplyDoneFn done);
  // The last seq applied from `origin` (0: nothing yet).
  Result<uint64_t> cursor(const std::string& origin);
  // The same with the hlc of that entry and the origin's lineage it counts in.
  Result<OriginCursor> origin_cursor(const std::string& origin);
  // The last seq of `origin`'s outbox up to which every change is applied
  // here: the cursor, or, while changes from it to a table this site
  // replicates wait parked (a halted table), the seq before the first of
  // them. A switchover waits on this, not on the cursor: a parked change is
  // not applied (DESIGN.md, invariant 6).
  Result<uint64_t> applied_through(const std::string& origin);
  // Deletes the parked rows of `table` from `origin`, and forgets the halt:
  // for a table this site no longer replicates (removed from its schema),
  // whose rows would wait for ever. A table it replicates is refused
  // (conflict: its rows wait for their columns to fit) unless
  // `force`: then they are lost here. Logged and counted
  // (ezone_drc_parked_discarded_total); returns the rows deleted.
  Result<uint64_t> discard_parked(const std::string& origin, const std::string& table, bool force);
  // Whether `batch` continues the origin's outbox that this site's cursor
  // counts in (storage/dal/timeline_check.hpp), read on a reader connection:
  // for batches that bring no entries (apply() checks the others again in
  // its transaction). conflict, counted in
  // ezone_drc_refused_batches_total{origin,reason}, when it does not. Ok
  // with *restarts set when the origin was re-seeded: its new outbox is
  // followed from seq 1 once restart_origin() reset the cursor.
  Status check_origin(const OutboxBatch& batch, bool* restarts = nullptr);
  // Resets the origin's cursor to 0 in the batch's lineage, on the writer,
  // if the batch still says the origin was re-seeded (ok and nothing done
  // otherwise). apply() does the same for such a batch in its transaction.
  Status restart_origin(const OutboxBatch& batch);
  // This database's lineage (made when it was created; see OutboxBatch), and
  // the lineage it replaced when it was re-seeded from a peer (0: none).
  uint64_t lineage() const;
  uint64_t replaced_lineage() const;
  std::vector<HaltedTable> halted() const;

  // The epoch of the gate the writer used last (see the header comment).
  Epoch acknowledged_epoch() const;
  // Tells the writer that the gate changed, so an idle writer acknowledges
  // the new epoch without waiting for the next write.
  void gate_changed();

  // ---- inspection ----
  // A checksum of a replicated table's rows (in key order), optionally of one
  // shard's rows only. Equal on every converged site.
  Result<uint64_t> checksum(const std::string& table, std::optional<ShardId> shard = std::nullopt);
  Result<std::vector<ConflictRecord>> conflicts(size_t limit = 1000);
  // Starts an online consistency check of the parts this ezone owns
  // (storage/dal/check.hpp) and returns its id; the chunks go out in the
  // background. conflict while another check is sending here;
  // invalid_argument or not_found for a bad spec; unavailable without a
  // route table (for sharding-zone tables).
  Result<std::string> start_check(CheckSpec spec);
  // This site's results of a check: what it sent, what it compared, and up
  // to `limit` chunks that differ or were skipped.
  Result<CheckReport> check_report(const std::string& id, size_t limit = 100);
  // Sends repair images of chunks this site sent in check `id`, which it
  // still owns (storage/dal/check.hpp). not_found for a chunk it did not
  // send; conflict when it no longer owns the chunk's shard (or is not the
  // table's master); invalid_argument for more than kRepairChunksMax chunks.
  // Nothing is sent then. Blocks until the images are in the outbox.
  Result<RepairSent> repair_check(const std::string& id, const std::vector<RepairChunk>& chunks);
  // Quarantined rows, oldest first; released ones too if asked.
  Result<std::vector<QuarantineEntry>> quarantine(size_t limit = 1000, bool with_released = false);
  // Releases a quarantined row here and, through replication, everywhere.
  // `pk` is the row_text of its key ("[42]"; a bare "42" is taken as "[42]").
  // not_found when the row is not quarantined here. Returns the outbox
  // sequence of the release record.
  Result<uint64_t> release_quarantine(const std::string& table, const std::string& pk);
  // Releases a quarantined row as release_quarantine does and, in the same
  // transaction, writes one of its versions again: the one `origin` wrote
  // at `hlc` (0: origin's newest) among the row's conflict records, winner
  // or loser (a deleted version deletes the row). It is a new write from
  // this ezone, newer than both, so every site ends with it. It is a write
  // like any other: only the owner of the row's shard at the current epoch
  // (the master, for a global-zone table) may make it, and a clash on
  // another unique column fails it. not_found when the row is not
  // quarantined here or has no such version. The outcome is the write's
  // (outbox_seq: its entry; the release record is the entry after it), or
  // the release's when the kept version is the one standing (rows 0).
  TxOutcome release_quarantine_keeping(const std::string& table, const std::string& pk, const std::string& origin,
                                       HlcTime hlc = 0);
  Result<std::vector<FeedEvent>> feed_since(uint64_t since_id, const std::vector<std::string>& tables,
                                            size_t limit);
  // The feed's extent as committed now: events first .. next - 1 are kept
  // (first == next when none is), and the next event gets id next or,
  // once this call returns, a later one.
  struct FeedBounds {
    uint64_t first = 1;
    uint64_t next = 1;
  };
  Result<FeedBounds> feed_bounds();
  // In-process change-feed subscribers, called on the writer thread after
  // each commit with that commit's events. They must return quickly.
  using FeedFn = std::function<void(const std::vector<FeedEvent>&)>;
  uint64_t subscribe(FeedFn fn);
  void unsubscribe(uint64_t id);

  const data::Schema& schema() const;
  const std::string& ezone() const;
  // A replicated table's columns and its primary key's, in table order, and
  // the statement that reads one row by key (?1.. the key's values, in
  // key order; for Tx::query). not_found when the schema does not
  // replicate `table`.
  struct TableLayout {
    std::vector<std::string> columns;
    std::vector<std::string> key;
    std::string select_by_key;
    // "name type pk;..." as peers compare it (zones/data/column_map.hpp),
    // and the migrations this database ran (all of the schema's, after open).
    std::string fingerprint;
    size_t migrations = 0;
  };
  Result<TableLayout> layout(const std::string& table) const;

  // The implementation (storage/dal/dal_impl.hpp); opaque to users.
  struct Impl;

 private:
  friend class Tx;
  explicit Dal(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ezone::dal
