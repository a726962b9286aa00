// Online consistency checks (storage/dal/check.hpp): the owner's chunks go
// out as check records in its outbox; every other site compares its copy
// when it applies one.
//
// A check record is a change to kCheckTable:
//   pk  = id, table, shard (-1: a global table), chunk (0, 1, ...)
//   row = checksum, rows, final (0/1), n_after, n_upto, after..., upto...
// where after/upto are the key values bounding the chunk (after < key <=
// upto; none: unbounded). The last chunk of a part is final and unbounded
// above, so rows past the owner's last key are compared too.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <regex>

#include "storage/dal/dal_impl.hpp"

namespace ezone::dal {

const char* const kCheckTable = "_ezone_check";

namespace {

constexpr size_t kCheckKeyValuesMax = 64;
// A chunk whose transaction failed is tried again this many times in all.
constexpr int kChunkAttempts = 3;

int64_t as_int(uint64_t v) {
  int64_t out;
  std::memcpy(&out, &v, sizeof out);
  return out;
}

// ?1 id ?2 origin ?3 tbl ?4 shard ?5 chunk ?6 final ?7 after ?8 upto
// ?9 origin_sum ?10 origin_rows ?11 local_sum ?12 local_rows ?13 result
// ?14 detail ?15 wall ms.
const std::string kResultSql =
    "INSERT OR REPLACE INTO _ezone_checks(id, origin, tbl, shard, chunk, final, after, upto, origin_sum, origin_rows, "
    "local_sum, local_rows, result, detail, wall_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
    "?14, ?15)";

// A check record, read back.
struct CheckRecord {
  std::string id, table;
  int64_t shard = -1, chunk = 0;
  uint64_t checksum = 0, rows = 0;
  bool final = false;
  Row after, upto;
};

Result<CheckRecord> parse_check_record(const RowChange& c) {
  auto bad = [](const std::string& why) { return Status(Errc::parse_error, "a check record is malformed: " + why); };
  if (c.op != ChangeOp::upsert || c.pk.size() != 4 || c.row.size() < 5) return bad("wrong shape");
  if (!std::holds_alternative<std::string>(c.pk[0]) || !std::holds_alternative<std::string>(c.pk[1]) ||
      !std::holds_alternative<int64_t>(c.pk[2]) || !std::holds_alternative<int64_t>(c.pk[3])) {
    return bad("wrong key types");
  }
  for (size_t i = 0; i < 5; ++i) {
    if (!std::holds_alternative<int64_t>(c.row[i])) return bad("wrong value types");
  }
  CheckRecord r;
  r.id = std::get<std::string>(c.pk[0]);
  r.table = std::get<std::string>(c.pk[1]);
  r.shard = std::get<int64_t>(c.pk[2]);
  r.chunk = std::get<int64_t>(c.pk[3]);
  const int64_t sum = std::get<int64_t>(c.row[0]);
  std::memcpy(&r.checksum, &sum, sizeof sum);
  const int64_t rows = std::get<int64_t>(c.row[1]);
  const int64_t n_after = std::get<int64_t>(c.row[3]), n_upto = std::get<int64_t>(c.row[4]);
  if (rows < 0 || r.chunk < 0 || n_after < 0 || n_upto < 0 || static_cast<uint64_t>(n_after) > kCheckKeyValuesMax ||
      static_cast<uint64_t>(n_upto) > kCheckKeyValuesMax || c.row.size() != static_cast<size_t>(5 + n_after + n_upto)) {
    return bad("bad counts");
  }
  r.rows = static_cast<uint64_t>(rows);
  r.final = std::get<int64_t>(c.row[2]) != 0;
  r.after.assign(c.row.begin() + 5, c.row.begin() + 5 + n_after);
  r.upto.assign(c.row.begin() + 5 + n_after, c.row.end());
  return r;
}

RowChange check_record(const std::string& id, const std::string& table, int64_t shard, int64_t chunk,
                       const ChunkSum& sum, bool final, const Row& after, const Row& upto) {
  RowChange c;
  c.table = kCheckTable;
  c.op = ChangeOp::upsert;
  c.pk = {Value(id), Value(table), Value(shard), Value(chunk)};
  c.row = {Value(as_int(sum.hash)), Value(static_cast<int64_t>(sum.rows)), Value(int64_t{final ? 1 : 0}),
           Value(static_cast<int64_t>(after.size())), Value(static_cast<int64_t>(upto.size()))};
  c.row.insert(c.row.end(), after.begin(), after.end());
  c.row.insert(c.row.end(), upto.begin(), upto.end());
  return c;
}

std::string bound_text(const Row& key) { return key.empty() ? "" : row_text(key); }

// `prefix` and the wall-clock time in milliseconds.
std::string make_check_id(const std::string& prefix) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
  return prefix + std::to_string(ms);
}

}  // namespace

Result<RangeQuery> range_query(const TableInfo& t, int64_t shard, const Row& after, const Row& upto, size_t limit) {
  std::vector<std::string> key, conditions;
  for (int c : t.pk_cols) key.push_back(t.columns[static_cast<size_t>(c)]);
  RangeQuery q;
  auto placeholders = [&](const Row& values) {
    std::vector<std::string> out;
    for (const Value& v : values) {
      q.params.push_back(v);
      out.push_back("?" + std::to_string(q.params.size()));
    }
    return "(" + join(out, ",") + ")";
  };
  const std::string key_tuple = "(" + join(key, ",") + ")";
  if (shard >= 0) {
    if (t.shard_col < 0) return Status(Errc::invalid_argument, "'" + t.spec->name + "' has no shard column");
    q.params.push_back(Value(shard));
    conditions.push_back(t.columns[static_cast<size_t>(t.shard_col)] + "=?1");
  }
  for (const Row* bound : {&after, &upto}) {
    if (bound->empty()) continue;
    if (bound->size() != key.size()) {
      return Status(Errc::invalid_argument, "a key range of '" + t.spec->name + "' has " +
                                                std::to_string(bound->size()) + " values; its key has " +
                                                std::to_string(key.size()));
    }
    conditions.push_back(key_tuple + (bound == &after ? " > " : " <= ") + placeholders(*bound));
  }
  q.sql = "SELECT " + join(t.columns, ",") + " FROM " + t.spec->name;
  if (!conditions.empty()) q.sql += " WHERE " + join(conditions, " AND ");
  q.sql += " ORDER BY " + join(key, ",");
  if (limit > 0) q.sql += " LIMIT " + std::to_string(limit);
  return q;
}

Row key_of(const TableInfo& t, const Row& row) {
  Row key;
  for (int c : t.pk_cols) key.push_back(row[static_cast<size_t>(c)]);
  return key;
}

Result<ChunkSum> checksum_range(Db& db, const TableInfo& t, int64_t shard, const Row& after, const Row& upto,
                                size_t limit) {
  auto q = range_query(t, shard, after, upto, limit);
  if (!q) return q.status();
  auto stmt = db.prepare(q.value().sql);
  if (!stmt) return stmt.status();
  if (Status s = stmt.value().bind_all(q.value().params); !s) return s;
  ChunkSum out;
  out.hash = 1469598103934665603ull;  // FNV-1a over each row's canonical bytes
  for (;;) {
    auto more = stmt.value().step();
    if (!more) return more.status();
    if (!more.value()) return out;
    Row row = stmt.value().row();
    for (unsigned char c : encode_key(row)) out.hash = (out.hash ^ c) * 1099511628211ull;
    ++out.rows;
    if (limit > 0 && out.rows == limit) out.last_key = key_of(t, row);
  }
}

// ---- the owner's side ----

Status Dal::Impl::prune_checks(const std::string& keep_id) {
  auto n = writer->run(
      "DELETE FROM _ezone_checks WHERE id <> ?1 AND id NOT IN (SELECT id FROM _ezone_checks GROUP BY id "
      "ORDER BY MAX(wall_ms) DESC LIMIT ?2)",
      {Value(keep_id), Value(static_cast<int64_t>(kCheckIdsKept - 1))});
  return n.status();
}

Status Dal::Impl::record_check_result(const std::string& id, const std::string& origin, const std::string& table,
                                      int64_t shard, int64_t chunk, bool final, const Row& after, const Row& upto,
                                      const ChunkSum& theirs, const ChunkSum& ours, const std::string& result,
                                      const std::string& detail) {
  auto stmt = cached_sql(kResultSql);
  if (!stmt) return stmt.status();
  Stmt& q = *stmt.value();
  if (Status s = q.bind_all({Value(id), Value(origin), Value(table), Value(shard), Value(chunk),
                             Value(int64_t{final ? 1 : 0}), Value(bound_text(after)), Value(bound_text(upto)),
                             Value(as_int(theirs.hash)), Value(static_cast<int64_t>(theirs.rows)),
                             Value(as_int(ours.hash)), Value(static_cast<int64_t>(ours.rows)), Value(result),
                             Value(detail), Value(hlc_physical_ms(clock.last()))});
      !s) {
    return s;
  }
  auto done = q.step();
  q.reset();
  if (!done) return done.status();
  if (metrics) {
    metrics->counter("ezone_dal_check_chunks_total",
                     "Consistency-check chunks: sent by this site as their owner (result=sent), or compared here "
                     "with the owner's (match, differ, skipped; malformed records are dropped)",
                     {{"origin", origin}, {"result", result == "source" ? "sent" : result}})
        .inc();
  }
  return Status::ok();
}

// Runs on the writer, in a maintenance job's transaction: sends the next
// chunk of the part, as a reader read it (snap) or, without one, as read
// here (what it sent goes to *sent, for the caller to take once the
// transaction committed). Sets *stale instead when an outbox entry since
// the reader's read changed the chunk, and *stop when this ezone no longer
// owns the part.
Status Dal::Impl::send_check_chunk(const std::string& id, size_t chunk_rows, const CheckedPart& part,
                                   const Row& after, const ChunkSnapshot* snap, SentChunk* sent, std::string* stop,
                                   bool* stale) {
  auto it = tables.find(part.table);
  if (it == tables.end()) return Status(Errc::not_found, "'" + part.table + "' is not a replicated table");
  const TableInfo& t = it->second;
  if (Status owned = owns_part(t, part.shard); !owned) {
    *stop = owned.message();
    return Status::ok();
  }
  auto count_read = [&](const char* on) {
    if (!metrics) return;
    metrics->counter("ezone_dal_check_chunk_reads_total",
                     "Reads of a consistency check's chunks at their owner: on a reader (on=reader), read again "
                     "because a write changed the chunk meanwhile (on=stale), or on the writer (on=writer)",
                     {{"on", on}}).inc();
  };
  Result<ChunkSum> sum = snap ? Result<ChunkSum>(snap->sum) : checksum_range(*writer, t, part.shard, after, {}, chunk_rows);
  if (!sum) return sum.status();
  if (snap) {
    const bool full = sum.value().rows == chunk_rows;
    auto changed = part_changed_since(t, part.shard, snap->head, after, full ? sum.value().last_key : Row{});
    if (!changed) return changed.status();
    if (changed.value()) {
      count_read("stale");
      *stale = true;
      return Status::ok();
    }
  }
  count_read(snap ? "reader" : "writer");
  const bool final = sum.value().rows < chunk_rows;
  const Row upto = final ? Row{} : sum.value().last_key;
  const int64_t chunk = static_cast<int64_t>(part.chunks);
  if (Status s = record_check_result(id, config.ezone, part.table, part.shard, chunk, final, after, upto,
                                     sum.value(), sum.value(), "source", "");
      !s) {
    return s;
  }
  if (Status s = append_control(check_record(id, part.table, part.shard, chunk, sum.value(), final, after, upto)); !s) {
    return s;
  }
  *sent = SentChunk{sum.value().rows, final, upto};
  return Status::ok();
}

Status Dal::Impl::record_check_stop(const std::string& id, const CheckedPart& part, const std::string& why) {
  return record_check_result(id, config.ezone, part.table, part.shard, -1, false, {}, {}, {}, {}, "stopped", why);
}

void Dal::Impl::check_loop(const std::string& id, std::vector<CheckedPart> parts, size_t chunk_rows,
                           int64_t pause_ms) {
  send_check(id, parts, chunk_rows, pause_ms);
  std::lock_guard<std::mutex> lock(check_mutex);
  check_running = false;
}

void Dal::Impl::send_check(const std::string& id, std::vector<CheckedPart>& parts, size_t chunk_rows,
                           int64_t pause_ms) {
  auto prune = std::make_unique<Job>();
  prune->kind = Job::Kind::maintenance;
  prune->maintenance = [this, &id] { return prune_checks(id); };
  if (Status s = run_queued(std::move(prune)); !s) {
    log().warn("event=dal_check_prune_failed id={} error=\"{}\"", id, s.message());
  }
  for (CheckedPart& part : parts) {
    Row after;
    std::string stop;
    Status s = Status::ok();
    int attempts = 0, stale_reads = 0;
    while (s && !part.done && stop.empty()) {
      {
        std::unique_lock<std::mutex> lock(check_mutex);
        if (part.chunks > 0 && pause_ms > 0) {
          check_cv.wait_for(lock, std::chrono::milliseconds(pause_ms), [&] { return check_stop; });
        }
        if (check_stop) return;
      }
      SentChunk sent;
      // Read on a reader first (dal_check_read.cpp); after a second read
      // that a write spoilt, on the writer.
      // (A read that fails leaves it to the writer, which reports why.)
      std::optional<ChunkSnapshot> snap;
      if (auto it = tables.find(part.table); stale_reads < 2 && it != tables.end()) {
        auto read = read_chunk_snapshot(it->second, part.shard, after, chunk_rows);
        if (read) snap = std::move(read).value();
        if (config.check_read_hook) config.check_read_hook();
      }
      bool stale = false;
      auto job = std::make_unique<Job>();
      job->kind = Job::Kind::maintenance;
      job->rides_group = true;
      job->maintenance = [this, &id, chunk_rows, &part, &after, &snap, &sent, &stop, &stale] {
        return send_check_chunk(id, chunk_rows, part, after, snap ? &*snap : nullptr, &sent, &stop, &stale);
      };
      s = run_queued(std::move(job));
      if (!s) {
        // The group it rode failed to commit (a request refused right
        // before COMMIT rolls back the whole group): the chunk again.
        {
          std::lock_guard<std::mutex> lock(check_mutex);
          if (check_stop) return;
        }
        if (++attempts < kChunkAttempts) s = Status::ok();
        continue;
      }
      attempts = 0;
      if (!stop.empty()) break;
      if (stale) {
        ++stale_reads;
        continue;
      }
      stale_reads = 0;
      ++part.chunks;
      part.rows += sent.rows;
      part.done = sent.final;
      after = std::move(sent.upto);
    }
    if (!s) stop = s.message();
    if (stop.empty()) continue;
    part.error = stop;
    log().warn("event=dal_check_part_stopped id={} table={} shard={} chunks={} reason=\"{}\"", id, part.table,
               part.shard, part.chunks, stop);
    auto job = std::make_unique<Job>();
    job->kind = Job::Kind::maintenance;
    job->maintenance = [this, &id, &part, &stop] { return record_check_stop(id, part, stop); };
    if (Status r = run_queued(std::move(job)); !r) return;  // stopping: the report shows it interrupted
  }
  log().info("event=dal_check_sent id={} parts={}", id, parts.size());
}

void Dal::Impl::stop_check() {
  {
    std::lock_guard<std::mutex> lock(check_mutex);
    check_stop = true;
  }
  check_cv.notify_all();
  if (auto_check_thread.joinable()) auto_check_thread.join();  // it may have started check_thread
  if (check_thread.joinable()) check_thread.join();
}

void Dal::Impl::auto_check_loop(Dal& dal) {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(check_mutex);
      if (check_cv.wait_for(lock, std::chrono::milliseconds(config.check_every_ms), [&] { return check_stop; })) return;
    }
    CheckSpec spec;
    spec.id = make_check_id("auto-" + config.ezone + "-");
    spec.chunk_rows = config.check_chunk_rows;
    spec.pause_ms = config.check_pause_ms;
    auto started = dal.start_check(spec);
    if (!started && started.status().code() != Errc::conflict) {
      log().warn("event=dal_check_not_started id={} error=\"{}\"", spec.id, started.status().message());
    }
  }
}

Result<std::string> Dal::start_check(CheckSpec spec) {
  static const std::regex kId("[A-Za-z0-9._-]{1,64}");
  if (spec.id.empty()) spec.id = make_check_id("check-");
  if (!std::regex_match(spec.id, kId)) {
    return Status(Errc::invalid_argument, "a check id is 1-64 of A-Z a-z 0-9 . _ -");
  }
  if (spec.chunk_rows < 1 || spec.chunk_rows > kCheckChunkRowsMax) {
    return Status(Errc::invalid_argument, "chunk_rows must be 1.." + std::to_string(kCheckChunkRowsMax));
  }
  if (spec.pause_ms < 0 || spec.pause_ms > 60000) return Status(Errc::invalid_argument, "pause_ms must be 0..60000");
  if (spec.tables.empty()) {
    for (const auto& [name, t] : impl_->tables) spec.tables.push_back(name);
  }
  const WriteGate gate = impl_->gate_source();
  std::vector<CheckedPart> parts;
  for (const std::string& name : spec.tables) {
    auto it = impl_->tables.find(name);
    if (it == impl_->tables.end()) return Status(Errc::not_found, "'" + name + "' is not a replicated table");
    const TableInfo& t = it->second;
    if (t.spec->kind == data::TableKind::global) {
      if (t.spec->master_ezone == impl_->config.ezone) parts.push_back(CheckedPart{name, -1, 0, 0, false, ""});
      continue;
    }
    if (!gate.routes) return Status(Errc::unavailable, "this node has no route table yet");
    std::vector<ShardId> owned = gate.routes->shards_owned_by(impl_->config.ezone);
    for (ShardId shard : owned) {
      if (!spec.shards.empty() && std::find(spec.shards.begin(), spec.shards.end(), shard) == spec.shards.end()) {
        continue;
      }
      parts.push_back(CheckedPart{name, static_cast<int64_t>(shard), 0, 0, false, ""});
    }
  }
  // Its records at the other sites are keyed by id: a second check under
  // the same id would mix with the first's.
  auto sent = query("SELECT 1 FROM _ezone_checks WHERE id=?1 AND origin=?2 LIMIT 1",
                    {Value(spec.id), Value(impl_->config.ezone)});
  if (!sent) return sent.status();
  if (!sent.value().empty()) {
    return Status(Errc::conflict, "check '" + spec.id + "' was run here before; give a new id");
  }
  std::lock_guard<std::mutex> lock(impl_->check_mutex);
  if (impl_->check_running) {
    return Status(Errc::conflict, "check '" + impl_->check_id + "' is still running here; one runs at a time");
  }
  if (impl_->check_stop) return Status(Errc::unavailable, "the DAL is stopping");
  if (impl_->check_thread.joinable()) impl_->check_thread.join();  // the last one ended
  impl_->check_running = true;
  impl_->check_id = spec.id;
  impl_->log().info("event=dal_check_started id={} parts={} chunk_rows={}", spec.id, parts.size(), spec.chunk_rows);
  impl_->check_thread = std::thread([impl = impl_.get(), id = spec.id, parts = std::move(parts),
                                     rows = spec.chunk_rows, pause = spec.pause_ms]() mutable {
    impl->check_loop(id, std::move(parts), rows, pause);
  });
  return spec.id;
}

// ---- the other sites' side ----

Status Dal::Impl::apply_check_record(const RowChange& c, const std::string& origin, const std::string* skip_reason) {
  auto parsed = parse_check_record(c);
  if (!parsed) {
    // It carries no data: dropped, counted, and replication goes on.
    log().warn("event=dal_check_record_malformed origin={} error=\"{}\"", origin, parsed.status().message());
    if (metrics) {
      metrics->counter("ezone_dal_check_chunks_total", "", {{"origin", origin}, {"result", "malformed"}}).inc();
    }
    return Status::ok();
  }
  const CheckRecord& r = parsed.value();
  auto known = writer->query("SELECT 1 FROM _ezone_checks WHERE id=?1 LIMIT 1", {Value(r.id)});
  if (!known) return known.status();
  if (known.value().empty()) {
    if (Status s = prune_checks(r.id); !s) return s;
  }
  ChunkSum theirs;
  theirs.hash = r.checksum;
  theirs.rows = r.rows;
  auto it = tables.find(r.table);
  std::string skipped;
  if (it == tables.end()) {
    skipped = "'" + r.table + "' is not a replicated table here";
  } else if (skip_reason) {
    skipped = *skip_reason;
  }
  ChunkSum ours;
  if (skipped.empty()) {
    auto sum = checksum_range(*writer, it->second, r.shard, r.after, r.upto, 0);
    if (sum) {
      ours = sum.value();
    } else if (sum.status().code() == Errc::invalid_argument) {
      skipped = sum.status().message();  // the record's range does not fit the table here
    } else {
      return sum.status();
    }
  }
  const bool same = skipped.empty() && ours.hash == theirs.hash && ours.rows == theirs.rows;
  const std::string result = !skipped.empty() ? "skipped" : same ? "match" : "differ";
  if (!same) {
    log().warn("event=dal_check_{} id={} origin={} table={} shard={} chunk={} after={} upto={} origin_rows={} "
               "local_rows={}{}{}",
               result, r.id, origin, r.table, r.shard, r.chunk, bound_text(r.after), bound_text(r.upto), r.rows,
               ours.rows, skipped.empty() ? "" : " reason=", skipped);
  }
  return record_check_result(r.id, origin, r.table, r.shard, r.chunk, r.final, r.after, r.upto, theirs, ours, result,
                             skipped);
}

// ---- reports ----

Result<CheckReport> Dal::check_report(const std::string& id, size_t limit) {
  CheckReport out;
  out.id = id;
  {
    std::lock_guard<std::mutex> lock(impl_->check_mutex);
    out.running = impl_->check_running && impl_->check_id == id;
  }
  const std::string& self = impl_->config.ezone;
  auto parts = query(
      "SELECT tbl, shard, COUNT(*) FILTER (WHERE result='source'), TOTAL(origin_rows) FILTER (WHERE result='source'), "
      "MAX(final), MAX(CASE WHEN result='stopped' THEN detail ELSE '' END) FROM _ezone_checks WHERE id=?1 AND "
      "origin=?2 GROUP BY tbl, shard ORDER BY tbl, shard",
      {Value(id), Value(self)});
  if (!parts) return parts.status();
  for (const Row& r : parts.value()) {
    CheckedPart p;
    p.table = std::get<std::string>(r[0]);
    p.shard = std::get<int64_t>(r[1]);
    p.chunks = static_cast<uint64_t>(std::get<int64_t>(r[2]));
    p.rows = static_cast<uint64_t>(std::get<double>(r[3]));
    p.done = std::get<int64_t>(r[4]) != 0;
    p.error = std::get<std::string>(r[5]);
    out.issued_chunks += p.chunks;
    if (!out.running && !p.done && p.error.empty()) out.interrupted = true;
    out.issued.push_back(std::move(p));
  }
  auto received = query(
      "SELECT origin, COUNT(*), TOTAL(result='match'), TOTAL(result='differ'), TOTAL(result='skipped'), "
      "TOTAL(origin_rows) FROM _ezone_checks WHERE id=?1 AND origin<>?2 GROUP BY origin ORDER BY origin",
      {Value(id), Value(self)});
  if (!received) return received.status();
  for (const Row& r : received.value()) {
    CheckReceived c;
    c.origin = std::get<std::string>(r[0]);
    c.chunks = static_cast<uint64_t>(std::get<int64_t>(r[1]));
    c.matched = static_cast<uint64_t>(std::get<double>(r[2]));
    c.differing = static_cast<uint64_t>(std::get<double>(r[3]));
    c.skipped = static_cast<uint64_t>(std::get<double>(r[4]));
    c.rows = static_cast<uint64_t>(std::get<double>(r[5]));
    out.received.push_back(std::move(c));
  }
  auto diffs = query(
      "SELECT origin, tbl, shard, chunk, after, upto, origin_rows, local_rows, result, detail FROM _ezone_checks "
      "WHERE id=?1 AND origin<>?2 AND result IN ('differ', 'skipped') ORDER BY origin, tbl, shard, chunk LIMIT ?3",
      {Value(id), Value(self), Value(static_cast<int64_t>(std::min(limit, kCheckDifferencesMax)))});
  if (!diffs) return diffs.status();
  for (const Row& r : diffs.value()) {
    CheckDifference d;
    d.origin = std::get<std::string>(r[0]);
    d.table = std::get<std::string>(r[1]);
    d.shard = std::get<int64_t>(r[2]);
    d.chunk = std::get<int64_t>(r[3]);
    d.after = std::get<std::string>(r[4]);
    d.upto = std::get<std::string>(r[5]);
    d.origin_rows = static_cast<uint64_t>(std::get<int64_t>(r[6]));
    d.local_rows = static_cast<uint64_t>(std::get<int64_t>(r[7]));
    d.result = std::get<std::string>(r[8]);
    d.detail = std::get<std::string>(r[9]);
    out.differences.push_back(std::move(d));
  }
  out.known = out.running || !out.issued.empty() || !out.received.empty();
  return out;
}

}  // namespace ezone::dal
