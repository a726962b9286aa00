// The DAL's on-disk format (storage/dal/dal_format.cpp): order-preserving
// row-version keys, the change feed stored as one record per transaction,
// and the conversion of a format-1 database when it is opened.
#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "storage/dal/sqlite_db.hpp"
#include "tests/storage/dal/dal_fixture.hpp"

namespace ezone::test {
namespace {

using dal::Value;

// Format 1's key: tag, 4-byte little-endian length, little-endian bytes.
std::string key_v1(int64_t id) {
  std::string out(1, '1');
  const uint32_t n = 8;
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out.append(reinterpret_cast<const char*>(&id), sizeof id);
  return out;
}

// The internal tables as the previous build created them.
constexpr const char* kFormat1Ddl = R"sql(
CREATE TABLE _ezone_outbox(seq INTEGER PRIMARY KEY, hlc INTEGER NOT NULL, shard INTEGER NOT NULL,
  wall_ms INTEGER NOT NULL, body BLOB NOT NULL);
CREATE TABLE _ezone_cursor(origin TEXT PRIMARY KEY, seq INTEGER NOT NULL, hlc INTEGER NOT NULL,
  wall_ms INTEGER NOT NULL, applied_wall_ms INTEGER NOT NULL);
CREATE TABLE _ezone_rowver(tbl TEXT NOT NULL, key BLOB NOT NULL, hlc INTEGER NOT NULL, origin TEXT NOT NULL,
  deleted INTEGER NOT NULL, PRIMARY KEY(tbl, key)) WITHOUT ROWID;
CREATE TABLE _ezone_conflicts(id INTEGER PRIMARY KEY, tbl TEXT NOT NULL, pk TEXT NOT NULL, key BLOB NOT NULL,
  winner_origin TEXT NOT NULL, winner_hlc INTEGER NOT NULL, winner_op TEXT NOT NULL,
  winner_row TEXT NOT NULL, loser_origin TEXT NOT NULL, loser_hlc INTEGER NOT NULL,
  loser_op TEXT NOT NULL, loser_row TEXT NOT NULL, detected_wall_ms INTEGER NOT NULL,
  UNIQUE(tbl, key, loser_origin, loser_hlc));
CREATE TABLE _ezone_feed(id INTEGER PRIMARY KEY, tbl TEXT NOT NULL, pk TEXT NOT NULL, op TEXT NOT NULL,
  shard INTEGER NOT NULL, origin TEXT NOT NULL, hlc INTEGER NOT NULL);
CREATE TABLE _ezone_parked(id INTEGER PRIMARY KEY, origin TEXT NOT NULL, tbl TEXT NOT NULL, seq INTEGER NOT NULL,
  hlc INTEGER NOT NULL, change BLOB NOT NULL, reason TEXT NOT NULL);
CREATE TABLE orders(id INTEGER PRIMARY KEY, shard INTEGER NOT NULL, state TEXT NOT NULL, amount INTEGER NOT NULL DEFAULT 0);
)sql";

// sh's database as format 1 left it: order 5 (written by bj at hlc 100), its
// version, two feed events and a conflict on it.
void write_format1_site(const std::string& path) {
  auto db = dal::Db::open(path, false);
  ASSERT_TRUE(db.ok());
  dal::Db& d = *db.value();
  ASSERT_TRUE(d.exec("PRAGMA journal_mode=WAL;").is_ok());
  ASSERT_TRUE(d.exec(kFormat1Ddl).is_ok());
  ASSERT_TRUE(d.run("INSERT INTO orders VALUES(5, 11, 'old', 0)").ok());
  ASSERT_TRUE(d.run("INSERT INTO _ezone_rowver VALUES('orders', ?1, 100, 'bj', 0)", {Value(dal::Blob{key_v1(5)})}).ok());
  for (int id : {1, 2}) {
    ASSERT_TRUE(d.run("INSERT INTO _ezone_feed VALUES(?1, 'orders', '[5]', 'upsert', 11, 'bj', ?2)",
                      {Value(int64_t{id}), Value(int64_t{90 + id * 5})})
                    .ok());
  }
  ASSERT_TRUE(d.run("INSERT INTO _ezone_conflicts(tbl, pk, key, winner_origin, winner_hlc, winner_op, winner_row, "
                    "loser_origin, loser_hlc, loser_op, loser_row, detected_wall_ms) "
                    "VALUES('orders', '[5]', ?1, 'bj', 100, 'upsert', '[5,11,\"old\",0]', 'sh', 99, 'upsert', "
                    "'[5,11,\"lost\",0]', 1)",
                    {Value(dal::Blob{key_v1(5)})})
                  .ok());
}

TEST(DalFormatTest, IntegerKeysSortInNumericOrder) {
  const std::vector<int64_t> ids{INT64_MIN, -300, -1, 0, 1, 255, 256, 70000, INT64_MAX};
  for (size_t i = 1; i < ids.size(); ++i) {
    EXPECT_LT(dal::encode_key({Value(ids[i - 1])}), dal::encode_key({Value(ids[i])})) << ids[i];
  }
  // Still unambiguous across types and lengths.
  EXPECT_NE(dal::encode_key({Value(std::string("a")), Value(std::string("b"))}),
            dal::encode_key({Value(std::string("ab")), Value(std::string(""))}));
  EXPECT_NE(dal::encode_key({Value(std::string("x"))}), dal::encode_key({Value(dal::Blob{"x"})}));
}

TEST(DalFormatTest, AFormat1DatabaseIsConvertedWhenOpenedAndGoesOnReplicating) {
  TempDir dir;
  write_format1_site(dir.path() + "/sh.db");
  Site sh("sh", "", dir.path());
  // The feed's events keep their ids, and new ones follow them.
  auto feed = sh.dal().feed_since(0, {}, 100);
  ASSERT_TRUE(feed.ok()) << feed.status().to_string();
  ASSERT_EQ(feed.value().size(), 2u);
  EXPECT_EQ(feed.value()[0].id, 1u);
  EXPECT_EQ(feed.value()[1].id, 2u);
  EXPECT_EQ(feed.value()[1].hlc, 100u);
  EXPECT_EQ(feed.value()[1].origin, "bj");
  // The conflict is still listed, under the new key.
  auto conflicts = sh.dal().conflicts();
  ASSERT_TRUE(conflicts.ok());
  ASSERT_EQ(conflicts.value().size(), 1u);
  EXPECT_EQ(conflicts.value()[0].loser_row, "[5,11,\"lost\",0]");
  auto keys = sh.dal().query("SELECT key FROM _ezone_conflicts UNION ALL SELECT key FROM _ezone_rowver");
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys.value().size(), 2u);
  for (const auto& r : keys.value()) EXPECT_EQ(std::get<dal::Blob>(r[0]).bytes, dal::encode_key({Value(int64_t{5})}));

  // bj's next change to order 5 names (100, bj) as its base: sh must find
  // that version under the converted key and apply a plain successor, not
  // record a conflict.
  Site bj("bj");
  ASSERT_TRUE(bj.put_order(5, 11, "new").ok());
  auto batch = bj.dal().read_outbox(0, 10, 1 << 20);
  ASSERT_TRUE(batch.ok());
  auto changes = dal::decode_changes(batch.value().entries.at(0).body);
  ASSERT_TRUE(changes.ok());
  changes.value().at(0).base = data::RowVersion{100, "bj"};
  batch.value().entries[0].body = dal::encode_changes(changes.value());
  auto report = sh.dal().apply(batch.value());
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(report.value().rows, 1u);
  EXPECT_EQ(report.value().conflicts, 0u);
  auto after = sh.dal().feed_since(2, {}, 100);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after.value().size(), 1u);
  EXPECT_EQ(after.value()[0].id, 3u);

  // Reopened, it is format 2 already and stays as it is.
  sh.open();
  auto again = sh.dal().feed_since(0, {}, 100);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value().size(), 3u);
}

TEST(DalFormatTest, FeedIdsStayDenseAcrossRecordsAndSinceResumesInsideOne) {
  Site bj("bj");
  auto many = bj.dal().run({11, 1}, [](dal::Tx& tx) -> Status {
    for (int64_t id = 1; id <= 100; ++id) {
      auto r = tx.exec("INSERT INTO orders(id, shard, state) VALUES(?1, 11, 'x')", {Value(id)});
      if (!r) return r.status();
    }
    return Status::ok();
  });
  ASSERT_TRUE(many.ok()) << many.status.to_string();
  ASSERT_TRUE(bj.put_order(101, 11, "y").ok());
  auto all = bj.dal().feed_since(0, {}, 1000);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all.value().size(), 101u);
  std::set<std::string> first_tx;  // a transaction's rows come in the session's order
  for (size_t i = 0; i < all.value().size(); ++i) {
    EXPECT_EQ(all.value()[i].id, i + 1);
    if (i < 100) first_tx.insert(all.value()[i].pk);
  }
  EXPECT_EQ(first_tx.size(), 100u);
  EXPECT_EQ(first_tx.count("[1]") + first_tx.count("[100]"), 2u);
  EXPECT_EQ(all.value()[100].pk, "[101]");
  // Since an id in the middle of the 100-row transaction's record.
  auto page = bj.dal().feed_since(50, {"orders"}, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page.value().size(), 10u);
  EXPECT_EQ(page.value().front().id, 51u);
  EXPECT_EQ(page.value().back().id, 60u);
  auto tail = bj.dal().feed_since(99, {}, 1000);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail.value().size(), 2u);
  EXPECT_EQ(tail.value()[1].pk, "[101]");
  // A refused request adds no event and no id.
  auto refused = bj.dal().run({11, 1}, [](dal::Tx& tx) {
    return tx.exec("INSERT INTO orders(id, shard, state) VALUES(500, 31, 'x')").status();
  });
  ASSERT_FALSE(refused.ok());
  ASSERT_TRUE(bj.put_order(102, 11, "z").ok());
  auto last = bj.dal().feed_since(101, {}, 10);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last.value().size(), 1u);
  EXPECT_EQ(last.value()[0].id, 102u);
  EXPECT_EQ(last.value()[0].pk, "[102]");
}

TEST(DalFormatTest, TheFeedIsTrimmedToItsBoundKeepingTheNewestEvents) {
  TempDir dir;
  ManualClock clock(1'000'000);
  HybridClock hlc(clock);
  dal::DalConfig config;
  config.ezone = "bj";
  config.path = dir.path() + "/bj.db";
  config.synchronous_full = false;
  config.feed_rows_max = 50;
  dal::WriteGate gate{routes_at(1), true, ""};
  auto dal = dal::Dal::open(config, test_schema(), [gate] { return gate; }, hlc);
  ASSERT_TRUE(dal.ok()) << dal.status().to_string();
  // Each commit is one feed record; a trim runs every 1024 records.
  constexpr int64_t kCommits = 1100;
  for (int64_t id = 1; id <= kCommits; ++id) {
    auto out = dal.value()->run({11, 1}, [id](dal::Tx& tx) {
      return tx.exec("INSERT INTO orders(id, shard, state) VALUES(?1, 11, 'x')", {Value(id)}).status();
    });
    ASSERT_TRUE(out.ok()) << out.status.to_string();
  }
  auto feed = dal.value()->feed_since(0, {}, 10000);
  ASSERT_TRUE(feed.ok());
  EXPECT_GE(feed.value().size(), 50u);
  EXPECT_LT(feed.value().size(), static_cast<size_t>(kCommits));
  EXPECT_EQ(feed.value().back().id, static_cast<uint64_t>(kCommits));
  for (size_t i = 1; i < feed.value().size(); ++i) EXPECT_EQ(feed.value()[i].id, feed.value()[i - 1].id + 1);
}

}  // namespace
}  // namespace ezone::test
