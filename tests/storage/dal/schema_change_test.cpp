// Rolling schema changes (Migration in zones/data/table_schema.hpp,
// zones/data/column_map.hpp, storage/dal/dal_schema.cpp): one site runs a
// migration before the other, and replication goes on with nothing lost,
// nothing half-applied and nothing stuck.
#include <gtest/gtest.h>

#include "zones/data/column_map.hpp"
#include "storage/dal/sqlite_db.hpp"
#include "tests/storage/dal/dal_fixture.hpp"

namespace ezone::test {
namespace {

using dal::Value;

data::Migration add(const std::string& definition) {
  data::Migration m;
  m.kind = data::Migration::Kind::add_column;
  m.name = definition.substr(0, definition.find(' '));
  m.definition = definition;
  return m;
}

data::Migration drop(const std::string& column) {
  data::Migration m;
  m.kind = data::Migration::Kind::drop_column;
  m.name = column;
  return m;
}

uint64_t checksum(Site& s, const std::string& table) {
  auto c = s.dal().checksum(table);
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  return c.ok() ? c.value() : 0;
}

// The column's value in order `id`: "<none>" without the row, "NULL".
std::string column(Site& s, const std::string& name, int64_t id) {
  auto rows = s.dal().query("SELECT " + name + " FROM orders WHERE id=?1", {Value(id)});
  EXPECT_TRUE(rows.ok()) << rows.status().to_string();
  if (!rows.ok() || rows.value().empty()) return "<none>";
  const Value& v = rows.value()[0][0];
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* t = std::get_if<std::string>(&v)) return *t;
  return "NULL";
}

Status write(Site& s, ShardId shard, const std::string& sql) {
  return s.dal().run({shard, s.epoch()}, [&](dal::Tx& tx) { return tx.exec(sql).status(); }).status;
}

// Runs SQL on the site's database behind its DAL (the site is closed).
void by_hand(Site& s, const std::string& sql) {
  auto db = dal::Db::open(s.path(), false);
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  ASSERT_TRUE(db.value()->exec(sql).is_ok()) << sql;
}

int64_t ran_migrations(Site& s) {
  auto db = dal::Db::open(s.path(), true);
  EXPECT_TRUE(db.ok());
  auto rows = db.value()->query("SELECT COUNT(*) FROM _ezone_migrations WHERE tbl='orders'");
  EXPECT_TRUE(rows.ok());
  return rows.ok() ? std::get<int64_t>(rows.value()[0][0]) : -1;
}

// A table the test schema lacks, for sites that add it first.
data::TableSpec riders_spec() {
  data::TableSpec riders;
  riders.name = "riders";
  riders.kind = data::TableKind::sharding;
  riders.shard_column = "shard";
  riders.ddl = "CREATE TABLE riders(id INTEGER PRIMARY KEY, shard INTEGER NOT NULL, name TEXT NOT NULL)";
  return riders;
}

std::string halted_reason(Site& s) {
  auto halted = s.dal().halted();
  return halted.empty() ? "" : halted[0].table + ": " + halted[0].reason;
}

TEST(SchemaChangeTest, AColumnAddedAtOneSiteFirstFlowsBothWaysAndItsRowsWaitForTheOthersMigration) {
  Site bj("bj"), sh("sh");
  ASSERT_TRUE(bj.put_order(1, 11, "created").ok());
  ASSERT_TRUE(sh.put_order(2, 31, "created").ok());
  pull(bj, sh);
  pull(sh, bj);
  ASSERT_TRUE(bj.put_order(3, 11, "created").ok());  // written before bj's migration, shipped after it
  bj.orders_migrations = {add("tip INTEGER NOT NULL DEFAULT 0")};
  bj.open();
  EXPECT_EQ(column(bj, "tip", 1), "0");
  ASSERT_TRUE(write(bj, 11, "INSERT INTO orders(id, shard, state, tip) VALUES(4, 11, 'created', 7)").is_ok());
  ASSERT_TRUE(write(bj, 11, "UPDATE orders SET tip=3 WHERE id=1").is_ok());
  ASSERT_TRUE(sh.put_order(5, 31, "created").ok());
  ASSERT_TRUE(sh.put_order(2, 31, "accepted").ok());

  // sh applies bj's entry from before the change as it was written, and
  // keeps the rows that carry the new column until it has one.
  dal::ApplyReport r = pull(bj, sh);
  EXPECT_EQ(column(sh, "state", 3), "created");
  EXPECT_EQ(r.parked, 2u);
  EXPECT_EQ(column(sh, "state", 4), "<none>");
  EXPECT_EQ(column(sh, "amount", 1), "0");
  const std::string why = halted_reason(sh);
  EXPECT_NE(why.find("orders: table 'orders' from ezone 'bj': it has column 'tip INTEGER', which this site lacks"),
            std::string::npos) << why;
  // bj's outbox: 1 order 1, 2 order 3, 3 the schema record, 4 order 4, 5
  // order 1 again. sh's cursor is at 5, but a switchover must not count
  // the parked 4 and 5 as applied.
  EXPECT_EQ(sh.dal().cursor("bj").value(), 5u);
  EXPECT_EQ(sh.dal().applied_through("bj").value(), 3u);
  // bj takes sh's rows, which do not carry it: a new row gets its default.
  r = pull(sh, bj);
  EXPECT_EQ(r.parked, 0u);
  EXPECT_EQ(r.rows, 2u);
  EXPECT_TRUE(bj.dal().halted().empty());
  EXPECT_EQ(column(bj, "state", 5), "created");
  EXPECT_EQ(column(bj, "tip", 5), "0");
  EXPECT_EQ(column(bj, "state", 2), "accepted");

  // sh runs the same migration: the waiting rows are applied at its open,
  // before bj writes again.
  sh.orders_migrations = bj.orders_migrations;
  sh.open();
  EXPECT_TRUE(sh.dal().halted().empty()) << halted_reason(sh);
  EXPECT_EQ(sh.dal().applied_through("bj").value(), 5u);
  EXPECT_EQ(column(sh, "tip", 4), "7");
  EXPECT_EQ(column(sh, "tip", 1), "3");
  EXPECT_EQ(checksum(bj, "orders"), checksum(sh, "orders"));
  // Then both write the column, and nothing is a conflict.
  ASSERT_TRUE(write(sh, 31, "UPDATE orders SET tip=5 WHERE id=2").is_ok());
  ASSERT_TRUE(write(bj, 11, "UPDATE orders SET tip=4 WHERE id=3").is_ok());
  r = pull(sh, bj);
  const dal::ApplyReport back = pull(bj, sh);
  EXPECT_EQ(r.parked + back.parked, 0u);
  EXPECT_EQ(r.conflicts + back.conflicts, 0u);
  EXPECT_EQ(column(bj, "tip", 2), "5");
  EXPECT_EQ(column(sh, "tip", 3), "4");
  EXPECT_EQ(checksum(bj, "orders"), checksum(sh, "orders"));
  EXPECT_TRUE(bj.dal().halted().empty());
  EXPECT_TRUE(sh.dal().halted().empty());
}

TEST(SchemaChangeTest, AColumnDroppedAtOneSiteFirstIsLeftAloneThereAndIgnoredHere) {
  const std::string with_note =
      "CREATE TABLE orders(id INTEGER PRIMARY KEY, shard INTEGER NOT NULL, state TEXT NOT NULL, "
      "amount INTEGER NOT NULL DEFAULT 0, note TEXT)";
  Site bj("bj", with_note), sh("sh", with_note);
  ASSERT_TRUE(write(bj, 11, "INSERT INTO orders(id, shard, state, note) VALUES(1, 11, 'created', 'ring twice')").is_ok());
  ASSERT_TRUE(write(sh, 31, "INSERT INTO orders(id, shard, state, note) VALUES(2, 31, 'created', 'gate b')").is_ok());
  pull(bj, sh);
  pull(sh, bj);
  bj.orders_migrations = {drop("note")};
  bj.open(with_note);
  EXPECT_EQ(bj.dal().query("SELECT note FROM orders", {}).ok(), false);  // gone at bj
  ASSERT_TRUE(bj.put_order(1, 11, "accepted").ok());
  ASSERT_TRUE(bj.put_order(3, 11, "created").ok());
  ASSERT_TRUE(write(sh, 31, "UPDATE orders SET state='accepted', note='gate c' WHERE id=2").is_ok());

  dal::ApplyReport r = pull(bj, sh);
  EXPECT_EQ(r.parked, 0u);
  EXPECT_EQ(r.rows, 2u);
  EXPECT_EQ(column(sh, "state", 1), "accepted");
  EXPECT_EQ(column(sh, "note", 1), "ring twice");  // an update from bj leaves what bj no longer has
  EXPECT_EQ(column(sh, "note", 3), "NULL");
  r = pull(sh, bj);
  EXPECT_EQ(r.parked, 0u);
  EXPECT_EQ(column(bj, "state", 2), "accepted");  // its note is dropped at bj

  sh.orders_migrations = {drop("note")};
  sh.open(with_note);
  pull(bj, sh);
  pull(sh, bj);
  EXPECT_TRUE(bj.dal().halted().empty());
  EXPECT_TRUE(sh.dal().halted().empty());
  EXPECT_EQ(checksum(bj, "orders"), checksum(sh, "orders"));
}

TEST(SchemaChangeTest, MigrationsRunOnceAndTheListIsAppendOnly) {
  Site bj("bj");
  bj.orders_migrations = {add("tip INTEGER NOT NULL DEFAULT 0")};
  bj.open();
  bj.open();
  EXPECT_EQ(ran_migrations(bj), 1);

  bj.orders_migrations = {};
  Status s = bj.try_open();
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_NE(s.message().find("table 'orders': this database ran migration[0] (add_column 'tip'), which the schema "
                             "file does not list"),
            std::string::npos) << s.message();
  bj.orders_migrations = {add("bonus INTEGER")};
  s = bj.try_open();
  EXPECT_NE(s.message().find("ran migration[0] as add_column 'tip', but the schema file's migration[0] is add_column "
                             "'bonus INTEGER'"),
            std::string::npos) << s.message();
  // A migration SQLite refuses stops the open and changes nothing.
  bj.orders_migrations = {add("tip INTEGER NOT NULL DEFAULT 0"), add("code TEXT UNIQUE")};
  s = bj.try_open();
  EXPECT_NE(s.message().find("migration[1] (add_column 'code TEXT UNIQUE') failed: "), std::string::npos)
      << s.message();
  EXPECT_EQ(ran_migrations(bj), 1);
  bj.orders_migrations = {add("tip INTEGER NOT NULL DEFAULT 0"), drop("tip"), drop("tip")};
  bj.open();  // a column already gone is not dropped twice
  EXPECT_EQ(ran_migrations(bj), 3);
  EXPECT_FALSE(bj.dal().query("SELECT tip FROM orders", {}).ok());

  // A ddl that already has the column (a site created after the change).
  const std::string with_tip =
      "CREATE TABLE orders(id INTEGER PRIMARY KEY, shard INTEGER NOT NULL, state TEXT NOT NULL, "
      "amount INTEGER NOT NULL DEFAULT 0, tip INTEGER NOT NULL DEFAULT 0)";
  Site sh("sh", with_tip);
  sh.orders_migrations = {add("tip INTEGER NOT NULL DEFAULT 0")};
  sh.open(with_tip);
  EXPECT_EQ(ran_migrations(sh), 1);
}

TEST(SchemaChangeTest, IndexesAreCreatedAndDroppedAtEachSiteWithoutAnythingToReplicate) {
  Site bj("bj");
  ASSERT_TRUE(bj.put_order(1, 11, "created").ok());
  const uint64_t head = bj.dal().outbox_head();
  data::Migration index;
  index.kind = data::Migration::Kind::create_index;
  index.name = "orders_by_state";
  index.definition = "orders_by_state (state, amount DESC)";
  bj.orders_migrations = {index};
  bj.open();
  auto plan = bj.dal().query("EXPLAIN QUERY PLAN SELECT id FROM orders WHERE state='created'", {});
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  EXPECT_NE(std::get<std::string>(plan.value()[0][3]).find("INDEX orders_by_state"), std::string::npos);
  EXPECT_EQ(bj.dal().outbox_head(), head);  // the columns did not change: no schema record
  data::Migration drop_it;
  drop_it.kind = data::Migration::Kind::drop_index;
  drop_it.name = "orders_by_state";
  bj.orders_migrations = {index, drop_it};
  bj.open();
  plan = bj.dal().query("EXPLAIN QUERY PLAN SELECT id FROM orders WHERE state='created'", {});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(std::get<std::string>(plan.value()[0][3]).find("orders_by_state"), std::string::npos);
  EXPECT_EQ(ran_migrations(bj), 2);
  // An index of that name on another table is not this table's to make or drop.
  bj.close();
  ASSERT_NO_FATAL_FAILURE(by_hand(bj, "CREATE INDEX users_by_name ON users(name)"));
  data::Migration clash = index;
  clash.name = "users_by_name";
  clash.definition = "users_by_name (state)";
  bj.orders_migrations = {index, drop_it, clash};
  const Status s = bj.try_open();
  EXPECT_NE(s.message().find("migration[2] (create_index 'users_by_name (state)') failed: index 'users_by_name' "
                             "belongs to table 'users'"),
            std::string::npos) << s.message();
}

TEST(SchemaChangeTest, AColumnAddedByHandWhileTheNodeWasDownDoesNotStopReplication) {
  Site bj("bj"), sh("sh");
  ASSERT_TRUE(bj.put_order(1, 11, "created").ok());
  bj.close();
  ASSERT_NO_FATAL_FAILURE(by_hand(bj, "ALTER TABLE orders ADD COLUMN x INTEGER"));
  bj.open();
  ASSERT_TRUE(write(bj, 11, "INSERT INTO orders(id, shard, state, x) VALUES(2, 11, 'created', 9)").is_ok());
  dal::ApplyReport r = pull(bj, sh);
  EXPECT_EQ(column(sh, "state", 1), "created");  // with the columns it was written with
  EXPECT_EQ(r.parked, 1u);
  EXPECT_NE(halted_reason(sh).find("'x INTEGER'"), std::string::npos) << halted_reason(sh);
  sh.close();
  ASSERT_NO_FATAL_FAILURE(by_hand(sh, "ALTER TABLE orders ADD COLUMN x INTEGER"));
  sh.open();
  EXPECT_TRUE(sh.dal().halted().empty()) << halted_reason(sh);
  EXPECT_EQ(column(sh, "x", 2), "9");
  EXPECT_EQ(checksum(bj, "orders"), checksum(sh, "orders"));
}

TEST(SchemaChangeTest, ParkedRowsResumeInOrderOnlyAsFarAsTheyFit) {
  Site bj("bj"), sh("sh");
  bj.orders_migrations = {add("a INTEGER")};
  bj.open();
  ASSERT_TRUE(write(bj, 11, "INSERT INTO orders(id, shard, state, a) VALUES(1, 11, 'created', 1)").is_ok());
  bj.orders_migrations = {add("a INTEGER"), add("b TEXT")};
  bj.open();
  ASSERT_TRUE(write(bj, 11, "INSERT INTO orders(id, shard, state, a, b) VALUES(2, 11, 'created', 2, 'two')").is_ok());
  ASSERT_TRUE(write(bj, 11, "UPDATE orders SET a=11 WHERE id=1").is_ok());
  EXPECT_EQ(pull(bj, sh).parked, 3u);

  sh.orders_migrations = {add("a INTEGER")};
  sh.open();
  EXPECT_EQ(column(sh, "a", 1), "1");  // the first fits now
  EXPECT_EQ(column(sh, "state", 2), "<none>");  // the next carries b: it and the rest wait
  auto halted = sh.dal().halted();
  ASSERT_EQ(halted.size(), 1u);
  EXPECT_EQ(halted[0].parked_rows, 2u);
  EXPECT_NE(halted[0].reason.find("'b TEXT'"), std::string::npos) << halted[0].reason;

  sh.orders_migrations = {add("a INTEGER"), add("b TEXT")};
  sh.open();
  EXPECT_TRUE(sh.dal().halted().empty()) << halted_reason(sh);
  EXPECT_EQ(column(sh, "a", 1), "11");
  EXPECT_EQ(column(sh, "b", 2), "two");
  EXPECT_EQ(checksum(bj, "orders"), checksum(sh, "orders"));
}

TEST(SchemaChangeTest, ATableAddedAtOneSiteFirstWaitsAtTheOtherUntilItsSchemaHasIt) {
  Site bj("bj"), sh("sh");
  bj.more_tables = {riders_spec()};
  bj.open();
  ASSERT_TRUE(write(bj, 11, "INSERT INTO riders(id, shard, name) VALUES(1, 11, 'wang')").is_ok());
  ASSERT_TRUE(bj.put_order(1, 11, "created").ok());
  const dal::ApplyReport r = pull(bj, sh);
  EXPECT_EQ(r.parked, 1u);
  EXPECT_EQ(column(sh, "state", 1), "created");  // the other tables go on
  EXPECT_NE(halted_reason(sh).find("riders: table 'riders' from ezone 'bj' is not a replicated table here"),
            std::string::npos) << halted_reason(sh);
  // Rows of a table sh does not have hold nothing it serves: they do not
  // hold back its watermark.
  EXPECT_EQ(sh.dal().applied_through("bj").value(), sh.dal().cursor("bj").value());
  sh.more_tables = {riders_spec()};
  sh.open();
  EXPECT_TRUE(sh.dal().halted().empty()) << halted_reason(sh);
  EXPECT_EQ(checksum(bj, "riders"), checksum(sh, "riders"));
  auto name = sh.dal().query("SELECT name FROM riders WHERE id=1", {});
  ASSERT_TRUE(name.ok() && name.value().size() == 1u);
  EXPECT_EQ(name.value()[0][0], Value(std::string("wang")));
}

TEST(SchemaChangeTest, ParkedRowsOfATableThisSiteDoesNotHaveCanBeDiscarded) {
  Site bj("bj"), sh("sh");
  bj.more_tables = {riders_spec()};
  bj.open();
  for (int64_t id = 1; id <= 3; ++id) {
    ASSERT_TRUE(write(bj, 11, "INSERT INTO riders(id, shard, name) VALUES(" + std::to_string(id) + ", 11, 'r')").is_ok());
  }
  bj.close();
  ASSERT_NO_FATAL_FAILURE(by_hand(bj, "ALTER TABLE orders ADD COLUMN code TEXT"));
  bj.open();
  ASSERT_TRUE(write(bj, 11, "INSERT INTO orders(id, shard, state, code) VALUES(1, 11, 'created', 'c')").is_ok());
  EXPECT_EQ(pull(bj, sh).parked, 4u);
  EXPECT_EQ(sh.dal().halted().size(), 2u);

  // A table sh replicates is not discarded without force: its rows wait.
  auto refused = sh.dal().discard_parked("bj", "orders", false);
  EXPECT_EQ(refused.status().code(), Errc::conflict);
  EXPECT_NE(refused.status().message().find("table 'orders' is replicated here"), std::string::npos);
  auto riders_gone = sh.dal().discard_parked("bj", "riders", false);
  ASSERT_TRUE(riders_gone.ok()) << riders_gone.status().to_string();
  EXPECT_EQ(riders_gone.value(), 3u);
  ASSERT_EQ(sh.dal().halted().size(), 1u);
  EXPECT_EQ(sh.dal().halted()[0].table, "orders");
  EXPECT_EQ(sh.metrics().counter("ezone_drc_parked_discarded_total", "", {{"origin", "bj"}, {"table", "riders"}}).value(),
            3u);
  auto forced = sh.dal().discard_parked("bj", "orders", true);
  ASSERT_TRUE(forced.ok());
  EXPECT_EQ(forced.value(), 1u);
  EXPECT_TRUE(sh.dal().halted().empty());
  sh.open();  // durable: nothing parked comes back
  EXPECT_TRUE(sh.dal().halted().empty());
  EXPECT_EQ(column(sh, "state", 1), "<none>");
}

TEST(SchemaChangeTest, AMalformedSchemaRecordIsRefusedAndNonsenseColumnsHaltTheTable) {
  Site sh("sh");
  dal::RowChange bad;
  bad.table = "_ezone_schema";
  bad.pk = {Value(std::string("orders"))};
  bad.row = {Value(int64_t{1})};
  dal::OutboxBatch batch;
  batch.origin = "bj";
  batch.head_seq = 1;
  batch.entries.push_back(dal::OutboxEntry{1, 5, -1, 0, dal::encode_changes({bad})});
  // The rows after it could not be read without it: the batch is refused.
  auto r = sh.dal().apply(batch);
  EXPECT_EQ(r.status().code(), Errc::parse_error) << r.status().to_string();
  EXPECT_EQ(sh.dal().cursor("bj").value(), 0u);
  EXPECT_EQ(sh.metrics().counter("ezone_drc_apply_errors_total", "", {{"origin", "bj"}}).value(), 1u);

  // Well formed, but columns that mean nothing: the table halts, and its
  // rows wait.
  dal::RowChange odd = bad;
  odd.row = {Value(std::string("orders")), Value(std::string()), Value(std::string("not a fingerprint"))};
  dal::RowChange order;
  order.table = "orders";
  order.pk = {Value(int64_t{7})};
  order.row = {Value(int64_t{7}), Value(int64_t{11}), Value(std::string("created")), Value(int64_t{0})};
  batch.head_seq = 2;
  batch.entries = {dal::OutboxEntry{1, 5, -1, 0, dal::encode_changes({odd})},
                   dal::OutboxEntry{2, 6, 11, 0, dal::encode_changes({order})}};
  r = sh.dal().apply(batch);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r.value().parked, 1u);
  EXPECT_EQ(sh.dal().cursor("bj").value(), 2u);
  EXPECT_NE(halted_reason(sh).find("'not a fingerprint' of the schema fingerprint is malformed"), std::string::npos)
      << halted_reason(sh);
}

// ---- the column map alone ----

std::vector<data::ColumnDef> columns(const std::string& fingerprint) {
  auto c = data::parse_fingerprint(fingerprint);
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  return c.ok() ? c.value() : std::vector<data::ColumnDef>{};
}

std::string unfit(const std::vector<data::ColumnDef>& local, const std::string& origin,
                  const std::set<std::string>& dropped = {}) {
  auto m = data::map_columns("orders", "bj", local, dropped, "shard", columns(origin));
  return m.ok() ? "fits" : m.status().message();
}

TEST(ColumnMapTest, RowsFitByColumnNameOrSayWhyNot) {
  const std::string here = "id INTEGER 1;shard INTEGER 0;state TEXT 0";
  const auto local = columns(here);
  auto same = data::map_columns("orders", "bj", local, {}, "shard", columns(here));
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same.value().identity);
  EXPECT_EQ(data::fingerprint_of(local), here);

  // Another order, a narrower origin: mapped by name.
  auto moved = data::map_columns("orders", "bj", local, {}, "shard", columns("shard integer 0;id INTEGER 1"));
  ASSERT_TRUE(moved.ok()) << moved.status().to_string();
  EXPECT_FALSE(moved.value().identity);
  EXPECT_EQ(moved.value().local_of, (std::vector<int>{1, 0}));
  EXPECT_EQ(moved.value().shard_at, 0);

  auto dropped = data::map_columns("orders", "bj", local, {"note"}, "shard", columns(here + ";note TEXT 0"));
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(dropped.value().local_of, (std::vector<int>{0, 1, 2, -1}));

  EXPECT_NE(unfit(local, here + ";note TEXT 0").find("it has column 'note TEXT', which this site lacks"),
            std::string::npos);
  EXPECT_NE(unfit(local, "id INTEGER 1;shard INTEGER 0;state BLOB 0").find("column 'state' is BLOB there and TEXT here"),
            std::string::npos);
  EXPECT_NE(unfit(local, "id TEXT 1;shard INTEGER 0;state TEXT 0").find("primary key (id TEXT)"), std::string::npos);
  EXPECT_NE(unfit(local, "id INTEGER 1;state TEXT 0").find("do not carry the shard column 'shard'"), std::string::npos);
  auto strict = local;
  strict[2].fillable = false;  // NOT NULL without a default
  EXPECT_NE(unfit(strict, "id INTEGER 1;shard INTEGER 0").find("column 'state', which is NOT NULL without a default"),
            std::string::npos);
  EXPECT_EQ(unfit(local, "id INTEGER 1;shard INTEGER 0"), "fits");

  for (const char* bad : {"id", "id INTEGER", " INTEGER 1", "id INTEGER x", "id INTEGER 1;;"}) {
    EXPECT_EQ(data::parse_fingerprint(bad).status().code(), Errc::parse_error) << bad;
  }
}

}  // namespace
}  // namespace ezone::test
