// Applying a peer's outbox batch on the writer thread (DESIGN.md, "drc").
//
// The SQLite transaction that applies a batch (alone, or with the batches
// queued behind it, each in a savepoint) holds the rows, their versions, any
// conflicts, parked rows, change-feed entries and the origin's new cursor. A
// crash anywhere before COMMIT leaves none of them, and the next pull starts
// again from the old cursor: exactly-once.
//
// Per row: if this site's version of the row is the change's base, the
// change is a plain successor and is applied. Otherwise the two versions are
// concurrent: the table's policy picks the winner from (hlc, origin) alone,
// so every site picks the same one, and the loser is kept in
// _ezone_conflicts on every site.
//
// Rows of a table whose columns do not fit the origin's (zones/data/column_map.hpp)
// are parked, in order, and applied when they fit again; other tables go
// on. Columns are tracked per entry: a batch names the origin's columns at
// its first entry, and a schema record (kSchemaTable, dal_schema.cpp)
// switches them where the origin's columns changed.
//
// At the row's owner a conflict also quarantines the row (dal_quarantine.cpp);
// a change to kQuarantineTable is a quarantine or a release from the origin,
// one to kCheckTable a consistency check's chunk (dal_check.cpp), and one to
// kRepairTable a repair image of a chunk (dal_repair.cpp).
#include <spdlog/spdlog.h>

#include "storage/dal/dal_impl.hpp"

namespace ezone::dal {

namespace {

using HaltedMap = std::map<std::pair<std::string, std::string>, HaltedTable>;

// Everything one batch changes besides the database, committed with it.
struct ApplyState {
  const std::string& origin;
  HaltedMap halted;
  ApplyReport report;
};

}  // namespace

class Applier {
 public:
  Applier(Dal::Impl& impl, ApplyState& state) : impl_(impl), st_(state) {}

  Status run(const PreparedBatch& batch);
  // At open: the table's parked rows that fit this site's columns now.
  Status resume_at_open(const TableInfo& t) { return resume(t); }

 private:
  // Halts or resumes the table by whether the origin's current columns fit.
  Status evaluate(const std::string& table);
  Status on_schema_record(const RowChange& c);
  Status resume(const TableInfo& t);
  Status park(const RowChange& c, const OutboxEntry& e, const std::string& reason);
  // Why a check record or repair image (its key's second value names the
  // table) is skipped: the table is halted, or its columns differ from the
  // origin's; null when it is compared.
  const std::string* skip_reason(const RowChange& c);
  const MappedColumns& columns_of(const TableInfo& t, const std::string& table);
  Status apply_change(const PreparedChange& pc, const data::RowVersion& incoming, const MappedColumns& m);
  Status write(const TableInfo& t, const RowChange& c, const MappedColumns& m);
  Status record_conflict(const TableInfo& t, const RowChange& c, const std::string& key,
                         const data::RowVersion& winner, ChangeOp winner_op, const std::string& winner_row,
                         const data::RowVersion& loser, ChangeOp loser_op, const std::string& loser_row);
  Result<OriginCursor> read_cursor();
  Status write_cursor(const OutboxEntry& last, uint64_t lineage);

  Dal::Impl& impl_;
  ApplyState& st_;
  std::map<std::string, std::string> layout_;  // table -> the origin's columns at the entry being applied
  // table -> how those columns are written here; cleared when layout_ changes.
  std::map<std::string, std::shared_ptr<const MappedColumns>> mapped_;
  std::string skip_;
};

Result<OriginCursor> Applier::read_cursor() { return impl_.read_origin_cursor(*impl_.writer, st_.origin); }

Status Applier::write_cursor(const OutboxEntry& last, uint64_t lineage) {
  auto n = impl_.writer->run(
      "INSERT OR REPLACE INTO _ezone_cursor(origin, seq, hlc, wall_ms, applied_wall_ms, lineage) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
      {Value(st_.origin), Value(static_cast<int64_t>(last.seq)), Value(static_cast<int64_t>(last.hlc)),
       Value(last.commit_wall_ms), Value(hlc_physical_ms(impl_.clock.now())), Value(static_cast<int64_t>(lineage))});
  return n.status();
}

const MappedColumns& Applier::columns_of(const TableInfo& t, const std::string& table) {
  auto known = mapped_.find(table);
  if (known != mapped_.end()) return *known->second;
  auto it = layout_.find(table);
  auto m = impl_.mapped_columns(t, st_.origin, it == layout_.end() ? t.fingerprint : it->second);
  return *mapped_.emplace(table, std::move(m)).first->second;
}

Status Applier::evaluate(const std::string& name) {
  const auto key = std::make_pair(st_.origin, name);
  auto local = impl_.tables.find(name);
  std::string reason;
  if (local == impl_.tables.end()) {
    reason = "table '" + name + "' from ezone '" + st_.origin + "' is not a replicated table here";
  } else if (const MappedColumns& m = columns_of(local->second, name); !m.fit) {
    reason = m.fit.message();
  }
  const bool was_halted = st_.halted.count(key) > 0;
  if (!reason.empty() && !was_halted) {
    impl_.log().error("event=drc_table_halted table={} origin={} reason=\"{}\"", name, st_.origin, reason);
    st_.halted[key] = HaltedTable{st_.origin, name, reason, 0};
  } else if (reason.empty() && was_halted) {
    if (Status s = resume(local->second); !s) return s;
  }
  return Status::ok();
}

Status Applier::on_schema_record(const RowChange& c) {
  const bool ok = c.op == ChangeOp::upsert && c.pk.size() == 1 && c.row.size() == 3 &&
                  std::holds_alternative<std::string>(c.row[0]) && std::holds_alternative<std::string>(c.row[2]);
  // Rows after it could not be read without it: the batch is refused.
  if (!ok) return Status(Errc::parse_error, "a schema record from ezone '" + st_.origin + "' is malformed");
  const std::string& table = std::get<std::string>(c.row[0]);
  const std::string& columns = std::get<std::string>(c.row[2]);
  impl_.log().info("event=drc_origin_schema_changed table={} origin={} columns=\"{}\"", table, st_.origin, columns);
  layout_[table] = columns;
  mapped_.erase(table);
  return evaluate(table);
}

// The parked rows, in order, each with the columns it was written with;
// the first that does not fit stops the resume and keeps the table halted.
Status Applier::resume(const TableInfo& t) {
  const std::string& table = t.spec->name;
  auto rows = impl_.writer->query("SELECT id, hlc, change, layout FROM _ezone_parked WHERE origin=?1 AND tbl=?2 ORDER BY id",
                                  {Value(st_.origin), Value(table)}, SIZE_MAX);
  if (!rows) return rows.status();
  int64_t applied_upto = -1;
  std::string stuck;
  for (const Row& r : rows.value()) {
    const std::string* columns = std::get_if<std::string>(&r[3]);
    // A row parked by an older build: its columns are the origin's batch's.
    if (!columns && !layout_.count(table)) break;
    const auto parked = columns ? impl_.mapped_columns(t, st_.origin, *columns) : nullptr;
    const MappedColumns& m = parked ? *parked : columns_of(t, table);
    if (!m.fit) {
      stuck = m.fit.message();
      break;
    }
    auto changes = decode_changes(std::get<Blob>(r[2]).bytes);
    if (!changes) return changes.status();
    const data::RowVersion v{static_cast<HlcTime>(std::get<int64_t>(r[1])), st_.origin};
    for (RowChange& c : changes.value()) {
      if (Status s = apply_change(impl_.prepare_change(std::move(c)), v, m); !s) return s;
    }
    applied_upto = std::get<int64_t>(r[0]);
  }
  auto n = impl_.writer->run("DELETE FROM _ezone_parked WHERE origin=?1 AND tbl=?2 AND id<=?3",
                             {Value(st_.origin), Value(table), Value(applied_upto)});
  if (!n) return n.status();
  const size_t applied = static_cast<size_t>(n.value());
  if (applied < rows.value().size()) {
    HaltedTable& h = st_.halted[{st_.origin, table}];
    if (!stuck.empty()) h.reason = stuck;
    h.parked_rows = rows.value().size() - applied;
    impl_.log().warn("event=drc_table_still_halted table={} origin={} parked_rows_applied={} parked_rows_left={} "
                     "reason=\"{}\"",
                     table, st_.origin, applied, h.parked_rows, h.reason);
    return Status::ok();
  }
  impl_.log().info("event=drc_table_resumed table={} origin={} parked_rows_applied={}", table, st_.origin, applied);
  st_.halted.erase({st_.origin, table});
  return Status::ok();
}

Status Applier::park(const RowChange& c, const OutboxEntry& e, const std::string& reason) {
  auto layout = layout_.find(c.table);
  auto n = impl_.writer->run(
      "INSERT INTO _ezone_parked(origin, tbl, seq, hlc, change, reason, layout) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
      {Value(st_.origin), Value(c.table), Value(static_cast<int64_t>(e.seq)), Value(static_cast<int64_t>(e.hlc)),
       Value(Blob{encode_changes({c})}), Value(reason),
       layout == layout_.end() ? Value(std::monostate{}) : Value(layout->second)});
  if (!n) return n.status();
  auto& h = st_.halted[{st_.origin, c.table}];
  if (h.table.empty()) h = HaltedTable{st_.origin, c.table, reason, 0};
  ++h.parked_rows;
  ++st_.report.parked;
  return Status::ok();
}

const std::string* Applier::skip_reason(const RowChange& c) {
  if (c.pk.size() < 2 || !std::holds_alternative<std::string>(c.pk[1])) return nullptr;
  const std::string& table = std::get<std::string>(c.pk[1]);
  auto h = st_.halted.find({st_.origin, table});
  if (h != st_.halted.end()) {
    skip_ = "replication of '" + table + "' from ezone '" + st_.origin + "' is halted: " + h->second.reason;
    return &skip_;
  }
  auto t = impl_.tables.find(table);
  if (t == impl_.tables.end() || columns_of(t->second, table).map.identity) return nullptr;
  skip_ = "the columns of '" + table + "' here differ from ezone '" + st_.origin +
          "''s (a migration has run at one of them): rows are compared only between equal columns";
  return &skip_;
}

Status Applier::write(const TableInfo& t, const RowChange& c, const MappedColumns& m) {
  if (m.map.identity || c.op == ChangeOp::remove) return impl_.write_row(t, c.op, c.op == ChangeOp::upsert ? c.row : c.pk);
  return impl_.write_mapped_row(m, c.row);
}

Status Dal::Impl::write_row(const TableInfo& t, ChangeOp op, const Row& values) {
  const bool upsert = op == ChangeOp::upsert;
  auto stmt = cached_sql(upsert ? t.upsert_sql : t.delete_sql);
  if (!stmt) return stmt.status();
  Stmt& q = *stmt.value();
  if (Status s = q.bind_all_static(values); !s) return s;
  auto done = q.step();
  q.reset();
  return done.status();
}

Status Applier::record_conflict(const TableInfo& t, const RowChange& c, const std::string& key,
                                const data::RowVersion& winner, ChangeOp winner_op, const std::string& winner_row,
                                const data::RowVersion& loser, ChangeOp loser_op, const std::string& loser_row) {
  auto n = impl_.writer->run(
      "INSERT OR IGNORE INTO _ezone_conflicts(tbl, pk, key, winner_origin, winner_hlc, winner_op, winner_row, "
      "loser_origin, loser_hlc, loser_op, loser_row, detected_wall_ms) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
      {Value(t.spec->name), Value(row_text(c.pk)), Value(Blob{key}), Value(winner.origin),
       Value(static_cast<int64_t>(winner.hlc)), Value(std::string(change_op_name(winner_op))), Value(winner_row),
       Value(loser.origin), Value(static_cast<int64_t>(loser.hlc)), Value(std::string(change_op_name(loser_op))),
       Value(loser_row), Value(hlc_physical_ms(impl_.clock.last()))});
  if (!n) return n.status();
  ++st_.report.conflicts;
  if (impl_.metrics) {
    impl_.metrics->counter("ezone_drc_conflicts_total", "Concurrent row versions resolved by policy; the loser is kept.",
                           {{"table", t.spec->name}}).inc();
  }
  return Status::ok();
}

Status Applier::apply_change(const PreparedChange& pc, const data::RowVersion& incoming, const MappedColumns& m) {
  const RowChange& c = pc.change;
  const TableInfo& t = *pc.table;
  const size_t columns = m.map.identity ? t.columns.size() : m.map.local_of.size();
  if (c.row.size() != columns || c.pk.size() != t.pk_cols.size()) {
    return Status(Errc::parse_error, "a change to '" + c.table + "' has " + std::to_string(c.row.size()) +
                                         " columns; ezone '" + st_.origin + "''s table has " + std::to_string(columns));
  }
  // prepare_change read the shard at this site's position of the column.
  int64_t shard = pc.shard;
  if (!m.map.identity) {
    const int64_t* s = m.map.shard_at < 0 ? nullptr : std::get_if<int64_t>(&c.row[static_cast<size_t>(m.map.shard_at)]);
    shard = s ? *s : -1;
  }
  const std::string& key = pc.key;
  // The common case in one statement: this site holds exactly the version
  // the change replaced, and now records the change's version instead.
  auto advanced = impl_.advance_row_version(c.table, key, c.base, incoming, c.op == ChangeOp::remove);
  if (!advanced) return advanced.status();
  if (advanced.value()) {
    if (Status s = write(t, c, m); !s) return s;
    ++st_.report.rows;
    impl_.add_feed_event(c.table, pc.pk_text, c.op, shard, incoming.origin, incoming.hlc);
    return Status::ok();
  }
  auto local = impl_.row_version(c.table, key, nullptr);
  if (!local) return local.status();
  if (local.value() == incoming) return Status::ok();  // already here (a parked row replayed twice)
  const bool successor = local.value() == c.base;
  const bool incoming_wins = successor || data::wins(t.spec->conflict, incoming, local.value());
  if (!successor) {
    const std::string incoming_text = c.op == ChangeOp::upsert ? row_text(c.row) : "";
    auto row = impl_.read_row(t, c.pk);
    if (!row) return row.status();
    const ChangeOp local_op = row.value().empty() ? ChangeOp::remove : ChangeOp::upsert;
    const std::string local_text = row.value().empty() ? "" : row_text(row.value());
    Status s = incoming_wins
                   ? record_conflict(t, c, key, incoming, c.op, incoming_text, local.value(), local_op, local_text)
                   : record_conflict(t, c, key, local.value(), local_op, local_text, incoming, c.op, incoming_text);
    if (!s) return s;
    if (Status q = impl_.on_conflict(t, key, pc.pk_text, shard, incoming, local.value()); !q) return q;
  }
  if (!incoming_wins) return Status::ok();
  if (Status s = write(t, c, m); !s) return s;
  if (Status s = impl_.set_row_version(c.table, key, incoming, c.op == ChangeOp::remove); !s) return s;
  ++st_.report.rows;
  impl_.add_feed_event(c.table, pc.pk_text, c.op, shard, incoming.origin, incoming.hlc);
  return Status::ok();
}

Status Applier::run(const PreparedBatch& prepared) {
  auto origin = read_cursor();
  if (!origin) return origin.status();
  const OutboxBatch& batch = *prepared.batch;
  // Checked again here, in the transaction that moves the cursor: the
  // puller's check (Dal::check_origin) read it before earlier batches of its
  // pipeline committed.
  const TimelineVerdict verdict = check_timeline(st_.origin, origin.value(), batch);
  if (verdict.kind == TimelineVerdict::Kind::refuse) return impl_.refuse_timeline(st_.origin, verdict);
  const bool restart = verdict.kind == TimelineVerdict::Kind::restart;
  if (restart) {
    if (Status s = impl_.reset_cursor(batch, origin.value()); !s) return s;
    st_.report.restarted = true;
  }
  const uint64_t cursor = restart ? 0 : origin.value().seq;
  st_.report.cursor = cursor;
  layout_ = batch.fingerprints;
  mapped_.clear();
  for (const auto& [name, columns] : batch.fingerprints) {
    if (Status s = evaluate(name); !s) return s;
  }
  const OutboxEntry* last = nullptr;
  for (const PreparedEntry& pe : prepared.entries) {
    const OutboxEntry& e = *pe.entry;
    if (e.seq <= cursor) continue;  // applied before: a repeated pull
    const uint64_t expected = last ? last->seq + 1 : cursor + 1;
    // A batch pulled after the old cursor: only the reset counts, and the
    // next pull starts from 0.
    if (restart && !last && e.seq != expected) break;
    if (e.seq != expected) {
      return Status(Errc::conflict, "the batch from ezone '" + st_.origin + "' starts at seq " + std::to_string(e.seq) +
                                        " but the cursor expects " + std::to_string(expected));
    }
    impl_.clock.observe(e.hlc);
    const data::RowVersion incoming{e.hlc, st_.origin};
    for (const PreparedChange& pc : pe.changes) {
      const RowChange& c = pc.change;
      auto h = st_.halted.find({st_.origin, c.table});
      Status s = c.table == kQuarantineTable    ? impl_.apply_quarantine_record(c)
                 : c.table == kCheckTable    ? impl_.apply_check_record(c, st_.origin, skip_reason(c))
                 : c.table == kRepairTable   ? impl_.apply_repair_image(c, incoming, skip_reason(c))
                 : c.table == kSchemaTable   ? on_schema_record(c)
                 : h != st_.halted.end() ? park(c, e, h->second.reason)
                 : !pc.table           ? park(c, e, "table '" + c.table + "' is not replicated here")
                                       : apply_change(pc, incoming, columns_of(*pc.table, c.table));
      if (!s) return s;
    }
    ++st_.report.entries;
    last = &e;
  }
  if (!last) return Status::ok();
  st_.report.cursor = last->seq;
  return write_cursor(*last, batch.lineage != 0 ? batch.lineage : origin.value().lineage);
}

Status Dal::Impl::prepare(PreparedBatch& out) const {
  const OutboxBatch& batch = *out.batch;
  if (batch.origin == config.ezone) {
    return Status(Errc::invalid_argument, "a batch from this ezone's own outbox ('" + batch.origin + "') is never applied here");
  }
  out.entries.reserve(batch.entries.size());
  for (const OutboxEntry& e : batch.entries) {
    const Status checked = check_entry(e);
    auto changes = checked ? decode_changes(e.body) : Result<std::vector<RowChange>>(checked);
    if (!changes) {
      return Status(Errc::parse_error, "entry " + std::to_string(e.seq) + " from '" + batch.origin + "': " +
                                           changes.status().message());
    }
    PreparedEntry pe;
    pe.entry = &e;
    pe.changes.reserve(changes.value().size());
    for (RowChange& c : changes.value()) pe.changes.push_back(prepare_change(std::move(c)));
    out.entries.push_back(std::move(pe));
  }
  return Status::ok();
}

PreparedChange Dal::Impl::prepare_change(RowChange change) const {
  PreparedChange p;
  auto it = tables.find(change.table);
  p.table = it == tables.end() ? nullptr : &it->second;
  p.key = encode_key(change.pk);
  p.pk_text = row_text(change.pk);
  if (p.table) p.shard = row_shard(*p.table, change.row);
  p.change = std::move(change);
  return p;
}

Result<OriginCursor> Dal::Impl::read_origin_cursor(Db& db, const std::string& origin) {
  auto rows = db.query("SELECT seq, hlc, lineage FROM _ezone_cursor WHERE origin=?1", {Value(origin)});
  if (!rows) return rows.status();
  OriginCursor c;
  if (rows.value().empty()) return c;
  const Row& r = rows.value()[0];
  c.exists = true;
  c.seq = static_cast<uint64_t>(std::get<int64_t>(r[0]));
  c.hlc = static_cast<HlcTime>(std::get<int64_t>(r[1]));
  c.lineage = static_cast<uint64_t>(std::get<int64_t>(r[2]));
  return c;
}

Status Dal::Impl::refuse_timeline(const std::string& origin, const TimelineVerdict& verdict) {
  if (metrics) {
    metrics->counter("ezone_drc_refused_batches_total",
                     "Peer batches refused because the origin's outbox is not the one this site's cursor counts in "
                     "(reason: replaced, behind, forked); replication from it is halted until it is re-seeded",
                     {{"origin", origin}, {"reason", verdict.reason}})
        .inc();
  }
  return Status(Errc::conflict, verdict.message);
}

Status Dal::Impl::reset_cursor(const OutboxBatch& batch, const OriginCursor& old) {
  auto n = writer->run(
      "INSERT OR REPLACE INTO _ezone_cursor(origin, seq, hlc, wall_ms, applied_wall_ms, lineage) "
      "VALUES(?1, 0, 0, 0, ?2, ?3)",
      {Value(batch.origin), Value(hlc_physical_ms(clock.now())), Value(static_cast<int64_t>(batch.lineage))});
  if (!n) return n.status();
  log().warn("event=drc_origin_reseeded origin={} lineage={} replaces={} old_cursor={}: its new outbox is followed "
             "from seq 1",
             batch.origin, batch.lineage, batch.replaces, old.seq);
  return Status::ok();
}

void Dal::Impl::count_apply_error(const std::string& origin, const Status& error) {
  if (metrics) {
    metrics->counter("ezone_drc_apply_errors_total", "Peer batches that could not be applied (nothing of them was).",
                     {{"origin", origin}}).inc();
  }
  log().warn("event=drc_apply_failed origin={} error=\"{}\"", origin, error.message());
}

Status Dal::Impl::commit_apply(Status s, uint64_t feed_before, uint64_t seq_before) {
  if (s) s = write_feed();
  if (s) s = control("COMMIT");
  if (s) return s;
  control("ROLLBACK");
  forget_feed(feed_before);
  next_seq = seq_before;
  return s;
}

Status Dal::Impl::resume_fitting_parked() {
  std::vector<std::pair<std::string, std::string>> keys;
  for (const auto& [key, h] : halted) keys.push_back(key);
  for (const auto& [origin, table] : keys) {
    auto t = tables.find(table);
    if (t == tables.end()) continue;
    ApplyState state{origin, halted, {}};
    const uint64_t feed_before = next_feed_id, seq_before = next_seq;
    Status s = control("BEGIN IMMEDIATE");
    if (s) s = Applier(*this, state).resume_at_open(t->second);
    s = commit_apply(s, feed_before, seq_before);
    if (!s) {
      log().warn("event=drc_resume_failed table={} origin={} error=\"{}\": its rows wait for the origin's next batch",
                 table, origin, s.message());
      continue;
    }
    group_feed.clear();  // written; nobody subscribes before the open ends
    halted = std::move(state.halted);
  }
  return Status::ok();
}

// Several peers' batches queued together commit in one transaction (one
// fsync), each inside its own savepoint: a batch that fails is rolled back
// alone, with its feed events, and the others still commit. Queued batches
// are common: a puller keeps a few in its pipeline, and at a steady trickle
// each pull brings only what one group commit at the origin wrote.
void Dal::Impl::run_applies(std::vector<std::unique_ptr<Job>>& jobs) {
  std::vector<Result<ApplyReport>> results;
  results.reserve(jobs.size());
  HaltedMap halted_now;
  {
    std::lock_guard<std::mutex> lock(halted_mutex);
    halted_now = halted;
  }
  // A quarantine decided while applying appends a control record to this
  // site's outbox: its sequence is given back with a rolled-back batch.
  const uint64_t feed_before = next_feed_id, seq_before = next_seq;
  uint64_t entries = 0;
  Status s = control("BEGIN IMMEDIATE");
  for (size_t i = 0; s && i < jobs.size(); ++i) {
    const PreparedBatch& prepared = *jobs[i]->batch;
    ApplyState state{prepared.batch->origin, halted_now, {}};
    const size_t feed_mark = group_feed.size();
    const uint64_t seq_mark = next_seq;
    Status one = control("SAVEPOINT apply");
    if (one) {
      Applier applier(*this, state);
      one = applier.run(prepared);
    }
    if (one) {
      control("RELEASE apply");
      halted_now = std::move(state.halted);
      entries += state.report.entries;
      results.emplace_back(state.report);
    } else {
      control("ROLLBACK TO apply");
      control("RELEASE apply");
      drop_feed_events(feed_mark);
      next_seq = seq_mark;
      count_apply_error(prepared.batch->origin, one);
      results.emplace_back(one);
    }
  }
  if (s && config.fault_apply_pause_ms > 0 && entries > 0) {
    log().warn("event=fault_hook dal: fault hook: pausing {} ms inside an apply of {} entries", config.fault_apply_pause_ms,
               entries);
    std::this_thread::sleep_for(std::chrono::milliseconds(config.fault_apply_pause_ms));
  }
  s = commit_apply(s, feed_before, seq_before);
  if (!s) {
    results.resize(jobs.size(), s);
    for (size_t i = 0; i < jobs.size(); ++i) {
      if (!results[i]) continue;
      results[i] = s;  // nothing of the transaction is durable
      count_apply_error(jobs[i]->batch->batch->origin, s);
    }
  } else {
    {
      std::lock_guard<std::mutex> lock(halted_mutex);
      halted = std::move(halted_now);
    }
    for (size_t i = 0; metrics && i < jobs.size(); ++i) {
      if (!results[i]) continue;
      metrics->counter("ezone_drc_rows_applied_total", "Rows applied from peers.",
                       {{"origin", jobs[i]->batch->batch->origin}})
          .inc(results[i].value().rows);
    }
  }
  quarantine_after_commit(s.is_ok());
  publish_commit(acked_epoch.load());
  for (size_t i = 0; i < jobs.size(); ++i) jobs[i]->apply_done(std::move(results[i]));
}

}  // namespace ezone::dal
