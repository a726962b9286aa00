// Dal lifecycle: opening and preparing the database, the writer thread and
// its queue, reader connections, and the read-side inspection calls.
#include "storage/dal/dal.hpp"

#include <spdlog/spdlog.h>

#include "storage/dal/dal_impl.hpp"

namespace ezone::dal {

namespace {

// The DAL's own tables. They live in the same database as the business
// tables, so one transaction covers a write, its capture and a cursor.
constexpr const char* kInternalDdl = R"sql(
CREATE TABLE IF NOT EXISTS _ezone_outbox(
  seq INTEGER PRIMARY KEY, hlc INTEGER NOT NULL, shard INTEGER NOT NULL,
  wall_ms INTEGER NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS _ezone_cursor(
  origin TEXT PRIMARY KEY, seq INTEGER NOT NULL, hlc INTEGER NOT NULL,
  wall_ms INTEGER NOT NULL, applied_wall_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS _ezone_rowver(
  tbl TEXT NOT NULL, key BLOB NOT NULL, hlc INTEGER NOT NULL, origin TEXT NOT NULL,
  deleted INTEGER NOT NULL, PRIMARY KEY(tbl, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS _ezone_conflicts(
  id INTEGER PRIMARY KEY, tbl TEXT NOT NULL, pk TEXT NOT NULL, key BLOB NOT NULL,
  winner_origin TEXT NOT NULL, winner_hlc INTEGER NOT NULL, winner_op TEXT NOT NULL,
  winner_row TEXT NOT NULL, loser_origin TEXT NOT NULL, loser_hlc INTEGER NOT NULL,
  loser_op TEXT NOT NULL, loser_row TEXT NOT NULL, detected_wall_ms INTEGER NOT NULL,
  UNIQUE(tbl, key, loser_origin, loser_hlc));
CREATE TABLE IF NOT EXISTS _ezone_feed(
  id INTEGER PRIMARY KEY, tbl TEXT NOT NULL, pk TEXT NOT NULL, op TEXT NOT NULL,
  shard INTEGER NOT NULL, origin TEXT NOT NULL, hlc INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS _ezone_parked(
  id INTEGER PRIMARY KEY, origin TEXT NOT NULL, tbl TEXT NOT NULL, seq INTEGER NOT NULL,
  hlc INTEGER NOT NULL, change BLOB NOT NULL, reason TEXT NOT NULL);
)sql";

constexpr size_t kStatementCacheMax = 512;

bool is_write_action(int action) {
  return action == SQLITE_INSERT || action == SQLITE_UPDATE || action == SQLITE_DELETE;
}

bool is_schema_action(int action) {
  switch (action) {
    case SQLITE_CREATE_INDEX: case SQLITE_CREATE_TABLE: case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_CREATE_TEMP_TABLE: case SQLITE_CREATE_TEMP_TRIGGER: case SQLITE_CREATE_TEMP_VIEW:
    case SQLITE_CREATE_TRIGGER: case SQLITE_CREATE_VIEW: case SQLITE_DROP_INDEX:
    case SQLITE_DROP_TABLE: case SQLITE_DROP_TEMP_INDEX: case SQLITE_DROP_TEMP_TABLE:
    case SQLITE_DROP_TEMP_TRIGGER: case SQLITE_DROP_TEMP_VIEW: case SQLITE_DROP_TRIGGER:
    case SQLITE_DROP_VIEW: case SQLITE_ALTER_TABLE: case SQLITE_REINDEX: case SQLITE_ANALYZE:
    case SQLITE_CREATE_VTABLE: case SQLITE_DROP_VTABLE: case SQLITE_PRAGMA:
      return true;
    default:
      return false;
  }
}

// The SQLite authorizer (a C callback: no exceptions escape). It is what
// makes "no DDL, no ATTACH, no internal or unclassified tables" hold for
// every statement a handler or an HTTP client runs, whatever its text.
int authorize(void* ctx, int action, const char* a, const char*, const char*, const char*) {
  auto* impl = static_cast<Dal::Impl*>(ctx);
  if (impl->auth_mode == AuthMode::internal) return SQLITE_OK;
  std::string why;
  if (action == SQLITE_PRAGMA && a && (std::string(a) == "table_info" || std::string(a) == "table_xinfo")) {
    return SQLITE_OK;  // read-only; the session extension itself needs it
  }
  if (is_schema_action(action)) {
    why = "schema statements (DDL, PRAGMA) are not allowed";
  } else if (action == SQLITE_ATTACH || action == SQLITE_DETACH) {
    why = "ATTACH and DETACH are not allowed";
  } else if (action == SQLITE_TRANSACTION || action == SQLITE_SAVEPOINT) {
    why = "transaction control is the DAL's (BEGIN, COMMIT, ROLLBACK and SAVEPOINT are not allowed)";
  } else if (is_write_action(action) && a) {
    const std::string table = a;
    if (table == "sqlite_sequence") {
      return SQLITE_OK;  // AUTOINCREMENT bookkeeping of an allowed insert
    } else if (table == "sqlite_master" || table == "sqlite_schema") {
      why = "schema statements (DDL) are not allowed";
    } else if (table.rfind(data::kReservedTablePrefix, 0) == 0) {
      why = "table '" + table + "' belongs to the DAL";
    } else if (!impl->schema.find(table)) {
      why = "table '" + table + "' is not in the schema config";
    }
  }
  if (why.empty()) return SQLITE_OK;
  if (impl->auth_refusal.empty()) impl->auth_refusal = why;
  return SQLITE_DENY;
}

// Reader connections: queries only. (Their own BEGIN/COMMIT stays allowed,
// so a multi-query read can be one snapshot.)
int authorize_reader(void*, int action, const char*, const char*, const char*, const char*) {
  if (is_schema_action(action) || is_write_action(action) || action == SQLITE_ATTACH ||
      action == SQLITE_DETACH) {
    return SQLITE_DENY;
  }
  return SQLITE_OK;
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

}  // namespace

const char* refusal_name(Refusal refusal) {
  switch (refusal) {
    case Refusal::none: return "none";
    case Refusal::no_route_table: return "no_route_table";
    case Refusal::epoch_ahead: return "epoch_ahead";
    case Refusal::stale_epoch: return "stale_epoch";
    case Refusal::unknown_shard: return "unknown_shard";
    case Refusal::wrong_zone: return "wrong_zone";
    case Refusal::write_forbidden: return "write_forbidden";
    case Refusal::lease_invalid: return "lease_invalid";
    case Refusal::not_master: return "not_master";
    case Refusal::shard_mismatch: return "shard_mismatch";
    case Refusal::no_shard: return "no_shard";
    case Refusal::statement_refused: return "statement_refused";
    case Refusal::queue_full: return "queue_full";
    case Refusal::stopping: return "stopping";
  }
  return "?";
}

// ---- opening ----

Result<std::unique_ptr<Dal>> Dal::open(DalConfig config, data::Schema schema, GateSource gate,
                                       HybridClock& clock, Metrics* metrics) {
  if (config.ezone.empty()) return Status(Errc::invalid_argument, "DAL: the ezone name is empty");
  if (!gate) return Status(Errc::invalid_argument, "DAL: no write gate");
  auto impl = std::make_unique<Impl>(std::move(config), std::move(schema), std::move(gate), clock, metrics);
  auto db = Db::open(impl->config.path, false);
  if (!db) return db.status();
  impl->writer = std::move(db.value());
  if (Status s = impl->setup_schema(); !s) return s;
  for (size_t i = 0; i < std::max<size_t>(1, impl->config.readers); ++i) {
    auto reader = Db::open(impl->config.path, true);
    if (!reader) return reader.status();
    sqlite3_busy_timeout(reader.value()->get(), 5000);
    reader.value()->exec("PRAGMA cache_size=-16384; PRAGMA mmap_size=268435456;");
    sqlite3_set_authorizer(reader.value()->get(), authorize_reader, nullptr);
    impl->readers_free.push_back(std::move(reader.value()));
  }
  sqlite3_set_authorizer(impl->writer->get(), authorize, impl.get());
  // The gate at open is the first epoch this writer uses and acknowledges.
  const WriteGate first = impl->take_gate();
  impl->acked_epoch = first.routes ? first.routes->epoch() : 0;
  Impl* raw = impl.get();
  impl->writer_thread = std::thread([raw] { raw->writer_loop(); });
  return std::unique_ptr<Dal>(new Dal(std::move(impl)));
}

Status Dal::Impl::setup_schema() {
  const std::string sync = config.synchronous_full ? "FULL" : "NORMAL";
  // A 64 MiB page cache and a memory map keep the hot B-tree pages (outbox,
  // row versions, indexes) off the read() path: applying a peer's batch
  // was half pread/pwrite with SQLite's 2 MiB default.
  if (Status s = writer->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=" + sync +
                              "; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000; PRAGMA cache_size=-65536;"
                              " PRAGMA mmap_size=268435456;");
      !s) {
    return Status(Errc::io_error, "DAL '" + config.path + "': " + s.message());
  }
  if (Status s = writer->exec(kInternalDdl); !s) return s;
  for (const data::TableSpec& spec : schema.tables()) {
    auto exists = writer->query("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1", {Value(spec.name)});
    if (!exists) return exists.status();
    if (exists.value().empty()) {
      if (Status s = writer->exec(spec.ddl); !s) {
        return Status(Errc::invalid_argument, "table '" + spec.name + "': its ddl failed: " + s.message());
      }
    }
    if (spec.kind == data::TableKind::local) continue;
    if (Status s = load_table_info(spec); !s) return s;
  }
  auto head = writer->query("SELECT COALESCE(MAX(seq), 0) FROM _ezone_outbox");
  if (!head) return head.status();
  next_seq = static_cast<uint64_t>(std::get<int64_t>(head.value()[0][0])) + 1;
  head_seq = next_seq - 1;
  auto parked = writer->query("SELECT origin, tbl, MIN(reason), COUNT(*) FROM _ezone_parked GROUP BY origin, tbl");
  if (!parked) return parked.status();
  for (const Row& r : parked.value()) {
    HaltedTable h{std::get<std::string>(r[0]), std::get<std::string>(r[1]), std::get<std::string>(r[2]),
                  static_cast<uint64_t>(std::get<int64_t>(r[3]))};
    halted[{h.origin, h.table}] = h;
  }
  return Status::ok();
}

Status Dal::Impl::load_table_info(const data::TableSpec& spec) {
  auto cols = writer->query("SELECT name, type, pk FROM pragma_table_info(?1) ORDER BY cid", {Value(spec.name)});
  if (!cols) return cols.status();
  TableInfo t;
  t.spec = &spec;
  std::vector<std::pair<int64_t, int>> pk;
  std::vector<std::string> fp;
  for (const Row& r : cols.value()) {
    const std::string name = std::get<std::string>(r[0]);
    const std::string type = std::holds_alternative<std::string>(r[1]) ? std::get<std::string>(r[1]) : "";
    const int64_t pk_pos = std::get<int64_t>(r[2]);
    if (pk_pos > 0) pk.emplace_back(pk_pos, static_cast<int>(t.columns.size()));
    if (name == spec.shard_column) t.shard_col = static_cast<int>(t.columns.size());
    fp.push_back(name + " " + type + " " + std::to_string(pk_pos));
    t.columns.push_back(name);
  }
  auto bad = [&](const std::string& why) { return Status(Errc::invalid_argument, "table '" + spec.name + "': " + why); };
  if (t.columns.empty()) return bad("its ddl did not create it");
  if (pk.empty()) return bad("a replicated table needs a PRIMARY KEY (the session extension ignores tables without one)");
  if (spec.kind == data::TableKind::sharding && t.shard_col < 0) {
    return bad("its shard column '" + spec.shard_column + "' does not exist");
  }
  std::sort(pk.begin(), pk.end());
  std::vector<std::string> where, placeholders;
  for (size_t i = 0; i < pk.size(); ++i) {
    t.pk_cols.push_back(pk[i].second);
    where.push_back(t.columns[static_cast<size_t>(pk[i].second)] + "=?" + std::to_string(i + 1));
  }
  for (size_t i = 0; i < t.columns.size(); ++i) placeholders.push_back("?" + std::to_string(i + 1));
  t.fingerprint = join(fp, ";");
  t.select_sql = "SELECT " + join(t.columns, ",") + " FROM " + spec.name + " WHERE " + join(where, " AND ");
  t.upsert_sql = "INSERT OR REPLACE INTO " + spec.name + "(" + join(t.columns, ",") + ") VALUES(" +
                 join(placeholders, ",") + ")";
  t.delete_sql = "DELETE FROM " + spec.name + " WHERE " + join(where, " AND ");
  tables[spec.name] = std::move(t);
  return Status::ok();
}

Dal::Dal(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Dal::~Dal() {
  {
    std::lock_guard<std::mutex> lock(impl_->queue_mutex);
    impl_->stopping = true;
  }
  impl_->queue_cv.notify_all();
  if (impl_->writer_thread.joinable()) impl_->writer_thread.join();
  impl_->head_cv.notify_all();
}

// ---- the writer ----

std::future<TxOutcome> Dal::submit(TxTarget target, TxFn fn) {
  auto promise = std::make_shared<std::promise<TxOutcome>>();
  auto done = promise->get_future();
  submit(target, std::move(fn), [promise](TxOutcome out) { promise->set_value(std::move(out)); });
  return done;
}

void Dal::submit(TxTarget target, TxFn fn, DoneFn done) {
  auto job = std::make_unique<Job>();
  job->kind = Job::Kind::tx;
  job->dal_owner = this;
  job->target = target;
  job->fn = std::move(fn);
  job->tx_done = std::move(done);
  Refusal refusal = Refusal::none;
  {
    std::lock_guard<std::mutex> lock(impl_->queue_mutex);
    if (impl_->stopping) {
      refusal = Refusal::stopping;
    } else if (impl_->queue.size() >= impl_->config.queue_tx_max) {
      refusal = Refusal::queue_full;
    } else {
      impl_->queue.push_back(std::move(job));
    }
  }
  if (refusal == Refusal::none) {
    impl_->queue_cv.notify_one();
    return;
  }
  const std::string why = refusal == Refusal::stopping
                              ? "the DAL is stopping"
                              : "the DAL queue holds " + std::to_string(impl_->config.queue_tx_max) +
                                    " requests (queue_tx_max); retry later";
  impl_->count_refusal(refusal, why);
  TxOutcome out;
  out.status = Status(Errc::unavailable, why);
  out.refusal = refusal;
  job->tx_done(std::move(out));
}

void Dal::Impl::writer_loop() {
  for (;;) {
    std::vector<std::unique_ptr<Job>> jobs;
    {
      std::unique_lock<std::mutex> lock(queue_mutex);
      queue_cv.wait(lock, [&] { return stopping || !queue.empty() || gate_dirty; });
      if (stopping) break;
      const bool gate_moved = gate_dirty;
      gate_dirty = false;
      if (queue.empty() || (gate_moved && queue.front()->kind != Job::Kind::tx)) {
        // Acknowledge a new epoch now, also while peers' batches stream in
        // (they take no gate): every later group reads the gate afresh, so
        // no commit under an older epoch can follow this acknowledgement.
        lock.unlock();
        const WriteGate gate = take_gate();
        acked_epoch = gate.routes ? gate.routes->epoch() : 0;
        continue;
      }
      // A peer's batch runs alone in its transaction; local requests group.
      if (queue.front()->kind != Job::Kind::tx) {
        jobs.push_back(std::move(queue.front()));
        queue.pop_front();
      } else {
        while (!queue.empty() && queue.front()->kind == Job::Kind::tx && jobs.size() < config.group_tx_max) {
          jobs.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
    }
    if (jobs.front()->kind == Job::Kind::apply) {
      jobs.front()->apply_done.set_value(run_apply(*jobs.front()->batch));
    } else if (jobs.front()->kind == Job::Kind::maintenance) {
      jobs.front()->maintenance_done.set_value(run_maintenance(jobs.front()->maintenance));
    } else {
      run_group(jobs);
    }
  }
  std::deque<std::unique_ptr<Job>> left;
  {
    std::lock_guard<std::mutex> lock(queue_mutex);
    left.swap(queue);
  }
  for (auto& job : left) {
    if (job->kind == Job::Kind::apply) {
      job->apply_done.set_value(Status(Errc::unavailable, "the DAL is stopping"));
    } else if (job->kind == Job::Kind::maintenance) {
      job->maintenance_done.set_value(Status(Errc::unavailable, "the DAL is stopping"));
    } else {
      TxOutcome out;
      out.status = Status(Errc::unavailable, "the DAL is stopping");
      out.refusal = Refusal::stopping;
      job->tx_done(std::move(out));
    }
  }
}

Status Dal::Impl::run_maintenance(const std::function<Status()>& fn) {
  Status s = control("BEGIN IMMEDIATE");
  if (s) s = fn();
  if (s) s = control("COMMIT");
  if (!s) control("ROLLBACK");
  return s;
}

WriteGate Dal::Impl::take_gate() {
  WriteGate gate = gate_source();
  if (gate.routes) {
    gate_history[gate.routes->epoch()] = gate.routes;
    // Keep the last few tables: enough to judge a request resolved a moment
    // before an epoch change, without keeping history for ever.
    while (gate_history.size() > 16) gate_history.erase(gate_history.begin());
  }
  return gate;
}

void Dal::Impl::publish_commit(Epoch epoch) {
  acked_epoch = epoch;
  const uint64_t head = next_seq - 1;
  bool grew = false;
  {
    std::lock_guard<std::mutex> lock(head_mutex);
    grew = head != head_seq.load();
    head_seq = head;
  }
  head_cv.notify_all();
  std::lock_guard<std::mutex> lock(feed_mutex);
  if (grew) {
    for (auto& [id, fn] : outbox_watchers) fn(head);
  }
  if (group_feed.empty()) return;
  for (auto& [id, fn] : subscribers) {
    try {
      fn(group_feed);
    } catch (const std::exception& e) {
      log().warn("event=dal_feed_subscriber_threw error=\"{}\"", e.what());
    }
  }
  group_feed.clear();
}

Result<Stmt*> Dal::Impl::cached(std::string_view sql, bool for_handler) {
  auto& cache = for_handler ? handler_stmt_cache : stmt_cache;
  auto it = cache.find(std::string(sql));
  if (it != cache.end()) {
    it->second.reset();
    return &it->second;
  }
  if (cache.size() >= kStatementCacheMax) cache.clear();
  std::string_view tail;
  auto stmt = writer->prepare(sql, &tail);
  if (!stmt) return stmt.status();
  // A second statement after the first is refused: a client could otherwise
  // smuggle one past a reviewer of the first.
  for (char c : tail) {
    if (c != ' ' && c != '\n' && c != '\t' && c != '\r' && c != ';') {
      return Status(Errc::invalid_argument, "more than one statement in one string");
    }
  }
  auto [pos, inserted] = cache.emplace(std::string(sql), std::move(stmt.value()));
  return &pos->second;
}

Status Dal::Impl::control(std::string_view sql) {
  auto stmt = cached(sql);
  if (!stmt) return stmt.status();
  auto done = stmt.value()->step();
  stmt.value()->reset();
  return done.status();
}

Counter& Dal::Impl::refusal_counter(Refusal r) {
  static Counter unregistered;
  if (!metrics) return unregistered;
  return metrics->counter("ezone_dal_refusals_total", "Transactions the DAL refused, by reason.",
                          {{"reason", refusal_name(r)}});
}

void Dal::Impl::count_refusal(Refusal r, const std::string& message) {
  refusal_counter(r).inc();
  log().info("event=dal_refused ezone={} reason={} detail=\"{}\"", config.ezone, refusal_name(r), message);
}

// ---- reads ----

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

Result<std::vector<Row>> Dal::query(std::string_view sql, const std::vector<Value>& params) {
  return impl_->with_reader([&](Db& db) -> Result<std::vector<Row>> {
    std::string_view tail;
    auto stmt = db.prepare(sql, &tail);
    if (!stmt) return stmt.status();
    if (tail.find_first_not_of(" \n\t\r;") != std::string_view::npos) {
      return Status(Errc::invalid_argument, "more than one statement in one string");
    }
    if (!sqlite3_stmt_readonly(stmt.value().get())) return Status(Errc::invalid_argument, "query() runs read-only statements");
    if (Status s = stmt.value().bind_all(params); !s) return s;
    std::vector<Row> rows;
    for (;;) {
      auto more = stmt.value().step();
      if (!more) return more.status();
      if (!more.value()) return rows;
      if (rows.size() == impl_->config.query_rows_max) {
        return Status(Errc::invalid_argument, "the query returns more than " +
                                                  std::to_string(impl_->config.query_rows_max) + " rows");
      }
      rows.push_back(stmt.value().row());
    }
  });
}

namespace {

Status read_entries(Db& db, uint64_t after, size_t rows_max, size_t bytes_max, OutboxBatch& batch) {
  auto head = db.query("SELECT COALESCE(MAX(seq), 0) FROM _ezone_outbox");
  if (!head) return head.status();
  batch.head_seq = static_cast<uint64_t>(std::get<int64_t>(head.value()[0][0]));
  auto stmt = db.prepare("SELECT seq, hlc, shard, wall_ms, body FROM _ezone_outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  if (!stmt) return stmt.status();
  Stmt& q = stmt.value();
  if (Status s = q.bind_all({Value(static_cast<int64_t>(after)), Value(static_cast<int64_t>(std::max<size_t>(rows_max, 1)))}); !s) return s;
  size_t bytes = 0;
  for (;;) {
    auto more = q.step();
    if (!more) return more.status();
    if (!more.value()) return Status::ok();
    OutboxEntry e;
    e.seq = static_cast<uint64_t>(std::get<int64_t>(q.column(0)));
    e.hlc = static_cast<HlcTime>(std::get<int64_t>(q.column(1)));
    e.shard = std::get<int64_t>(q.column(2));
    e.commit_wall_ms = std::get<int64_t>(q.column(3));
    e.body = std::get<Blob>(q.column(4)).bytes;
    bytes += e.body.size() + 40;
    batch.entries.push_back(std::move(e));
    if (bytes >= bytes_max) return Status::ok();
  }
}

}  // namespace

Result<OutboxBatch> Dal::read_outbox(uint64_t after, size_t rows_max, size_t bytes_max) {
  OutboxBatch batch;
  batch.origin = impl_->config.ezone;
  for (const auto& [name, t] : impl_->tables) batch.fingerprints[name] = t.fingerprint;
  Status st = impl_->with_reader([&](Db& db) -> Status {
    // The head is read in the same read transaction as the entries, so the
    // batch never claims less than it holds.
    if (Status s = db.exec("BEGIN"); !s) return s;
    Status result = read_entries(db, after, rows_max, bytes_max, batch);
    db.exec("COMMIT");
    return result;
  });
  if (!st) return st;
  return batch;
}

uint64_t Dal::outbox_head() const { return impl_->head_seq.load(); }

Result<uint64_t> Dal::trim_outbox(uint64_t upto) {
  const uint64_t head = outbox_head();
  upto = std::min(upto, head > 0 ? head - 1 : 0);
  if (upto == 0) return uint64_t{0};
  auto job = std::make_unique<Job>();
  job->kind = Job::Kind::maintenance;
  uint64_t deleted = 0;
  job->maintenance = [this, upto, &deleted]() -> Status {
    auto n = impl_->writer->run("DELETE FROM _ezone_outbox WHERE seq <= ?1", {Value(static_cast<int64_t>(upto))});
    if (n) deleted = static_cast<uint64_t>(n.value());
    return n.status();
  };
  auto done = job->maintenance_done.get_future();
  {
    std::lock_guard<std::mutex> lock(impl_->queue_mutex);
    if (impl_->stopping) return Status(Errc::unavailable, "the DAL is stopping");
    impl_->queue.push_back(std::move(job));
  }
  impl_->queue_cv.notify_one();
  if (Status s = done.get(); !s) return s;
  return deleted;
}

uint64_t Dal::wait_outbox(uint64_t after, int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(impl_->head_mutex);
  impl_->head_cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    return impl_->head_seq.load() > after || impl_->stopping;
  });
  return impl_->head_seq.load();
}

Result<ApplyReport> Dal::apply(const OutboxBatch& batch) {
  if (batch.origin == impl_->config.ezone) {
    return Status(Errc::invalid_argument, "a batch from this ezone's own outbox ('" + batch.origin + "') is never applied here");
  }
  auto job = std::make_unique<Job>();
  job->kind = Job::Kind::apply;
  job->batch = &batch;
  auto done = job->apply_done.get_future();
  {
    std::lock_guard<std::mutex> lock(impl_->queue_mutex);
    if (impl_->stopping) return Status(Errc::unavailable, "the DAL is stopping");
    impl_->queue.push_back(std::move(job));
  }
  impl_->queue_cv.notify_one();
  return done.get();
}

Result<uint64_t> Dal::cursor(const std::string& origin) {
  auto rows = query("SELECT seq FROM _ezone_cursor WHERE origin=?1", {Value(origin)});
  if (!rows) return rows.status();
  if (rows.value().empty()) return uint64_t{0};
  return static_cast<uint64_t>(std::get<int64_t>(rows.value()[0][0]));
}

std::vector<HaltedTable> Dal::halted() const {
  std::lock_guard<std::mutex> lock(impl_->halted_mutex);
  std::vector<HaltedTable> out;
  for (const auto& [key, h] : impl_->halted) out.push_back(h);
  return out;
}

Epoch Dal::acknowledged_epoch() const { return impl_->acked_epoch.load(); }

void Dal::gate_changed() {
  {
    std::lock_guard<std::mutex> lock(impl_->queue_mutex);
    impl_->gate_dirty = true;
  }
  impl_->queue_cv.notify_one();
}

Result<uint64_t> Dal::checksum(const std::string& table, std::optional<ShardId> shard) {
  auto it = impl_->tables.find(table);
  if (it == impl_->tables.end()) return Status(Errc::not_found, "'" + table + "' is not a replicated table");
  const TableInfo& t = it->second;
  std::vector<std::string> order;
  for (int c : t.pk_cols) order.push_back(t.columns[static_cast<size_t>(c)]);
  std::string sql = "SELECT " + join(t.columns, ",") + " FROM " + table;
  std::vector<Value> params;
  if (shard) {
    if (t.shard_col < 0) return Status(Errc::invalid_argument, "'" + table + "' has no shard column");
    sql += " WHERE " + t.columns[static_cast<size_t>(t.shard_col)] + "=?1";
    params.push_back(Value(static_cast<int64_t>(*shard)));
  }
  sql += " ORDER BY " + join(order, ",");
  return impl_->with_reader([&](Db& db) -> Result<uint64_t> {
    auto stmt = db.prepare(sql);
    if (!stmt) return stmt.status();
    if (Status s = stmt.value().bind_all(params); !s) return s;
    uint64_t h = 1469598103934665603ull;  // FNV-1a over each row's canonical bytes
    for (;;) {
      auto more = stmt.value().step();
      if (!more) return more.status();
      if (!more.value()) return h;
      for (unsigned char c : encode_key(stmt.value().row())) h = (h ^ c) * 1099511628211ull;
    }
  });
}

Result<std::vector<ConflictRecord>> Dal::conflicts(size_t limit) {
  auto rows = query("SELECT tbl, pk, winner_origin, winner_hlc, winner_op, winner_row, loser_origin, loser_hlc, "
                    "loser_op, loser_row FROM _ezone_conflicts ORDER BY tbl, key, loser_origin, loser_hlc LIMIT ?1",
                    {Value(static_cast<int64_t>(limit))});
  if (!rows) return rows.status();
  std::vector<ConflictRecord> out;
  for (const Row& r : rows.value()) {
    ConflictRecord c;
    c.table = std::get<std::string>(r[0]);
    c.pk = std::get<std::string>(r[1]);
    c.winner = {static_cast<HlcTime>(std::get<int64_t>(r[3])), std::get<std::string>(r[2])};
    c.winner_op = std::get<std::string>(r[4]) == "delete" ? ChangeOp::remove : ChangeOp::upsert;
    c.winner_row = std::get<std::string>(r[5]);
    c.loser = {static_cast<HlcTime>(std::get<int64_t>(r[7])), std::get<std::string>(r[6])};
    c.loser_op = std::get<std::string>(r[8]) == "delete" ? ChangeOp::remove : ChangeOp::upsert;
    c.loser_row = std::get<std::string>(r[9]);
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<FeedEvent>> Dal::feed_since(uint64_t since_id, const std::vector<std::string>& tables_wanted,
                                               size_t limit) {
  // The table filter is in the query, before LIMIT: filtered afterwards, a
  // page of other tables' events came back empty and a reader stopped early.
  std::string sql = "SELECT id, tbl, pk, op, shard, origin, hlc FROM _ezone_feed WHERE id > ?1";
  std::vector<Value> params{Value(static_cast<int64_t>(since_id)), Value(static_cast<int64_t>(limit))};
  if (!tables_wanted.empty()) {
    std::vector<std::string> marks;
    for (const std::string& t : tables_wanted) {
      params.push_back(Value(t));
      marks.push_back("?" + std::to_string(params.size()));
    }
    sql += " AND tbl IN (" + join(marks, ",") + ")";
  }
  auto rows = query(sql + " ORDER BY id LIMIT ?2", params);
  if (!rows) return rows.status();
  std::vector<FeedEvent> out;
  for (const Row& r : rows.value()) {
    FeedEvent e;
    e.id = static_cast<uint64_t>(std::get<int64_t>(r[0]));
    e.table = std::get<std::string>(r[1]);
    e.pk = std::get<std::string>(r[2]);
    e.op = std::get<std::string>(r[3]) == "delete" ? ChangeOp::remove : ChangeOp::upsert;
    e.shard = std::get<int64_t>(r[4]);
    e.origin = std::get<std::string>(r[5]);
    e.hlc = static_cast<HlcTime>(std::get<int64_t>(r[6]));
    out.push_back(std::move(e));
  }
  return out;
}

uint64_t Dal::subscribe(FeedFn fn) {
  std::lock_guard<std::mutex> lock(impl_->feed_mutex);
  const uint64_t id = impl_->next_subscriber++;
  impl_->subscribers[id] = std::move(fn);
  return id;
}

void Dal::unsubscribe(uint64_t id) {
  std::lock_guard<std::mutex> lock(impl_->feed_mutex);
  impl_->subscribers.erase(id);
}

uint64_t Dal::on_outbox(OutboxFn fn) {
  std::lock_guard<std::mutex> lock(impl_->feed_mutex);
  const uint64_t id = impl_->next_subscriber++;
  impl_->outbox_watchers[id] = std::move(fn);
  return id;
}

void Dal::remove_on_outbox(uint64_t id) {
  std::lock_guard<std::mutex> lock(impl_->feed_mutex);
  impl_->outbox_watchers.erase(id);
}

const data::Schema& Dal::schema() const { return impl_->schema; }
const std::string& Dal::ezone() const { return impl_->config.ezone; }
const std::string& Tx::ezone() const { return dal_.impl_->config.ezone; }

}  // namespace ezone::dal
