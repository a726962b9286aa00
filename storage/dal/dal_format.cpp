// The DAL's own tables and their on-disk format.
//
// Format 2 (this build):
//   - row-version and conflict keys are encode_key()'s order-preserving
//     bytes (format 1 stored integers little-endian, so consecutive ids
//     landed on random pages of the row-version B-tree);
//   - the change feed is one record per transaction (feed_record.hpp), not
//     one row per event.
// _ezone_quarantine, _ezone_checks, _ezone_migrations and _ezone_schemas
// were added within format 2: they are created when missing, and a build
// without them ignores them. So was _ezone_parked.layout (the origin's
// columns of a parked row; NULL: as the origin's batches name them now). So were the lineage records: the
// database's own in _ezone_meta ('lineage', and 'replaces' after a re-seed;
// see OutboxBatch in change_record.hpp), made when missing, and each
// origin's in _ezone_cursor.lineage (added when missing; 0 until the origin's
// next batch names it).
// A format-1 database (no _ezone_meta) is converted in place, in one
// transaction, when it is opened; a database of a newer format is refused.
#include <cstring>
#include <tuple>

#include <spdlog/spdlog.h>

#include "storage/dal/dal_impl.hpp"
#include "storage/dal/feed_record.hpp"

namespace ezone::dal {

namespace {

constexpr int64_t kFormat = 2;

// The DAL's own tables. They live in the same database as the business
// tables, so one transaction covers a write, its capture and a cursor.
constexpr const char* kInternalDdl = R"sql(
CREATE TABLE IF NOT EXISTS _ezone_meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS _ezone_outbox(
  seq INTEGER PRIMARY KEY, hlc INTEGER NOT NULL, shard INTEGER NOT NULL,
  wall_ms INTEGER NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS _ezone_cursor(
  origin TEXT PRIMARY KEY, seq INTEGER NOT NULL, hlc INTEGER NOT NULL,
  wall_ms INTEGER NOT NULL, applied_wall_ms INTEGER NOT NULL, lineage INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS _ezone_rowver(
  tbl TEXT NOT NULL, key BLOB NOT NULL, hlc INTEGER NOT NULL, origin TEXT NOT NULL,
  deleted INTEGER NOT NULL, PRIMARY KEY(tbl, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS _ezone_conflicts(
  id INTEGER PRIMARY KEY, tbl TEXT NOT NULL, pk TEXT NOT NULL, key BLOB NOT NULL,
  winner_origin TEXT NOT NULL, winner_hlc INTEGER NOT NULL, winner_op TEXT NOT NULL,
  winner_row TEXT NOT NULL, loser_origin TEXT NOT NULL, loser_hlc INTEGER NOT NULL,
  loser_op TEXT NOT NULL, loser_row TEXT NOT NULL, detected_wall_ms INTEGER NOT NULL,
  UNIQUE(tbl, key, loser_origin, loser_hlc));
CREATE TABLE IF NOT EXISTS _ezone_quarantine(
  tbl TEXT NOT NULL, key BLOB NOT NULL, pk TEXT NOT NULL, shard INTEGER NOT NULL,
  q_hlc INTEGER NOT NULL, r_hlc INTEGER NOT NULL, origins TEXT NOT NULL, since_wall_ms INTEGER NOT NULL,
  released_wall_ms INTEGER NOT NULL, released_by TEXT NOT NULL,
  PRIMARY KEY(tbl, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS _ezone_checks(
  id TEXT NOT NULL, origin TEXT NOT NULL, tbl TEXT NOT NULL, shard INTEGER NOT NULL, chunk INTEGER NOT NULL,
  final INTEGER NOT NULL, after TEXT NOT NULL, upto TEXT NOT NULL, origin_sum INTEGER NOT NULL,
  origin_rows INTEGER NOT NULL, local_sum INTEGER NOT NULL, local_rows INTEGER NOT NULL, result TEXT NOT NULL,
  detail TEXT NOT NULL, wall_ms INTEGER NOT NULL, PRIMARY KEY(id, origin, tbl, shard, chunk)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS _ezone_feed(
  id INTEGER PRIMARY KEY, n INTEGER NOT NULL, events BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS _ezone_parked(
  id INTEGER PRIMARY KEY, origin TEXT NOT NULL, tbl TEXT NOT NULL, seq INTEGER NOT NULL,
  hlc INTEGER NOT NULL, change BLOB NOT NULL, reason TEXT NOT NULL, layout TEXT);
CREATE TABLE IF NOT EXISTS _ezone_migrations(
  tbl TEXT NOT NULL, n INTEGER NOT NULL, kind TEXT NOT NULL, col TEXT NOT NULL, definition TEXT NOT NULL,
  wall_ms INTEGER NOT NULL, PRIMARY KEY(tbl, n)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS _ezone_schemas(
  tbl TEXT NOT NULL, from_seq INTEGER NOT NULL, fingerprint TEXT NOT NULL, wall_ms INTEGER NOT NULL,
  PRIMARY KEY(tbl, from_seq)) WITHOUT ROWID;
)sql";

Result<bool> table_exists(Db& db, const std::string& name) {
  auto rows = db.query("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1", {Value(name)});
  if (!rows) return rows.status();
  return !rows.value().empty();
}

// Format 1's key: per value a type tag ('0' + variant index), a 4-byte
// little-endian length and the bytes (integers and reals little-endian).
Result<Row> decode_key_v1(std::string_view k) {
  Row out;
  size_t i = 0;
  auto bad = [] { return Status(Errc::parse_error, "a format-1 row-version key is malformed"); };
  while (i < k.size()) {
    const int tag = k[i++] - '0';
    uint32_t n = 0;
    if (i + sizeof n > k.size()) return bad();
    std::memcpy(&n, k.data() + i, sizeof n);
    i += sizeof n;
    if (n > k.size() - i) return bad();
    const std::string_view bytes = k.substr(i, n);
    i += n;
    if (tag == 0 && n == 0) {
      out.emplace_back(std::monostate{});
    } else if ((tag == 1 || tag == 2) && n == 8) {
      int64_t v = 0;
      std::memcpy(&v, bytes.data(), 8);
      double d = 0;
      std::memcpy(&d, bytes.data(), 8);
      out.push_back(tag == 1 ? Value(v) : Value(d));
    } else if (tag == 3) {
      out.emplace_back(std::string(bytes));
    } else if (tag == 4) {
      out.emplace_back(Blob{std::string(bytes)});
    } else {
      return bad();
    }
  }
  return out;
}

Result<std::string> rekey(const Value& old_key) {
  const Blob* b = std::get_if<Blob>(&old_key);
  if (!b) return Status(Errc::parse_error, "a format-1 row-version key is not a blob");
  auto pk = decode_key_v1(b->bytes);
  if (!pk) return pk.status();
  return encode_key(pk.value());
}

Status migrate_rowver(Db& db) {
  auto insert = db.prepare("INSERT INTO _ezone_rowver(tbl, key, hlc, origin, deleted) VALUES(?1, ?2, ?3, ?4, ?5)");
  if (!insert) return insert.status();
  auto read = db.prepare("SELECT tbl, key, hlc, origin, deleted FROM _ezone_rowver_v1");
  if (!read) return read.status();
  for (;;) {
    auto more = read.value().step();
    if (!more) return more.status();
    if (!more.value()) return Status::ok();
    Row r = read.value().row();
    auto key = rekey(r[1]);
    if (!key) return key.status();
    r[1] = Blob{std::move(key.value())};
    if (Status s = insert.value().bind_all(r); !s) return s;
    if (auto done = insert.value().step(); !done) return done.status();
  }
}

Status migrate_conflicts(Db& db) {
  auto rows = db.query("SELECT id, key FROM _ezone_conflicts", {}, SIZE_MAX);
  if (!rows) return rows.status();
  for (const Row& r : rows.value()) {
    auto key = rekey(r[1]);
    if (!key) return key.status();
    auto n = db.run("UPDATE _ezone_conflicts SET key=?2 WHERE id=?1", {r[0], Value(Blob{std::move(key.value())})});
    if (!n) return n.status();
  }
  return Status::ok();
}

// Runs of consecutive event ids become records of up to kFeedRecordEventsMax.
Status migrate_feed(Db& db) {
  auto read = db.prepare("SELECT id, tbl, pk, op, shard, origin, hlc FROM _ezone_feed_v1 ORDER BY id");
  if (!read) return read.status();
  std::vector<FeedEvent> run;
  auto flush = [&]() -> Status {
    if (run.empty()) return Status::ok();
    auto n = db.run("INSERT INTO _ezone_feed(id, n, events) VALUES(?1, ?2, ?3)",
                    {Value(static_cast<int64_t>(run.front().id)), Value(static_cast<int64_t>(run.size())),
                     Value(Blob{encode_feed_events(run, 0, run.size())})});
    run.clear();
    return n.status();
  };
  for (;;) {
    auto more = read.value().step();
    if (!more) return more.status();
    if (!more.value()) return flush();
    const Row r = read.value().row();
    FeedEvent e;
    e.id = static_cast<uint64_t>(std::get<int64_t>(r[0]));
    e.table = std::get<std::string>(r[1]);
    e.pk = std::get<std::string>(r[2]);
    e.op = std::get<std::string>(r[3]) == "delete" ? ChangeOp::remove : ChangeOp::upsert;
    e.shard = std::get<int64_t>(r[4]);
    e.origin = std::get<std::string>(r[5]);
    e.hlc = static_cast<HlcTime>(std::get<int64_t>(r[6]));
    if (!run.empty() && (e.id != run.back().id + 1 || run.size() == kFeedRecordEventsMax)) {
      if (Status s = flush(); !s) return s;
    }
    run.push_back(std::move(e));
  }
}

Status migrate_from_v1(Db& db) {
  for (const char* sql : {"ALTER TABLE _ezone_rowver RENAME TO _ezone_rowver_v1",
                          "ALTER TABLE _ezone_feed RENAME TO _ezone_feed_v1"}) {
    if (Status s = db.exec(sql); !s) return s;
  }
  if (Status s = db.exec(kInternalDdl); !s) return s;
  if (Status s = migrate_rowver(db); !s) return s;
  if (Status s = migrate_conflicts(db); !s) return s;
  if (Status s = migrate_feed(db); !s) return s;
  return db.exec("DROP TABLE _ezone_rowver_v1; DROP TABLE _ezone_feed_v1;");
}

Result<bool> column_exists(Db& db, const std::string& table, const std::string& column) {
  auto rows = db.query("SELECT 1 FROM pragma_table_info(?1) WHERE name=?2", {Value(table), Value(column)});
  if (!rows) return rows.status();
  return !rows.value().empty();
}

Result<int64_t> meta_value(Db& db, const char* name) {
  auto rows = db.query("SELECT value FROM _ezone_meta WHERE name=?1", {Value(std::string(name))});
  if (!rows) return rows.status();
  return rows.value().empty() ? int64_t{0} : std::get<int64_t>(rows.value()[0][0]);
}

// Adds the columns format 2 gained after its first build, in the open transaction,
// and reads the database's lineage (making it when missing).
Status setup_lineage(Db& db, uint64_t& lineage, uint64_t& replaces) {
  for (const auto& [table, column, ddl] :
       {std::make_tuple("_ezone_cursor", "lineage", "ALTER TABLE _ezone_cursor ADD COLUMN lineage INTEGER NOT NULL DEFAULT 0"),
        std::make_tuple("_ezone_parked", "layout", "ALTER TABLE _ezone_parked ADD COLUMN layout TEXT")}) {
    auto has = column_exists(db, table, column);
    if (!has) return has.status();
    if (!has.value()) {
      if (Status s = db.exec(ddl); !s) return s;
    }
  }
  auto id = meta_value(db, "lineage");
  if (!id) return id.status();
  if (id.value() == 0) {
    id = static_cast<int64_t>(make_lineage());
    auto n = db.run("INSERT INTO _ezone_meta(name, value) VALUES('lineage', ?1)", {Value(id.value())});
    if (!n) return n.status();
  }
  auto old = meta_value(db, "replaces");
  if (!old) return old.status();
  lineage = static_cast<uint64_t>(id.value());
  replaces = static_cast<uint64_t>(old.value());
  return Status::ok();
}

Result<int64_t> stored_format(Db& db) {
  auto meta = table_exists(db, "_ezone_meta");
  if (!meta) return meta.status();
  if (meta.value()) {
    auto rows = db.query("SELECT value FROM _ezone_meta WHERE name='format'");
    if (!rows) return rows.status();
    if (!rows.value().empty()) return std::get<int64_t>(rows.value()[0][0]);
  }
  auto old = table_exists(db, "_ezone_rowver");  // format 1 had no _ezone_meta
  if (!old) return old.status();
  return old.value() ? int64_t{1} : kFormat;
}

}  // namespace

Status Dal::Impl::setup_internal_tables() {
  auto format = stored_format(*writer);
  if (!format) return format.status();
  if (format.value() > kFormat) {
    return Status(Errc::invalid_argument, "DAL '" + config.path + "': its internal tables are format " +
                                              std::to_string(format.value()) + ", written by a newer build (this one "
                                              "reads up to format " + std::to_string(kFormat) + ")");
  }
  if (Status s = writer->exec("BEGIN IMMEDIATE"); !s) return s;
  Status s = format.value() == 1 ? migrate_from_v1(*writer) : writer->exec(kInternalDdl);
  if (s) {
    auto n = writer->run("INSERT OR REPLACE INTO _ezone_meta(name, value) VALUES('format', ?1)", {Value(kFormat)});
    s = n.status();
  }
  if (s) s = setup_lineage(*writer, lineage, replaces);
  if (s) s = writer->exec("COMMIT");
  if (!s) {
    writer->exec("ROLLBACK");
    return Status(s.code(), "DAL '" + config.path + "': preparing the internal tables (format " +
                                std::to_string(format.value()) + "): " + s.message());
  }
  if (format.value() == 1) {
    log().info("event=dal_format_migrated ezone={} from=1 to={}", config.ezone, kFormat);
  }
  return Status::ok();
}

}  // namespace ezone::dal
