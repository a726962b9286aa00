// Dal's private state, shared by dal.cpp (lifecycle, queue, reads),
// dal_write.cpp (local transactions) and dal_apply.cpp (peers' batches).
// Everything marked "writer" is touched only by the writer thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "storage/dal/dal.hpp"
#include "storage/dal/sqlite_db.hpp"
#include "storage/dal/timeline_check.hpp"
#include "zones/data/column_map.hpp"

namespace ezone::dal {

// The authorizer of the reader connections (a C callback): reads only.
int authorize_reader(void*, int action, const char*, const char*, const char*, const char*);

// The internal table of quarantined rows; a release travels in the outbox as
// a change to it.
extern const char* const kQuarantineTable;
// The internal table a consistency check's chunks travel as (dal_check.cpp).
extern const char* const kCheckTable;
// ... and a repair's images of chunks (dal_repair.cpp).
extern const char* const kRepairTable;
// ... and the change of a table's columns (dal_schema.cpp): pk (table), row
// (table, old fingerprint, new fingerprint). The origin's entries after it
// carry rows of the new columns.
extern const char* const kSchemaTable;

// A replicated table as found in the database.
struct TableInfo {
  const data::TableSpec* spec = nullptr;
  std::vector<std::string> columns;
  std::vector<int> pk_cols;  // column indexes, in primary-key order
  int shard_col = -1;        // sharding-zone tables
  std::string fingerprint;   // "name type pk;..." of PRAGMA table_info
  std::vector<data::ColumnDef> defs;   // the same, with whether an insert may omit each
  std::set<std::string> dropped;  // columns this site's migrations dropped
  std::string select_sql;    // full row by key
  std::string upsert_sql;
  std::string delete_sql;
};

// How the rows of one origin fingerprint of a table are written here
// (zones/data/column_map.hpp): as they are (identity), or by name.
struct MappedColumns {
  Status fit;  // invalid_argument: why those rows do not fit (they are parked)
  data::ColumnMap map;
  std::string update_sql;  // the origin's columns that exist here, by key; empty: only key columns
  std::string insert_sql;  // the same as a new row (OR REPLACE; OR IGNORE without update_sql)
};

// A peer's change, decoded and keyed on the caller's thread before the
// batch reaches the writer, so the writer spends its time in SQLite.
struct PreparedChange {
  RowChange change;
  const TableInfo* table = nullptr;  // null: not a replicated table here
  std::string key;                   // encode_key(change.pk)
  std::string pk_text;               // row_text(change.pk), for the feed
  int64_t shard = -1;                // the row's shard, for the feed
};

struct PreparedEntry {
  const OutboxEntry* entry = nullptr;
  std::vector<PreparedChange> changes;
};

struct PreparedBatch {
  std::optional<OutboxBatch> owned;  // set when prepare() took the batch
  const OutboxBatch* batch = nullptr;
  std::vector<PreparedEntry> entries;  // point into *batch
};

// The count and FNV-1a checksum of the rows of `t` in key order (of one
// shard, when shard >= 0) whose key is > after and <= upto (empty: no
// bound), at most `limit` (0: all); last_key is the key of the limit-th row
// when the limit was reached. invalid_argument when a bound does not fit the
// table's key.
struct ChunkSum {
  uint64_t hash = 0;
  uint64_t rows = 0;
  Row last_key;
};
Result<ChunkSum> checksum_range(Db& db, const TableInfo& t, int64_t shard, const Row& after, const Row& upto,
                                size_t limit);
// The statement behind checksum_range: the rows of that range in key order
// (every column), and its parameters.
struct RangeQuery {
  std::string sql;
  std::vector<Value> params;
};
Result<RangeQuery> range_query(const TableInfo& t, int64_t shard, const Row& after, const Row& upto, size_t limit);
// The primary-key values of a full row of `t`.
Row key_of(const TableInfo& t, const Row& row);

// The shard column's value of a row of `t`, -1 when it has none.
int64_t row_shard(const TableInfo& t, const Row& row);

// "a" + sep + "b" + ...: column lists and conditions of generated SQL.
inline std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

// A traced transaction's span (TxTarget::trace), filled in by the writer
// and reported by the job's tx_done.
struct TxTrace {
  Span span;
  std::chrono::steady_clock::time_point submitted;  // when span.start_unix_ns was read
  int64_t queued_us = -1;  // -1: it never reached a group
  int64_t run_us = 0;
  int64_t commit_us = 0;
  int64_t group_size = 0;
  // Sets the outcome's attributes and the end time.
  void finish(const TxOutcome& out);
};

struct Job {
  // tx: a request (grouped); apply: a peer's batch; maintenance: the DAL's
  // own housekeeping (its own transaction, internal authorizer mode).
  enum class Kind { tx, apply, maintenance } kind = Kind::tx;
  Dal* dal_owner = nullptr;
  TxTarget target;
  TxFn fn;
  Dal::DoneFn tx_done;
  std::shared_ptr<const PreparedBatch> batch;
  Dal::ApplyDoneFn apply_done;
  std::function<Status()> maintenance;
  std::promise<Status> maintenance_done;
  // maintenance only: it may run inside a group of requests, in a savepoint
  // before theirs, sharing their COMMIT (and its fsync) instead of having
  // one of its own. For short reads that append an outbox entry (a
  // consistency check's chunks, repair images), so a check does not add a
  // transaction per chunk to a busy site's writes.
  bool rides_group = false;
  // tx only: the quarantined row an operator writes one of its versions to
  // (Dal::release_quarantine_keeping): exempt from the quarantine refusal,
  // and released in the request's own savepoint.
  struct Release {
    std::string table, key, pk_text;  // key: encode_key of the row's key
  };
  std::optional<Release> release;
  std::shared_ptr<TxTrace> trace;  // tx only: set when the request is traced
};

// The writer's next work, taken from the front of the queue into `jobs`:
// a group of requests (at most group_tx_max), of peers' batches (at most
// kApplyBatchesPerTxMax), or one maintenance job alone. A maintenance job
// that rides groups (Job::rides_group) is returned to run inside the group
// of requests taken, whether it was first in the queue (followed by
// requests) or waited anywhere behind them. riders_queued counts the
// riders in the queue (0: no scan).
std::unique_ptr<Job> pick_jobs(std::deque<std::unique_ptr<Job>>& queue, size_t& riders_queued, size_t group_tx_max,
                               std::vector<std::unique_ptr<Job>>& jobs);

// How the writer's authorizer treats statements: the DAL's own (anything)
// or a handler's (data only, schema tables only).
enum class AuthMode { internal, handler };

struct Dal::Impl {
  Impl(DalConfig c, data::Schema s, GateSource g, HybridClock& clk, Metrics* m)
      : config(std::move(c)), schema(std::move(s)), gate_source(std::move(g)), clock(clk), metrics(m) {}

  DalConfig config;
  spdlog::logger& log() { return config.logger ? *config.logger : *spdlog::default_logger_raw(); }
  data::Schema schema;
  GateSource gate_source;
  HybridClock& clock;
  Metrics* metrics;

  std::unique_ptr<Db> writer;                          // writer
  std::map<std::string, TableInfo> tables;             // replicated tables; fixed after open
  // Prepared statements, by SQL text (writer). Handlers' statements live
  // apart from the DAL's own: a statement is authorized when prepared, so a
  // handler sending the text of an internal statement ("COMMIT", an outbox
  // insert) must get its own preparation, and with it the refusal.
  std::unordered_map<std::string, Stmt> stmt_cache;
  std::unordered_map<std::string, Stmt> handler_stmt_cache;
  AuthMode auth_mode = AuthMode::internal;             // writer
  std::string auth_refusal;                            // writer: first refused action
  std::map<Epoch, std::shared_ptr<const RouteTable>> gate_history;  // writer
  uint64_t next_seq = 1;                               // writer
  // This database's lineage and the one it replaced (0: none); fixed after
  // open (see OutboxBatch).
  uint64_t lineage = 0;
  uint64_t replaces = 0;
  std::vector<FeedEvent> group_feed;                   // writer: events of the open transaction
  uint64_t next_feed_id = 1;                           // writer: id of the next feed event
  size_t feed_records_since_trim = 0;                  // writer
  // Writer: a row may be quarantined, so writes check each row. Set when a
  // quarantine is applied (even in a batch rolled back later: a spare check
  // is harmless), recomputed at open and after a release.
  bool quarantine_active = false;
  bool quarantine_recheck = false;  // writer: a release was applied in the open transaction

  std::mutex queue_mutex;
  std::condition_variable queue_cv;
  std::deque<std::unique_ptr<Job>> queue;
  size_t riders_queued = 0;  // queue_mutex: queued maintenance jobs with rides_group
  bool stopping = false;
  bool gate_dirty = false;
  std::thread writer_thread;

  std::atomic<Epoch> acked_epoch{0};
  std::atomic<uint64_t> head_seq{0};
  std::mutex head_mutex;
  std::condition_variable head_cv;

  // WAL checkpoints run on their own thread and connection, so a commit
  // never waits for one (see start_checkpointer in dal.cpp).
  std::unique_ptr<Db> checkpoint_db;
  std::thread checkpoint_thread;
  std::mutex checkpoint_mutex;
  std::condition_variable checkpoint_cv;
  bool checkpoint_wanted = false;
  bool checkpoint_stop = false;
  std::mutex checkpoint_db_mutex;  // one checkpoint at a time on checkpoint_db

  std::mutex readers_mutex;
  std::condition_variable readers_cv;
  std::vector<std::unique_ptr<Db>> readers_free;

  mutable std::mutex halted_mutex;
  std::map<std::pair<std::string, std::string>, HaltedTable> halted;  // (origin, table)

  std::mutex feed_mutex;
  std::map<uint64_t, FeedFn> subscribers;
  std::map<uint64_t, OutboxFn> outbox_watchers;
  uint64_t next_subscriber = 1;

  // ---- dal_format.cpp ----
  Status setup_internal_tables();

  // ---- dal_schema.cpp ----
  // Runs the table's migrations this database has not run, each in its own
  // transaction; refuses a list that is not the one it ran, extended.
  Status run_migrations(const data::TableSpec& spec);
  // Records the table's columns when they differ from the last recorded
  // (after a migration, or a change by hand while the node was down): in
  // _ezone_schemas, and as a schema record in the outbox, at open.
  Status record_schema(const TableInfo& t);
  // table -> (first outbox seq, fingerprint), ascending; fixed after open.
  std::map<std::string, std::vector<std::pair<uint64_t, std::string>>> schema_log;
  // The table's columns as the outbox entry `seq` carries them.
  const std::string& fingerprint_at(const TableInfo& t, uint64_t seq) const;
  // Writer: how rows of `fingerprint` from `origin` are written here.
  std::shared_ptr<const MappedColumns> mapped_columns(const TableInfo& t, const std::string& origin,
                                                      const std::string& fingerprint);
  std::map<std::tuple<std::string, std::string, std::string>, std::shared_ptr<const MappedColumns>> column_maps;  // writer

  // ---- dal.cpp ----
  Status setup_schema();
  Status load_table_info(const data::TableSpec& spec);
  void writer_loop();
  Status start_checkpointer();
  void checkpoint_loop();
  void stop_checkpointer();
  // The writer's WAL hook: after each commit, with the WAL's size in pages.
  void on_wal_commit(int wal_pages);
  Status run_maintenance(const std::function<Status()>& fn);
  // Queues a maintenance job and waits for it (not on the writer thread).
  Status run_queued(std::unique_ptr<Job> job);
  WriteGate take_gate();
  void publish_commit(Epoch epoch);
  Result<Stmt*> cached(std::string_view sql, bool for_handler = false);
  // The same for the DAL's own hot statements, without copying the text.
  Result<Stmt*> cached_sql(const std::string& sql);
  // Runs one statement without parameters or rows (BEGIN, COMMIT, SAVEPOINT
  // ...) from the statement cache: parsing them for every request was a
  // visible share of a single-row commit.
  Status control(std::string_view sql);
  template <class F>
  auto with_reader(F&& f) -> decltype(f(std::declval<Db&>()));
  Counter& refusal_counter(Refusal r);
  void count_refusal(Refusal r, const std::string& message);
  Status recheck_before_commit(std::vector<std::unique_ptr<Job>>& jobs, std::vector<TxOutcome>& outcomes);

  // ---- dal_write.cpp ----
  // `rider`: a maintenance job with rides_group, run first in its own
  // savepoint; its promise gets its outcome once the group's COMMIT did.
  void run_group(std::vector<std::unique_ptr<Job>>& jobs, Job* rider = nullptr);
  TxOutcome run_one(Job& job, const WriteGate& gate);
  // Queues a request job (kind tx), or answers its tx_done at once with
  // stopping / queue_full.
  void enqueue_tx(std::unique_ptr<Job> job);
  Result<int64_t> handler_exec(Tx& tx, std::string_view sql, const std::vector<Value>& params,
                               std::vector<Row>* rows);
  Result<data::RowVersion> row_version(const std::string& table, const std::string& key, bool* deleted);
  Status set_row_version(const std::string& table, const std::string& key, const data::RowVersion& v,
                         bool deleted);
  // Replaces the row's version by `next` only if it is `expected` (empty:
  // the row has none). True when it did.
  Result<bool> advance_row_version(const std::string& table, const std::string& key,
                                   const data::RowVersion& expected, const data::RowVersion& next, bool deleted);
  // Adds a change-feed event to the open transaction (written by
  // write_feed() before its COMMIT).
  void add_feed_event(const std::string& table, std::string pk_text, ChangeOp op, int64_t shard,
                      const std::string& origin, HlcTime hlc);
  // Drops the events added after the first `keep` (a rolled-back request).
  void drop_feed_events(size_t keep);
  // Writes the open transaction's events as feed records, and now and then
  // trims the feed to feed_rows_max events. Call just before COMMIT.
  Status write_feed();
  // After a failed transaction: its events and ids are forgotten.
  void forget_feed(uint64_t next_id_before);
  Result<Row> read_row(const TableInfo& t, const Row& pk);
  Status record_local(std::vector<RowChange>& changes, const TxTarget& target, HlcTime hlc, TxOutcome& out);
  // Writes the next outbox entry (in the open transaction) and returns its
  // seq; the seq is given back by the caller when the transaction fails.
  Result<uint64_t> append_outbox(HlcTime hlc, int64_t shard, const std::vector<RowChange>& changes);

  // ---- dal_quarantine.cpp ----
  // A conflict of versions `a` and `b` of a row, in an open apply: the
  // shard's owner quarantines the row and ships the quarantine.
  Status on_conflict(const TableInfo& t, const std::string& key, const std::string& pk_text, int64_t shard,
                     const data::RowVersion& a, const data::RowVersion& b);
  // Applies a control record (a change to kQuarantineTable), a peer's or
  // this site's own.
  Status apply_quarantine_record(const RowChange& c);
  // Appends a control record to the outbox, in the open transaction.
  Status append_control(const RowChange& c);
  // Releases a quarantined row in the open transaction: applies and ships
  // the release record. Returns its outbox seq; not_found when the row is
  // not quarantined here.
  Result<uint64_t> release_row(const std::string& table, const std::string& pk_text);
  // Writer: whether writes to the row are refused.
  Result<bool> is_quarantined(const std::string& table, const std::string& key);
  Status load_quarantine_state();
  // After a transaction ends: once a release committed, quarantine_active
  // is computed afresh (a rolled-back release leaves it on).
  void quarantine_after_commit(bool committed);

  // ---- dal_check.cpp ----
  // The check this site sends as an owner (one at a time), on check_thread.
  std::mutex check_mutex;
  std::condition_variable check_cv;
  std::thread check_thread;
  std::thread auto_check_thread;  // DalConfig::check_every_ms
  void auto_check_loop(Dal& dal);
  bool check_running = false;  // check_mutex
  bool check_stop = false;     // check_mutex: the Dal is being destroyed
  std::string check_id;        // check_mutex: the running or last check
  void check_loop(const std::string& id, std::vector<CheckedPart> parts, size_t chunk_rows, int64_t pause_ms);
  void send_check(const std::string& id, std::vector<CheckedPart>& parts, size_t chunk_rows, int64_t pause_ms);
  // Stops and joins the check threads (before the writer stops).
  void stop_check();
  // Writer, in a maintenance job: the part's next chunk, sent.
  struct SentChunk {
    uint64_t rows = 0;
    bool final = false;
    Row upto;  // the next chunk's `after`
  };
  // snap: the chunk as a reader read it (read_chunk_snapshot); null: read
  // it here. Sets *stale instead of sending when a write since changed it.
  struct ChunkSnapshot {
    ChunkSum sum;
    uint64_t head = 0;  // the outbox's last entry the read saw
  };
  Status send_check_chunk(const std::string& id, size_t chunk_rows, const CheckedPart& part, const Row& after,
                          const ChunkSnapshot* snap, SentChunk* sent, std::string* stop, bool* stale);
  // ---- dal_check_read.cpp ----
  // Any thread: the part's next chunk from `after`, on a reader.
  Result<ChunkSnapshot> read_chunk_snapshot(const TableInfo& t, int64_t shard, const Row& after, size_t chunk_rows);
  // Writer: whether an outbox entry after `head` changed a row of the part
  // in (after, upto] (upto empty: no bound).
  Result<bool> part_changed_since(const TableInfo& t, int64_t shard, uint64_t head, const Row& after, const Row& upto);
  Status record_check_stop(const std::string& id, const CheckedPart& part, const std::string& why);
  Status record_check_result(const std::string& id, const std::string& origin, const std::string& table, int64_t shard,
                             int64_t chunk, bool final, const Row& after, const Row& upto, const ChunkSum& theirs,
                             const ChunkSum& ours, const std::string& result, const std::string& detail);
  // Keeps the results of kCheckIdsKept checks, `keep_id` among them.
  Status prune_checks(const std::string& keep_id);
  // Compares a peer's check record with this site's rows, in the open apply
  // (skip_reason: why its table is not compared with the origin's: its
  // replication is halted, or its columns differ).
  // A malformed record is counted and dropped, not an error.
  Status apply_check_record(const RowChange& c, const std::string& origin, const std::string* skip_reason);

  // ---- dal_repair.cpp ----
  // ok when this ezone owns the shard at the route table it holds now (a
  // global-zone table: is its master); conflict naming the owner otherwise.
  // The conflict quarantine asks it too.
  Status owns_part(const TableInfo& t, int64_t shard);
  // Writer, in a maintenance job: appends the image of the next piece of a
  // chunk, from `after` up to `upto` (at most kRepairPieceRows rows); sets
  // *last when it reached `upto`.
  struct SentPiece {
    uint64_t rows = 0;
    bool last = false;
    Row upto;  // the next piece's `after`
  };
  Status send_repair_piece(const std::string& id, const TableInfo& t, int64_t shard, int64_t chunk, int64_t piece,
                           const Row& after, const Row& upto, SentPiece* sent);
  // Makes this site's rows of the image's range equal to it, in the open
  // apply. Malformed images and halted tables are counted and skipped.
  Status apply_repair_image(const RowChange& c, const data::RowVersion& incoming, const std::string* skip_reason);
  Status drop_row_version(const std::string& table, const std::string& key);

  // ---- dal_apply.cpp ----
  // Writes a row (upsert: every column) or deletes one (remove: its key) of
  // a replicated table, without capture.
  Status write_row(const TableInfo& t, ChangeOp op, const Row& values);
  // The same for a row of an origin's columns (`values`, upsert only) when
  // they are not this site's: the columns it has are set, the others left.
  Status write_mapped_row(const MappedColumns& m, const Row& values);
  // Decodes and keys a batch (any thread). parse_error for undecodable
  // entries.
  // Fills `out` from *out.batch.
  Status prepare(PreparedBatch& out) const;
  PreparedChange prepare_change(RowChange change) const;
  // At open, after this site's migrations: applies the parked rows that fit
  // its columns now, without waiting for their origins' next batches.
  Status resume_fitting_parked();
  // Ends an apply's transaction: with `s` ok, writes its feed and commits;
  // otherwise (or when that fails) rolls back and forgets the feed events
  // and outbox seqs taken since feed_before and seq_before.
  Status commit_apply(Status s, uint64_t feed_before, uint64_t seq_before);
  // Applies the batches of apply jobs in one transaction and answers each.
  void run_applies(std::vector<std::unique_ptr<Job>>& jobs);
  void count_apply_error(const std::string& origin, const Status& error);
  Result<OriginCursor> read_origin_cursor(Db& db, const std::string& origin);
  // Counts a refused batch by reason; returns the conflict to answer it with.
  Status refuse_timeline(const std::string& origin, const TimelineVerdict& verdict);
  // The origin was re-seeded (batch.replaces is the cursor's lineage): its
  // cursor goes back to 0 in the batch's lineage, in the open transaction.
  Status reset_cursor(const OutboxBatch& batch, const OriginCursor& old);
};

// Runs f on a free reader connection (waiting for one), any thread.
template <class F>
auto Dal::Impl::with_reader(F&& f) -> decltype(f(std::declval<Db&>())) {
  std::unique_ptr<Db> db;
  {
    std::unique_lock<std::mutex> lock(readers_mutex);
    readers_cv.wait(lock, [&] { return !readers_free.empty(); });
    db = std::move(readers_free.back());
    readers_free.pop_back();
  }
  auto result = f(*db);
  {
    std::lock_guard<std::mutex> lock(readers_mutex);
    readers_free.push_back(std::move(db));
  }
  readers_cv.notify_one();
  return result;
}

}  // namespace ezone::dal
