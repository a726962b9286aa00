// Changes to a table's columns while the cluster runs (Migration in
// zones/data/table_schema.hpp, zones/data/column_map.hpp).
//
// At open, each table's migrations that this database has not run are run,
// each in its own transaction with its record in _ezone_migrations. Then
// each replicated table's columns are compared with the last ones recorded
// in _ezone_schemas: when they differ (a migration, or a change made by hand
// while the node was down), the new ones are recorded from the next outbox
// seq on, and a schema record goes into the outbox at that seq. So a peer
// reads every entry with the columns it was written with: a batch names the
// columns at its first entry (fingerprint_at), and the schema record
// switches them (dal_apply.cpp). Without it, entries written before a
// change and shipped after it would not match the columns the batch names,
// and replication from the site would stop at them.
#include <spdlog/spdlog.h>

#include "storage/dal/dal_impl.hpp"

namespace ezone::dal {

const char* const kSchemaTable = "_ezone_schema";

namespace {

using Kind = data::Migration::Kind;

std::string describe(const data::Migration& m) {
  return std::string(data::migration_kind_name(m.kind)) + " '" + (m.definition.empty() ? m.name : m.definition) + "'";
}

// Whether the migration's column or index is there now; conflict when an
// index of that name belongs to another table.
Result<bool> exists(Db& db, const std::string& table, const data::Migration& m) {
  if (m.kind == Kind::add_column || m.kind == Kind::drop_column) {
    auto rows = db.query("SELECT 1 FROM pragma_table_info(?1) WHERE name=?2", {Value(table), Value(m.name)});
    if (!rows) return rows.status();
    return !rows.value().empty();
  }
  auto rows = db.query("SELECT tbl_name FROM sqlite_master WHERE type='index' AND name=?1", {Value(m.name)});
  if (!rows) return rows.status();
  if (rows.value().empty()) return false;
  const std::string* of = std::get_if<std::string>(&rows.value()[0][0]);
  if (!of || *of != table) {
    return Status(Errc::conflict, "index '" + m.name + "' belongs to table '" + (of ? *of : "?") + "'");
  }
  return true;
}

std::string migration_sql(const std::string& table, const data::Migration& m) {
  switch (m.kind) {
    case Kind::add_column: return "ALTER TABLE " + table + " ADD COLUMN " + m.definition;
    case Kind::drop_column: return "ALTER TABLE " + table + " DROP COLUMN " + m.name;
    case Kind::create_index: return "CREATE INDEX " + m.name + " ON " + table + m.definition.substr(m.name.size());
    case Kind::drop_index: return "DROP INDEX " + m.name;
  }
  return "";
}

}  // namespace

Status Dal::Impl::run_migrations(const data::TableSpec& spec) {
  auto done = writer->query("SELECT n, kind, col FROM _ezone_migrations WHERE tbl=?1 ORDER BY n", {Value(spec.name)});
  if (!done) return done.status();
  const std::string where = "DAL '" + config.path + "': table '" + spec.name + "': ";
  const std::string fix = ". Fix: migrations are append-only; restore the list this database ran in the schema file";
  for (const Row& r : done.value()) {
    const auto n = static_cast<size_t>(std::get<int64_t>(r[0]));
    const std::string ran = std::get<std::string>(r[1]) + " '" + std::get<std::string>(r[2]) + "'";
    if (n >= spec.migrations.size()) {
      return Status(Errc::invalid_argument, where + "this database ran migration[" + std::to_string(n) + "] (" + ran +
                                                "), which the schema file does not list" + fix);
    }
    const data::Migration& m = spec.migrations[n];
    if (data::migration_kind_name(m.kind) != std::get<std::string>(r[1]) || m.name != std::get<std::string>(r[2])) {
      return Status(Errc::invalid_argument, where + "this database ran migration[" + std::to_string(n) + "] as " + ran +
                                                ", but the schema file's migration[" + std::to_string(n) + "] is " +
                                                describe(m) + fix);
    }
  }
  for (size_t n = done.value().size(); n < spec.migrations.size(); ++n) {
    const data::Migration& m = spec.migrations[n];
    const bool adds = m.kind == Kind::add_column || m.kind == Kind::create_index;
    if (Status s = writer->exec("BEGIN IMMEDIATE"); !s) return s;
    auto there = exists(*writer, spec.name, m);
    Status s = there.status();
    // A column or index already there (made by the ddl, or by hand) is not
    // added twice; one already gone is not dropped twice.
    const bool needed = there.ok() && there.value() != adds;
    if (s && needed) s = writer->exec(migration_sql(spec.name, m));
    if (s) {
      s = writer->run("INSERT INTO _ezone_migrations(tbl, n, kind, col, definition, wall_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                      {Value(spec.name), Value(static_cast<int64_t>(n)), Value(std::string(data::migration_kind_name(m.kind))),
                       Value(m.name), Value(m.definition), Value(hlc_physical_ms(clock.now()))})
              .status();
    }
    if (s) s = writer->exec("COMMIT");
    if (!s) {
      writer->exec("ROLLBACK");
      return Status(Errc::invalid_argument, where + "migration[" + std::to_string(n) + "] (" + describe(m) +
                                                ") failed: " + s.message() + ". Fix: correct it in the schema file");
    }
    log().info("event=dal_migration ezone={} table={} n={} migration=\"{}\" result={}", config.ezone, spec.name, n,
               describe(m), needed ? "applied" : "already_so");
  }
  return Status::ok();
}

Status Dal::Impl::record_schema(const TableInfo& t) {
  const std::string& name = t.spec->name;
  auto rows = writer->query("SELECT from_seq, fingerprint FROM _ezone_schemas WHERE tbl=?1 ORDER BY from_seq", {Value(name)});
  if (!rows) return rows.status();
  auto& log_of = schema_log[name];
  for (const Row& r : rows.value()) {
    log_of.emplace_back(static_cast<uint64_t>(std::get<int64_t>(r[0])), std::get<std::string>(r[1]));
  }
  if (!log_of.empty() && log_of.back().second == t.fingerprint) return Status::ok();
  // The first record of a table (a new table, or a database from before
  // these records) covers the whole outbox.
  uint64_t from = 0;
  const uint64_t seq_before = next_seq;
  Status s = writer->exec("BEGIN IMMEDIATE");
  if (s && !log_of.empty()) {
    RowChange c;
    c.table = kSchemaTable;
    c.pk = {Value(name)};
    c.row = {Value(name), Value(log_of.back().second), Value(t.fingerprint)};
    auto seq = append_outbox(clock.now(), -1, {c});
    s = seq.status();
    if (seq) from = seq.value();
  }
  if (s) {
    s = writer->run("INSERT INTO _ezone_schemas(tbl, from_seq, fingerprint, wall_ms) VALUES(?1, ?2, ?3, ?4)",
                    {Value(name), Value(static_cast<int64_t>(from)), Value(t.fingerprint),
                     Value(hlc_physical_ms(clock.now()))})
            .status();
  }
  if (s) s = writer->exec("COMMIT");
  if (!s) {
    writer->exec("ROLLBACK");
    next_seq = seq_before;
    return Status(s.code(), "DAL '" + config.path + "': recording the columns of table '" + name + "': " + s.message());
  }
  if (!log_of.empty()) {
    log().info("event=dal_schema_changed ezone={} table={} from_seq={} old=\"{}\" new=\"{}\"", config.ezone, name, from,
               log_of.back().second, t.fingerprint);
  }
  log_of.emplace_back(from, t.fingerprint);
  return Status::ok();
}

const std::string& Dal::Impl::fingerprint_at(const TableInfo& t, uint64_t seq) const {
  auto it = schema_log.find(t.spec->name);
  if (it == schema_log.end()) return t.fingerprint;
  const std::string* fp = &t.fingerprint;
  for (auto r = it->second.rbegin(); r != it->second.rend(); ++r) {
    if (r->first <= seq) return r->second;
    fp = &r->second;  // older than every record: the first one's
  }
  return *fp;
}

std::shared_ptr<const MappedColumns> Dal::Impl::mapped_columns(const TableInfo& t, const std::string& origin,
                                                                const std::string& fingerprint) {
  static const auto kIdentity = [] {
    auto m = std::make_shared<MappedColumns>();
    m->map.identity = true;
    return std::shared_ptr<const MappedColumns>(std::move(m));
  }();
  if (fingerprint == t.fingerprint) return kIdentity;
  auto key = std::make_tuple(t.spec->name, origin, fingerprint);
  if (auto it = column_maps.find(key); it != column_maps.end()) return it->second;
  // Peers send few distinct fingerprints; a peer sending endless ones must
  // not grow this without bound.
  if (column_maps.size() >= 256) column_maps.clear();
  auto m = std::make_shared<MappedColumns>();
  column_maps[key] = m;
  auto theirs = data::parse_fingerprint(fingerprint);
  auto map = theirs ? data::map_columns(t.spec->name, origin, t.defs, t.dropped, t.spec->shard_column, theirs.value())
                    : Result<data::ColumnMap>(Status(Errc::invalid_argument, "table '" + t.spec->name + "' from ezone '" +
                                                                               origin + "': " + theirs.status().message()));
  if (!map) {
    m->fit = map.status();
    return m;
  }
  m->map = std::move(map).value();
  if (m->map.identity) return m;
  std::vector<std::string> set, cols, values, where;
  for (size_t i = 0; i < m->map.local_of.size(); ++i) {
    const int here = m->map.local_of[i];
    if (here < 0) continue;
    const std::string param = "?" + std::to_string(i + 1);
    const data::ColumnDef& c = t.defs[static_cast<size_t>(here)];
    (c.pk > 0 ? where : set).push_back(c.name + "=" + param);
    cols.push_back(c.name);
    values.push_back(param);
  }
  // OR REPLACE, as the insert: a row that takes another's unique value
  // replaces it, as at the origin's every other site.
  if (!set.empty()) m->update_sql = "UPDATE OR REPLACE " + t.spec->name + " SET " + join(set, ",") + " WHERE " + join(where, " AND ");
  m->insert_sql = std::string("INSERT OR ") + (set.empty() ? "IGNORE" : "REPLACE") + " INTO " + t.spec->name + "(" +
                  join(cols, ",") + ") VALUES(" + join(values, ",") + ")";
  return m;
}

Status Dal::Impl::write_mapped_row(const MappedColumns& m, const Row& values) {
  auto run = [&](const std::string& sql) -> Status {
    auto stmt = cached_sql(sql);
    if (!stmt) return stmt.status();
    Stmt& q = *stmt.value();
    q.reset();
    for (size_t i = 0; i < m.map.local_of.size(); ++i) {
      if (m.map.local_of[i] < 0) continue;
      if (Status s = q.bind_static(static_cast<int>(i + 1), values[i]); !s) return s;
    }
    auto done = q.step();
    q.reset();
    return done.status();
  };
  // An update leaves the columns the origin does not send as they are; a
  // new row gets their defaults.
  if (!m.update_sql.empty()) {
    if (Status s = run(m.update_sql); !s) return s;
    if (sqlite3_changes(writer->get()) > 0) return Status::ok();
  }
  return run(m.insert_sql);
}

Result<uint64_t> Dal::discard_parked(const std::string& origin, const std::string& table, bool force) {
  const bool replicated = impl_->tables.count(table) > 0;
  if (replicated && !force) {
    return Status(Errc::conflict,
                  "table '" + table + "' is replicated here: its rows from '" + origin + "' wait until they fit its "
                  "columns (ezctl schema says what differs); run that migration, or force the discard and lose them here");
  }
  uint64_t deleted = 0;
  auto job = std::make_unique<Job>();
  job->kind = Job::Kind::maintenance;
  job->maintenance = [this, &origin, &table, &deleted]() -> Status {
    auto n = impl_->writer->run("DELETE FROM _ezone_parked WHERE origin=?1 AND tbl=?2", {Value(origin), Value(table)});
    if (!n) return n.status();
    deleted = static_cast<uint64_t>(n.value());
    // On the writer, so no apply holds a copy of the map meanwhile.
    std::lock_guard<std::mutex> lock(impl_->halted_mutex);
    impl_->halted.erase({origin, table});
    return Status::ok();
  };
  if (Status s = impl_->run_queued(std::move(job)); !s) return s;
  impl_->log().warn("event=drc_parked_discarded origin={} table={} rows={} replicated_here={}", origin, table, deleted,
                    replicated);
  if (impl_->metrics) {
    impl_->metrics->counter("ezone_drc_parked_discarded_total",
                            "Parked rows an operator discarded (a table this site no longer replicates, or forced).",
                            {{"origin", origin}, {"table", table}})
        .inc(deleted);
  }
  return deleted;
}

}  // namespace ezone::dal
