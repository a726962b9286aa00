// Dal's private state, shared by dal.cpp (lifecycle, queue, reads),
// dal_write.cpp (local transactions) and dal_apply.cpp (peers' batches).
// Everything marked "writer" is touched only by the writer thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "storage/dal/dal.hpp"
#include "storage/dal/sqlite_db.hpp"

namespace ezone::dal {

// A replicated table as found in the database.
struct TableInfo {
  const data::TableSpec* spec = nullptr;
  std::vector<std::string> columns;
  std::vector<int> pk_cols;  // column indexes, in primary-key order
  int shard_col = -1;        // sharding-zone tables
  std::string fingerprint;   // "name type pk;..." of PRAGMA table_info
  std::string select_sql;    // full row by key
  std::string upsert_sql;
  std::string delete_sql;
};

struct Job {
  // tx: a request (grouped); apply: a peer's batch; maintenance: the DAL's
  // own housekeeping (its own transaction, internal authorizer mode).
  enum class Kind { tx, apply, maintenance } kind = Kind::tx;
  Dal* dal_owner = nullptr;
  TxTarget target;
  TxFn fn;
  Dal::DoneFn tx_done;
  const OutboxBatch* batch = nullptr;
  std::promise<Result<ApplyReport>> apply_done;
  std::function<Status()> maintenance;
  std::promise<Status> maintenance_done;
};

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
  std::vector<FeedEvent> group_feed;                   // writer: events of the open transaction
  size_t commits_since_trim = 0;                       // writer

  std::mutex queue_mutex;
  std::condition_variable queue_cv;
  std::deque<std::unique_ptr<Job>> queue;
  bool stopping = false;
  bool gate_dirty = false;
  std::thread writer_thread;

  std::atomic<Epoch> acked_epoch{0};
  std::atomic<uint64_t> head_seq{0};
  std::mutex head_mutex;
  std::condition_variable head_cv;

  std::mutex readers_mutex;
  std::condition_variable readers_cv;
  std::vector<std::unique_ptr<Db>> readers_free;

  mutable std::mutex halted_mutex;
  std::map<std::pair<std::string, std::string>, HaltedTable> halted;  // (origin, table)

  std::mutex feed_mutex;
  std::map<uint64_t, FeedFn> subscribers;
  std::map<uint64_t, OutboxFn> outbox_watchers;
  uint64_t next_subscriber = 1;

  // ---- dal.cpp ----
  Status setup_schema();
  Status load_table_info(const data::TableSpec& spec);
  void writer_loop();
  Status run_maintenance(const std::function<Status()>& fn);
  WriteGate take_gate();
  void publish_commit(Epoch epoch);
  Result<Stmt*> cached(std::string_view sql, bool for_handler = false);
  // Runs one statement without parameters or rows (BEGIN, COMMIT, SAVEPOINT
  // ...) from the statement cache: parsing them for every request was a
  // visible share of a single-row commit.
  Status control(std::string_view sql);
  template <class F>
  auto with_reader(F&& f) -> decltype(f(std::declval<Db&>()));
  Counter& refusal_counter(Refusal r);
  void count_refusal(Refusal r, const std::string& message);

  // ---- dal_write.cpp ----
  void run_group(std::vector<std::unique_ptr<Job>>& jobs);
  TxOutcome run_one(Job& job, const WriteGate& gate);
  Result<int64_t> handler_exec(Tx& tx, std::string_view sql, const std::vector<Value>& params,
                               std::vector<Row>* rows);
  Result<data::RowVersion> row_version(const std::string& table, const std::string& key, bool* deleted);
  Status set_row_version(const std::string& table, const std::string& key, const data::RowVersion& v,
                         bool deleted);
  // Replaces the row's version by `next` only if it is `expected` (empty:
  // the row has none). True when it did.
  Result<bool> advance_row_version(const std::string& table, const std::string& key,
                                   const data::RowVersion& expected, const data::RowVersion& next, bool deleted);
  Status append_feed(const TableInfo& t, const RowChange& c, const std::string& origin, HlcTime hlc);
  Result<Row> read_row(const TableInfo& t, const Row& pk);
  Status record_local(std::vector<RowChange>& changes, const TxTarget& target, HlcTime hlc, TxOutcome& out);

  // ---- dal_apply.cpp ----
  Result<ApplyReport> run_apply(const OutboxBatch& batch);
};

}  // namespace ezone::dal
