// Dal lifecycle: opening and preparing the database, the writer thread and
// its queue, the checkpointer, and the writer's statement cache. The read
// side and the DRC-facing calls are in dal_read.cpp.
#include "storage/dal/dal.hpp"

#include <pthread.h>

#include <spdlog/spdlog.h>

#include "storage/dal/dal_impl.hpp"
#include "storage/dal/feed_record.hpp"

namespace ezone::dal {

namespace {

constexpr size_t kStatementCacheMax = 512;
// Peers' batches applied in one transaction at most (each up to a pull's
// batch_bytes_max).
constexpr size_t kApplyBatchesPerTxMax = 8;
// WAL size (pages) at which the checkpointer is asked to copy the WAL back
// into the database: SQLite's own auto-checkpoint threshold.
constexpr int kCheckpointWalPages = 1000;
// WAL size at which the writer checkpoints itself, blocking its commits,
// because the checkpointer is not keeping up: the bound on the WAL.
constexpr int kWalPagesMax = 262144;  // 1 GiB of 4 KiB pages

// Names the calling thread (as top, perf and gdb show it; at most 15 bytes).
void name_thread(const std::string& name) { pthread_setname_np(pthread_self(), name.substr(0, 15).c_str()); }

int wal_hook(void* ctx, sqlite3*, const char*, int pages) {
  static_cast<Dal::Impl*>(ctx)->on_wal_commit(pages);
  return SQLITE_OK;
}

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

}  // namespace

int authorize_reader(void*, int action, const char*, const char*, const char*, const char*) {
  if (is_schema_action(action) || is_write_action(action) || action == SQLITE_ATTACH ||
      action == SQLITE_DETACH) {
    return SQLITE_DENY;
  }
  return SQLITE_OK;
}

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
    case Refusal::quarantined: return "quarantined";
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
  if (Status s = impl->start_checkpointer(); !s) return s;
  // The gate at open is the first epoch this writer uses and acknowledges.
  const WriteGate first = impl->take_gate();
  impl->acked_epoch = first.routes ? first.routes->epoch() : 0;
  Impl* raw = impl.get();
  impl->writer_thread = std::thread([raw] {
    name_thread("dal-" + raw->config.ezone);
    raw->writer_loop();
  });
  std::unique_ptr<Dal> dal(new Dal(std::move(impl)));
  if (raw->config.check_every_ms > 0) {
    raw->auto_check_thread = std::thread([raw, d = dal.get()] { raw->auto_check_loop(*d); });
  }
  return dal;
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
  if (Status s = setup_internal_tables(); !s) return s;
  auto head = writer->query("SELECT COALESCE(MAX(seq), 0) FROM _ezone_outbox");
  if (!head) return head.status();
  next_seq = static_cast<uint64_t>(std::get<int64_t>(head.value()[0][0])) + 1;
  auto feed = writer->query("SELECT id + n FROM _ezone_feed ORDER BY id DESC LIMIT 1");
  if (!feed) return feed.status();
  if (!feed.value().empty()) next_feed_id = static_cast<uint64_t>(std::get<int64_t>(feed.value()[0][0]));
  // The clock must not go back across a restart: a later write must carry
  // an HLC above every version this database holds, or last-writer-wins
  // would keep the older version at a site that receives both (found by
  // the simulator, tests/sim restart_hlc_floor).
  //
  // Every version in _ezone_rowver is a local commit's or a peer's applied
  // change. Outbox HLCs grow with seq and the last entry is never trimmed
  // (trim_outbox), and a peer's changes arrive in its seq order, so its
  // cursor's HLC bounds them: the floor takes O(log n), where scanning
  // every row's version took minutes at startup for a large database. A
  // re-seeded database keeps the bound of its ezone's earlier versions in
  // _ezone_meta's hlc_floor (reseed.cpp).
  auto floor = writer->query(
      "SELECT MAX(m) FROM (SELECT hlc AS m FROM (SELECT hlc FROM _ezone_outbox ORDER BY seq DESC LIMIT 1) "
      "UNION ALL SELECT MAX(hlc) FROM _ezone_cursor "
      "UNION ALL SELECT value FROM _ezone_meta WHERE name='hlc_floor')");
  if (!floor) return floor.status();
  if (!floor.value().empty() && std::holds_alternative<int64_t>(floor.value()[0][0]))
    clock.observe(static_cast<HlcTime>(std::get<int64_t>(floor.value()[0][0])));
  // After the floor: a changed table's schema record takes an outbox seq
  // and an HLC (dal_schema.cpp).
  for (const data::TableSpec& spec : schema.tables()) {
    auto exists = writer->query("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1", {Value(spec.name)});
    if (!exists) return exists.status();
    if (exists.value().empty()) {
      if (Status s = writer->exec(spec.ddl); !s) {
        return Status(Errc::invalid_argument, "table '" + spec.name + "': its ddl failed: " + s.message());
      }
    }
    if (Status s = run_migrations(spec); !s) return s;
    if (spec.kind == data::TableKind::local) continue;
    if (Status s = load_table_info(spec); !s) return s;
    if (Status s = record_schema(tables[spec.name]); !s) return s;
  }
  if (Status s = load_quarantine_state(); !s) return s;
  auto parked = writer->query("SELECT origin, tbl, MIN(reason), COUNT(*) FROM _ezone_parked GROUP BY origin, tbl");
  if (!parked) return parked.status();
  for (const Row& r : parked.value()) {
    HaltedTable h{std::get<std::string>(r[0]), std::get<std::string>(r[1]), std::get<std::string>(r[2]),
                  static_cast<uint64_t>(std::get<int64_t>(r[3]))};
    halted[{h.origin, h.table}] = h;
  }
  if (Status s = resume_fitting_parked(); !s) return s;
  head_seq = next_seq - 1;
  return Status::ok();
}

Status Dal::Impl::load_table_info(const data::TableSpec& spec) {
  auto cols = writer->query("SELECT name, type, pk, \"notnull\", dflt_value FROM pragma_table_info(?1) ORDER BY cid",
                            {Value(spec.name)});
  if (!cols) return cols.status();
  TableInfo t;
  t.spec = &spec;
  std::vector<std::pair<int64_t, int>> pk;
  for (const Row& r : cols.value()) {
    const std::string name = std::get<std::string>(r[0]);
    const std::string type = std::holds_alternative<std::string>(r[1]) ? std::get<std::string>(r[1]) : "";
    const int64_t pk_pos = std::get<int64_t>(r[2]);
    if (pk_pos > 0) pk.emplace_back(pk_pos, static_cast<int>(t.columns.size()));
    if (name == spec.shard_column) t.shard_col = static_cast<int>(t.columns.size());
    const bool fillable = std::get<int64_t>(r[3]) == 0 || !std::holds_alternative<std::monostate>(r[4]);
    t.defs.push_back(data::ColumnDef{name, type, static_cast<int>(pk_pos), fillable});
    t.columns.push_back(name);
  }
  for (const data::Migration& m : spec.migrations) {
    if (m.kind == data::Migration::Kind::drop_column) t.dropped.insert(m.name);
    if (m.kind == data::Migration::Kind::add_column) t.dropped.erase(m.name);  // added again later
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
  t.fingerprint = data::fingerprint_of(t.defs);
  t.select_sql = "SELECT " + join(t.columns, ",") + " FROM " + spec.name + " WHERE " + join(where, " AND ");
  t.upsert_sql = "INSERT OR REPLACE INTO " + spec.name + "(" + join(t.columns, ",") + ") VALUES(" +
                 join(placeholders, ",") + ")";
  t.delete_sql = "DELETE FROM " + spec.name + " WHERE " + join(where, " AND ");
  tables[spec.name] = std::move(t);
  return Status::ok();
}

Dal::Dal(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Dal::~Dal() {
  impl_->stop_check();
  {
    std::lock_guard<std::mutex> lock(impl_->queue_mutex);
    impl_->stopping = true;
  }
  impl_->queue_cv.notify_all();
  if (impl_->writer_thread.joinable()) impl_->writer_thread.join();
  impl_->stop_checkpointer();
  impl_->head_cv.notify_all();
}

// ---- the writer ----

std::unique_ptr<Job> pick_jobs(std::deque<std::unique_ptr<Job>>& queue, size_t& riders_queued, size_t group_tx_max,
                               std::vector<std::unique_ptr<Job>>& jobs) {
  std::unique_ptr<Job> rider;
  auto rides = [](const std::unique_ptr<Job>& j) { return j->kind == Job::Kind::maintenance && j->rides_group; };
  if (rides(queue.front()) && queue.size() > 1 && queue[1]->kind == Job::Kind::tx) {
    rider = std::move(queue.front());
    queue.pop_front();
  }
  if (queue.front()->kind == Job::Kind::apply) {
    while (!queue.empty() && queue.front()->kind == Job::Kind::apply && jobs.size() < kApplyBatchesPerTxMax) {
      jobs.push_back(std::move(queue.front()));
      queue.pop_front();
    }
  } else if (queue.front()->kind != Job::Kind::tx) {
    jobs.push_back(std::move(queue.front()));
    queue.pop_front();
  } else {
    while (!queue.empty() && queue.front()->kind == Job::Kind::tx && jobs.size() < group_tx_max) {
      jobs.push_back(std::move(queue.front()));
      queue.pop_front();
    }
    // The newest rider is near the back: its thread queued it last.
    for (auto it = queue.rbegin(); !rider && riders_queued > 0 && it != queue.rend(); ++it) {
      if (!rides(*it)) continue;
      rider = std::move(*it);
      queue.erase(std::next(it).base());
    }
  }
  if (rides(jobs.front())) --riders_queued;
  if (rider) --riders_queued;
  return rider;
}

void Dal::Impl::writer_loop() {
  for (;;) {
    std::vector<std::unique_ptr<Job>> jobs;
    std::unique_ptr<Job> rider;
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
      rider = pick_jobs(queue, riders_queued, config.group_tx_max, jobs);
    }
    if (jobs.front()->kind == Job::Kind::apply) {
      run_applies(jobs);
    } else if (jobs.front()->kind == Job::Kind::maintenance) {
      jobs.front()->maintenance_done.set_value(run_maintenance(jobs.front()->maintenance));
    } else {
      run_group(jobs, rider.get());
    }
  }
  std::deque<std::unique_ptr<Job>> left;
  {
    std::lock_guard<std::mutex> lock(queue_mutex);
    left.swap(queue);
  }
  for (auto& job : left) {
    if (job->kind == Job::Kind::apply) {
      job->apply_done(Status(Errc::unavailable, "the DAL is stopping"));
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

// ---- the checkpointer ----
//
// SQLite checkpoints the WAL on the committing connection by default: every
// ~1000 pages one commit also copied the WAL into the database and synced
// it, tens of milliseconds that the requests of that group (and every
// request queued behind them) waited. Here the writer's WAL hook only wakes
// a thread that runs PASSIVE checkpoints on its own connection; PASSIVE
// never blocks the writer or readers. Durability is unchanged: a commit is
// durable once its WAL frames are synced (synchronous=FULL), whoever
// checkpoints them later.

Status Dal::Impl::start_checkpointer() {
  auto db = Db::open(config.path, false);
  if (!db) return db.status();
  checkpoint_db = std::move(db.value());
  const std::string sync = config.synchronous_full ? "FULL" : "NORMAL";
  if (Status s = checkpoint_db->exec("PRAGMA synchronous=" + sync + "; PRAGMA busy_timeout=5000;"); !s) return s;
  sqlite3_wal_hook(writer->get(), wal_hook, this);  // replaces SQLite's auto-checkpoint
  checkpoint_thread = std::thread([this] {
    name_thread("ckpt-" + config.ezone);
    checkpoint_loop();
  });
  return Status::ok();
}

void Dal::Impl::on_wal_commit(int wal_pages) {
  if (wal_pages >= kWalPagesMax) {
    log().warn("event=dal_wal_checkpoint_inline ezone={} wal_pages={}", config.ezone, wal_pages);
    sqlite3_wal_checkpoint_v2(writer->get(), "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return;
  }
  if (wal_pages < kCheckpointWalPages) return;
  {
    std::lock_guard<std::mutex> lock(checkpoint_mutex);
    checkpoint_wanted = true;
  }
  checkpoint_cv.notify_one();
}

void Dal::Impl::checkpoint_loop() {
  std::unique_lock<std::mutex> lock(checkpoint_mutex);
  for (;;) {
    checkpoint_cv.wait(lock, [&] { return checkpoint_wanted || checkpoint_stop; });
    if (checkpoint_stop) return;
    checkpoint_wanted = false;
    lock.unlock();
    {
      std::lock_guard<std::mutex> db_lock(checkpoint_db_mutex);
      const int rc = sqlite3_wal_checkpoint_v2(checkpoint_db->get(), "main", SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                               nullptr);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        log().warn("event=dal_wal_checkpoint_failed ezone={} error=\"{}\"", config.ezone, checkpoint_db->error_text());
      }
    }
    lock.lock();
  }
}

Status Dal::checkpoint() {
  std::lock_guard<std::mutex> lock(impl_->checkpoint_db_mutex);
  if (!impl_->checkpoint_db) return Status(Errc::unavailable, "the DAL is stopping");
  const int rc = sqlite3_wal_checkpoint_v2(impl_->checkpoint_db->get(), "main", SQLITE_CHECKPOINT_FULL, nullptr, nullptr);
  if (rc == SQLITE_OK) return Status::ok();
  return Status(rc == SQLITE_BUSY ? Errc::unavailable : Errc::io_error,
                "DAL '" + impl_->config.path + "': checkpoint: " + impl_->checkpoint_db->error_text());
}

void Dal::Impl::stop_checkpointer() {
  {
    std::lock_guard<std::mutex> lock(checkpoint_mutex);
    checkpoint_stop = true;
  }
  checkpoint_cv.notify_one();
  if (checkpoint_thread.joinable()) checkpoint_thread.join();
  std::lock_guard<std::mutex> lock(checkpoint_db_mutex);
  checkpoint_db.reset();
}

// A maintenance job may write an outbox entry (a quarantine release): on a
// failure its sequence is reused, and after it the new head is published.
Status Dal::Impl::run_maintenance(const std::function<Status()>& fn) {
  const uint64_t seq_before = next_seq;
  Status s = control("BEGIN IMMEDIATE");
  if (s) s = fn();
  if (s) s = control("COMMIT");
  if (!s) {
    control("ROLLBACK");
    next_seq = seq_before;
  }
  quarantine_after_commit(s.is_ok());
  publish_commit(acked_epoch.load());
  return s;
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

Result<Stmt*> Dal::Impl::cached_sql(const std::string& sql) {
  auto it = stmt_cache.find(sql);
  if (it != stmt_cache.end()) {
    it->second.reset();
    return &it->second;
  }
  return cached(sql);
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

}  // namespace ezone::dal
