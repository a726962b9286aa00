// The DAL's read side and the calls the DRC makes: queries on the reader
// connections, outbox reads, trims and waits, peers' batches handed to the
// writer, and the inspection behind the admin API (checksums, conflicts,
// the change feed and its subscribers).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include "storage/dal/dal.hpp"
#include "storage/dal/dal_impl.hpp"
#include "storage/dal/feed_record.hpp"

namespace ezone::dal {

// ---- reads ----

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

// trim_outbox deletes in transactions of at most kTrimChunkEntries entries
// and, beyond the first entry, kTrimChunkBytes of bodies.
constexpr size_t kTrimChunkEntries = 1000;
constexpr int64_t kTrimChunkBytes = 1 << 20;

Status read_entries(Db& db, uint64_t after, size_t rows_max, size_t bytes_max, OutboxBatch& batch) {
  auto head = db.query("SELECT COALESCE(MAX(seq), 0) FROM _ezone_outbox");
  if (!head) return head.status();
  batch.head_seq = static_cast<uint64_t>(std::get<int64_t>(head.value()[0][0]));
  batch.after = after;
  if (after > 0) {
    auto prev = db.query("SELECT hlc FROM _ezone_outbox WHERE seq=?1", {Value(static_cast<int64_t>(after))});
    if (!prev) return prev.status();
    if (!prev.value().empty()) batch.after_hlc = static_cast<HlcTime>(std::get<int64_t>(prev.value()[0][0]));
  }
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
  batch.lineage = impl_->lineage;
  batch.replaces = impl_->replaces;
  // The columns at the first entry; a schema record marks a change after it.
  for (const auto& [name, t] : impl_->tables) batch.fingerprints[name] = impl_->fingerprint_at(t, after + 1);
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
  // In chunks, each its own transaction: after a peer caught up with a long
  // backlog, one DELETE of every entry held the writer (and every commit
  // queued behind it) for hundreds of milliseconds.
  uint64_t deleted = 0;
  while (deleted < kTrimEntriesPerCall) {
    auto job = std::make_unique<Job>();
    job->kind = Job::Kind::maintenance;
    int64_t n = 0;
    job->maintenance = [this, upto, &n]() -> Status {
      // The chunk's last entry, found by walking its first entries: a
      // window function over "seq <= upto" read every entry up to the mark
      // for each chunk (72 ms a chunk for a 200k backlog).
      auto sizes = impl_->writer->query(
          "SELECT seq, length(body) FROM _ezone_outbox WHERE seq <= ?1 ORDER BY seq LIMIT ?2",
          {Value(static_cast<int64_t>(upto)), Value(static_cast<int64_t>(kTrimChunkEntries))}, kTrimChunkEntries);
      if (!sizes) return sizes.status();
      int64_t end = -1, bytes = 0;
      for (const Row& r : sizes.value()) {
        const int64_t size = std::get<int64_t>(r[1]);
        if (end >= 0 && bytes + size > kTrimChunkBytes) break;
        bytes += size;
        end = std::get<int64_t>(r[0]);
      }
      if (end < 0) return Status::ok();
      auto done = impl_->writer->run("DELETE FROM _ezone_outbox WHERE seq <= ?1", {Value(end)});
      if (done) n = done.value();
      return done.status();
    };
    if (Status s = impl_->run_queued(std::move(job)); !s) return s;
    deleted += static_cast<uint64_t>(n);
    if (n == 0) break;
  }
  return deleted;
}

Status Dal::Impl::run_queued(std::unique_ptr<Job> job) {
  auto done = job->maintenance_done.get_future();
  {
    std::lock_guard<std::mutex> lock(queue_mutex);
    if (stopping) return Status(Errc::unavailable, "the DAL is stopping");
    if (job->rides_group) ++riders_queued;
    queue.push_back(std::move(job));
  }
  queue_cv.notify_one();
  return done.get();
}

uint64_t Dal::wait_outbox(uint64_t after, int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(impl_->head_mutex);
  impl_->head_cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    return impl_->head_seq.load() > after || impl_->stopping;
  });
  return impl_->head_seq.load();
}

Result<ApplyReport> Dal::apply(const OutboxBatch& batch) {
  auto prepared = std::make_shared<PreparedBatch>();
  prepared->batch = &batch;
  if (Status s = impl_->prepare(*prepared); !s) {
    impl_->count_apply_error(batch.origin, s);
    return s;
  }
  std::promise<Result<ApplyReport>> promise;
  auto done = promise.get_future();
  apply(std::move(prepared), [&promise](Result<ApplyReport> report) { promise.set_value(std::move(report)); });
  return done.get();
}

const OutboxBatch& prepared_outbox(const PreparedBatch& batch) { return *batch.batch; }

Result<std::shared_ptr<const PreparedBatch>> Dal::prepare(OutboxBatch batch) {
  auto prepared = std::make_shared<PreparedBatch>();
  prepared->owned = std::move(batch);
  prepared->batch = &*prepared->owned;
  if (Status s = impl_->prepare(*prepared); !s) {
    impl_->count_apply_error(prepared->batch->origin, s);
    return s;
  }
  return std::shared_ptr<const PreparedBatch>(std::move(prepared));
}

void Dal::apply(std::shared_ptr<const PreparedBatch> batch, ApplyDoneFn done) {
  auto job = std::make_unique<Job>();
  job->kind = Job::Kind::apply;
  job->batch = std::move(batch);
  job->apply_done = std::move(done);
  {
    std::lock_guard<std::mutex> lock(impl_->queue_mutex);
    if (!impl_->stopping) {
      impl_->queue.push_back(std::move(job));
      job = nullptr;
    }
  }
  if (job) return job->apply_done(Status(Errc::unavailable, "the DAL is stopping"));
  impl_->queue_cv.notify_one();
}

Result<uint64_t> Dal::cursor(const std::string& origin) {
  auto c = origin_cursor(origin);
  if (!c) return c.status();
  return c->seq;
}

Result<OriginCursor> Dal::origin_cursor(const std::string& origin) {
  return impl_->with_reader([&](Db& db) { return impl_->read_origin_cursor(db, origin); });
}

Result<uint64_t> Dal::applied_through(const std::string& origin) {
  return impl_->with_reader([&](Db& db) -> Result<uint64_t> {
    // One read transaction: the cursor and the parked rows of one moment.
    if (Status s = db.exec("BEGIN"); !s) return s;
    auto cursor = impl_->read_origin_cursor(db, origin);
    // Rows of a table this site does not replicate (one it dropped, or not
    // added yet) hold nothing it serves.
    std::string in;
    std::vector<Value> params{Value(origin)};
    for (const auto& [name, t] : impl_->tables) {
      params.emplace_back(std::in_place_type<std::string>, name);
      in += (in.empty() ? "?" : ",?") + std::to_string(params.size());
    }
    auto parked = db.query("SELECT MIN(seq) FROM _ezone_parked WHERE origin=?1 AND tbl IN (" + in + ")", params);
    db.exec("COMMIT");
    if (!cursor) return cursor.status();
    if (!parked) return parked.status();
    const int64_t* first = std::get_if<int64_t>(&parked.value()[0][0]);
    return first ? std::min(cursor->seq, static_cast<uint64_t>(*first) - 1) : cursor->seq;
  });
}

Status Dal::check_origin(const OutboxBatch& batch, bool* restarts) {
  auto cursor = impl_->with_reader([&](Db& db) { return impl_->read_origin_cursor(db, batch.origin); });
  if (!cursor) return cursor.status();
  const TimelineVerdict verdict = check_timeline(batch.origin, cursor.value(), batch);
  if (restarts) *restarts = verdict.kind == TimelineVerdict::Kind::restart;
  if (verdict.kind != TimelineVerdict::Kind::refuse) return Status::ok();
  return impl_->refuse_timeline(batch.origin, verdict);
}

Status Dal::restart_origin(const OutboxBatch& batch) {
  auto job = std::make_unique<Job>();
  job->kind = Job::Kind::maintenance;
  job->maintenance = [this, &batch]() -> Status {
    auto cursor = impl_->read_origin_cursor(*impl_->writer, batch.origin);
    if (!cursor) return cursor.status();
    if (check_timeline(batch.origin, cursor.value(), batch).kind != TimelineVerdict::Kind::restart) return Status::ok();
    return impl_->reset_cursor(batch, cursor.value());
  };
  return impl_->run_queued(std::move(job));
}

Status Dal::snapshot_into(const std::string& path) {
  // VACUUM INTO attaches its target, which the readers' authorizer refuses;
  // this connection is ours alone until with_reader returns.
  Status s = impl_->with_reader([&](Db& db) {
    sqlite3_set_authorizer(db.get(), nullptr, nullptr);
    Status copied = db.run("VACUUM INTO ?1", {Value(path)}).status();
    sqlite3_set_authorizer(db.get(), authorize_reader, nullptr);
    return copied;
  });
  if (s) return s;
  std::remove(path.c_str());
  return Status(Errc::io_error, "copying the database to '" + path + "': " + s.message());
}

uint64_t Dal::lineage() const { return impl_->lineage; }
uint64_t Dal::replaced_lineage() const { return impl_->replaces; }

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
  auto sum = impl_->with_reader([&](Db& db) {
    return checksum_range(db, it->second, shard ? static_cast<int64_t>(*shard) : -1, {}, {}, 0);
  });
  if (!sum) return sum.status();
  return sum.value().hash;
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

namespace {

// Appends the events of feed records (id, n, events) after `since` and of
// the wanted tables to `out`, up to `limit`; `next` becomes the id of the
// record to read after these.
Status read_feed_page(Db& db, uint64_t since, const std::vector<std::string>& wanted, size_t limit,
                      std::vector<FeedEvent>& out, uint64_t& next, bool& more) {
  constexpr int64_t kRecordsPerPage = 64;
  auto rows = db.query("SELECT id, n, events FROM _ezone_feed WHERE id >= ?1 ORDER BY id LIMIT ?2",
                       {Value(static_cast<int64_t>(next)), Value(kRecordsPerPage)});
  if (!rows) return rows.status();
  more = static_cast<int64_t>(rows.value().size()) == kRecordsPerPage;
  for (const Row& r : rows.value()) {
    const auto first = static_cast<uint64_t>(std::get<int64_t>(r[0]));
    const auto n = static_cast<uint64_t>(std::get<int64_t>(r[1]));
    next = first + std::max<uint64_t>(n, 1);
    if (first + n <= since + 1) continue;
    auto events = decode_feed_events(std::get<Blob>(r[2]).bytes, first, n);
    if (!events) return events.status();
    for (FeedEvent& e : events.value()) {
      if (e.id <= since) continue;
      if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), e.table) == wanted.end()) continue;
      out.push_back(std::move(e));
      if (out.size() == limit) {
        more = false;
        return Status::ok();
      }
    }
  }
  return Status::ok();
}

}  // namespace

Result<std::vector<FeedEvent>> Dal::feed_since(uint64_t since_id, const std::vector<std::string>& tables_wanted,
                                               size_t limit) {
  // Events are filtered by table while the records are read, before the
  // limit: filtered afterwards, a page of other tables' events came back
  // empty and a reader stopped early.
  std::vector<FeedEvent> out;
  if (limit == 0) return out;
  Status st = impl_->with_reader([&](Db& db) -> Status {
    if (Status s = db.exec("BEGIN"); !s) return s;
    // The record holding event since_id + 1 starts at or before it.
    auto start = db.query("SELECT COALESCE(MAX(id), 0) FROM _ezone_feed WHERE id <= ?1",
                          {Value(static_cast<int64_t>(since_id + 1))});
    Status result = start.status();
    uint64_t next = start ? static_cast<uint64_t>(std::get<int64_t>(start.value()[0][0])) : 0;
    for (bool more = true; result && more;) {
      result = read_feed_page(db, since_id, tables_wanted, limit, out, next, more);
    }
    db.exec("COMMIT");
    return result;
  });
  if (!st) return st;
  return out;
}

Result<Dal::FeedBounds> Dal::feed_bounds() {
  FeedBounds out;
  Status st = impl_->with_reader([&](Db& db) -> Status {
    auto rows = db.query("SELECT MIN(id), MAX(id + n) FROM _ezone_feed");
    if (!rows) return rows.status();
    const Row& r = rows.value()[0];
    if (std::holds_alternative<int64_t>(r[0]) && std::holds_alternative<int64_t>(r[1])) {
      out.first = static_cast<uint64_t>(std::get<int64_t>(r[0]));
      out.next = static_cast<uint64_t>(std::get<int64_t>(r[1]));
    }
    return Status::ok();
  });
  if (!st) return st;
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

Result<Dal::TableLayout> Dal::layout(const std::string& table) const {
  auto it = impl_->tables.find(table);
  if (it == impl_->tables.end())
    return Status(Errc::not_found, "'" + table + "' is not a replicated table of this site's schema");
  const TableInfo& t = it->second;
  TableLayout out{t.columns, {}, t.select_sql, t.fingerprint, t.spec->migrations.size()};
  for (int c : t.pk_cols) out.key.push_back(t.columns[static_cast<size_t>(c)]);
  return out;
}
const std::string& Dal::ezone() const { return impl_->config.ezone; }
const std::string& Tx::ezone() const { return dal_.impl_->config.ezone; }

}  // namespace ezone::dal
