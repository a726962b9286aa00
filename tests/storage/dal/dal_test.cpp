// The DAL rule (DESIGN.md invariant 2) and capture (invariant 3), checked at
// the DAL itself, with no router in front of it.
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <set>
#include <thread>

#include "tests/storage/dal/dal_fixture.hpp"
#include "storage/dal/sqlite_db.hpp"

namespace ezone::test {
namespace {

using dal::Refusal;
using dal::Value;

uint64_t refusals(Site& s, Refusal r) {
  return s.metrics().counter("ezone_dal_refusals_total", "", {{"reason", dal::refusal_name(r)}}).value();
}

int64_t count(Site& s, const std::string& sql) {
  auto rows = s.dal().query(sql);
  EXPECT_TRUE(rows.ok()) << rows.status().to_string();
  return rows.ok() ? std::get<int64_t>(rows.value()[0][0]) : -1;
}

TEST(RowText, ReadsBackWhatItWrote) {
  const dal::Row row{Value(), Value(int64_t{-42}), Value(int64_t{INT64_MAX}), Value(1.5), Value(-2.5e-300),
                     Value(std::string("a \"quoted\" \\ line\nwith\ttabs, commas] and 汉字")),
                     Value(dal::Blob{std::string("\x00\xff'x", 4)}), Value(std::string()), Value(dal::Blob{})};
  const std::string text = dal::row_text(row);
  auto back = dal::parse_row_text(text);
  ASSERT_TRUE(back.ok()) << back.status().to_string() << " in " << text;
  EXPECT_EQ(back.value(), row) << text;
  EXPECT_EQ(dal::parse_row_text("[]").value(), dal::Row{});
  // An integral REAL is written as an integer, and so read back.
  EXPECT_EQ(dal::parse_row_text(dal::row_text({Value(3.0)})).value(), dal::Row{Value(int64_t{3})});
  for (const char* bad : {"", "[", "[1", "[1,]", "[1]x", "[\"open]", "[x'0g']", "[x'0']", "[\"\\q\"]", "[1.2.3]",
                          "[tru]", "[99999999999999999999]", "[\"\\u0041\"]"}) {
    auto r = dal::parse_row_text(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Errc::parse_error) << bad;
    }
  }
}

TEST(DalTest, ACommitWritesTheRowAndItsOutboxEntryTogether) {
  Site bj("bj");
  auto out = bj.put_order(1, 11, "created", 25);
  ASSERT_TRUE(out.ok()) << out.status.to_string();
  EXPECT_EQ(out.outbox_seq, 1u);
  EXPECT_EQ(out.rows, 1);
  EXPECT_EQ(count(bj, "SELECT COUNT(*) FROM orders"), 1);
  EXPECT_EQ(bj.dal().outbox_head(), 1u);
  auto batch = bj.dal().read_outbox(0, 10, 1 << 20);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch.value().entries.size(), 1u);
  EXPECT_EQ(batch.value().entries[0].shard, 11);
  auto changes = dal::decode_changes(batch.value().entries[0].body);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes.value().size(), 1u);
  EXPECT_EQ(changes.value()[0].table, "orders");
  EXPECT_EQ(dal::row_text(changes.value()[0].row), "[1,11,\"created\",25]");
  EXPECT_TRUE(changes.value()[0].base.empty());
}

// Regression (found by fuzzing POST /dal/v1/tx): handler statements run on
// the writer, and one endless query held every write of the site forever.
TEST(DalTest, AStatementOverItsTimeOrBytesIsStoppedAndTheWriterGoesOn) {
  Site bj("bj");
  bj.configure = [](dal::DalConfig& c) {
    c.statement_ms_max = 100;
    c.query_bytes_max = 1 << 20;
  };
  bj.open();
  auto endless = bj.dal().run({11, bj.epoch()}, [](dal::Tx& tx) {
    return tx.query("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c").status();
  });
  ASSERT_FALSE(endless.ok());
  EXPECT_EQ(endless.status.code(), Errc::timeout) << endless.status.to_string();
  EXPECT_EQ(endless.status.message(), "the statement ran longer than 100 ms and was stopped");
  auto large = bj.dal().run({11, bj.epoch()}, [](dal::Tx& tx) {
    return tx.query("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100) "
                    "SELECT randomblob(100000) FROM c").status();
  });
  ASSERT_FALSE(large.ok());
  EXPECT_EQ(large.status.message(), "the query returns more than 1048576 bytes");
  // The next transaction commits, and a statement within both limits runs.
  EXPECT_TRUE(bj.put_order(1, 11, "created").ok());
  auto within = bj.dal().run({11, bj.epoch()}, [](dal::Tx& tx) {
    return tx.query("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 1000) "
                    "SELECT randomblob(100) FROM c").status();
  });
  EXPECT_TRUE(within.ok()) << within.status.to_string();
}

TEST(DalTest, AnUpdateIsCapturedAsTheWholeRowWithItsBaseVersion) {
  Site bj("bj");
  auto first = bj.put_order(1, 11, "created", 25);
  ASSERT_TRUE(first.ok());
  bj.clock().advance_ms(5);
  auto second = bj.dal().run({11, 1}, [](dal::Tx& tx) {
    return tx.exec("UPDATE orders SET state='accepted' WHERE id=1").status();
  });
  ASSERT_TRUE(second.ok()) << second.status.to_string();
  auto batch = bj.dal().read_outbox(1, 10, 1 << 20);
  ASSERT_TRUE(batch.ok());
  auto changes = dal::decode_changes(batch.value().entries.at(0).body);
  ASSERT_TRUE(changes.ok());
  EXPECT_EQ(dal::row_text(changes.value().at(0).row), "[1,11,\"accepted\",25]");
  EXPECT_EQ(changes.value()[0].base, (data::RowVersion{first.hlc, "bj"}));
  EXPECT_GT(second.hlc, first.hlc);
}

TEST(DalTest, CommittedWritesSurviveAReopen) {
  TempDir dir;
  {
    Site bj("bj", "", dir.path());
    ASSERT_TRUE(bj.put_order(1, 11, "created").ok());
    ASSERT_TRUE(bj.put_order(2, 11, "created").ok());
  }
  Site again("bj", "", dir.path());
  EXPECT_EQ(count(again, "SELECT COUNT(*) FROM orders"), 2);
  EXPECT_EQ(again.dal().outbox_head(), 2u);
  auto third = again.put_order(3, 11, "created");
  EXPECT_EQ(third.outbox_seq, 3u);  // the sequence continues, never reused
}

TEST(DalTest, TheClockDoesNotGoBackAcrossARestart) {
  // A restarted process whose wall clock is behind the versions its
  // database holds must still write successors with larger HLCs, or
  // last-writer-wins would keep the older version elsewhere.
  TempDir dir;
  HlcTime before = 0;
  {
    Site bj("bj", "", dir.path());
    bj.clock().advance_ms(60'000);  // this life ran a minute ahead
    auto first = bj.put_order(1, 11, "created");
    ASSERT_TRUE(first.ok());
    before = first.hlc;
  }
  Site again("bj", "", dir.path());  // its clock starts a minute earlier
  auto next = again.put_order(1, 11, "accepted");
  ASSERT_TRUE(next.ok()) << next.status.to_string();
  EXPECT_GT(next.hlc, before);
}

TEST(DalTest, TheClockFloorHoldsAfterATrimAndForPeersVersions) {
  // At open the floor comes from the outbox's last entry and the cursors,
  // not from a scan of every row's version: versions whose outbox entries
  // were trimmed, and versions applied from a peer whose clock ran ahead,
  // must both still hold the clock up.
  TempDir dir;
  HlcTime local = 0, peer = 0;
  {
    Site bj("bj", "", dir.path()), sh("sh", "", dir.path());
    bj.clock().advance_ms(60'000);
    for (int64_t id = 1; id <= 3; ++id) {
      auto w = bj.put_order(id, 11, "created");
      ASSERT_TRUE(w.ok()) << w.status.to_string();
      local = w.hlc;
    }
    auto trimmed = bj.dal().trim_outbox(3);
    ASSERT_TRUE(trimmed.ok()) << trimmed.status().to_string();
    EXPECT_EQ(trimmed.value(), 2u);  // the last entry is always kept
    sh.clock().advance_ms(120'000);
    auto w = sh.put_order(7, 31, "created");
    ASSERT_TRUE(w.ok()) << w.status.to_string();
    peer = w.hlc;
    pull(sh, bj);
  }
  Site again("bj", "", dir.path());  // its clock is two minutes behind sh's versions
  again.set_routes(routes_at(2, "bj", ShardState::active, "bj"));
  auto mine = again.put_order(1, 11, "accepted");
  ASSERT_TRUE(mine.ok()) << mine.status.to_string();
  EXPECT_GT(mine.hlc, local);
  auto theirs = again.dal().run({31, 2}, [](dal::Tx& tx) {
    return tx.exec("UPDATE orders SET state='accepted' WHERE id=7").status();
  });
  ASSERT_TRUE(theirs.ok()) << theirs.status.to_string();
  EXPECT_GT(theirs.hlc, peer);
}

TEST(DalTest, ACheckpointPutsEveryCommitInTheDatabaseFileItself) {
  // After Dal::checkpoint() the database file alone (without its WAL) holds
  // every committed row: what a file-level copy needs.
  TempDir dir;
  Site bj("bj", "", dir.path());
  for (int64_t id = 1; id <= 3; ++id) ASSERT_TRUE(bj.put_order(id, 11, "created").ok());
  ASSERT_TRUE(bj.dal().checkpoint().is_ok());
  const std::string copy = dir.path() + "/copy.db";
  std::filesystem::copy_file(bj.path(), copy);
  auto db = dal::Db::open(copy, false);
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  auto rows = db.value()->query("SELECT COUNT(*) FROM orders");
  ASSERT_TRUE(rows.ok()) << rows.status().to_string();
  EXPECT_EQ(std::get<int64_t>(rows.value()[0][0]), 3);
}

TEST(DalTest, ALeaseLostOrAShardMovedBeforeCommitRollsTheWriteBack) {
  // The process stalls between taking the gate and COMMIT (here: the
  // handler itself makes the lease run out, then moves the shard away).
  Site bj("bj");
  auto lost = bj.dal().run({11, bj.epoch()}, [&](dal::Tx& tx) -> Status {
    Status s = tx.exec("INSERT INTO orders(id, shard, state) VALUES(1, 11, 'created')").status();
    bj.set_lease(false);
    return s;
  });
  EXPECT_EQ(lost.refusal, Refusal::lease_invalid) << lost.status.to_string();
  EXPECT_NE(lost.status.message().find("right before COMMIT"), std::string::npos) << lost.status.message();
  bj.set_lease(true);
  auto moved = bj.dal().run({11, bj.epoch()}, [&](dal::Tx& tx) -> Status {
    Status s = tx.exec("INSERT INTO orders(id, shard, state) VALUES(2, 11, 'created')").status();
    bj.set_routes(routes_at(2, "sh"));  // shard 11 now belongs to sh
    return s;
  });
  EXPECT_NE(moved.refusal, Refusal::none) << moved.status.to_string();
  EXPECT_EQ(count(bj, "SELECT COUNT(*) FROM orders"), 0);
  EXPECT_EQ(bj.dal().outbox_head(), 0u);  // nothing captured, the sequence reused
}

TEST(DalTest, AWriteForAShardOwnedElsewhereIsRefusedAsWrongZone) {
  Site bj("bj");
  auto out = bj.put_order(1, 31, "created");
  EXPECT_EQ(out.refusal, Refusal::wrong_zone);
  EXPECT_NE(out.status.message().find("owned by ezone 'sh'"), std::string::npos) << out.status.message();
  EXPECT_EQ(count(bj, "SELECT COUNT(*) FROM orders"), 0);
  EXPECT_EQ(bj.dal().outbox_head(), 0u);
  EXPECT_EQ(refusals(bj, Refusal::wrong_zone), 1u);
}

TEST(DalTest, AWriteForAWriteForbiddenShardIsRefused) {
  Site sh("sh");
  sh.set_routes(routes_at(2, "bj", ShardState::write_forbidden));
  auto out = sh.dal().run({31, 2}, [](dal::Tx& tx) {
    return tx.exec("INSERT INTO orders(id, shard, state) VALUES(1, 31, 'x')").status();
  });
  EXPECT_EQ(out.refusal, Refusal::write_forbidden);
  EXPECT_EQ(out.status.code(), Errc::unavailable);
  EXPECT_EQ(refusals(sh, Refusal::write_forbidden), 1u);
  EXPECT_EQ(count(sh, "SELECT COUNT(*) FROM orders"), 0);
}

TEST(DalTest, AStaleEpochIsRefusedOnlyWhenTheShardsRouteChanged) {
  Site bj("bj");  // the writer has seen epoch 1 since it opened
  // Epoch 2 moves shard 31 (not 11) to bj.
  bj.set_routes(routes_at(2, "bj", ShardState::active, "bj"));
  ASSERT_TRUE(bj.put_order(1, 31, "x").ok());
  // Routed at epoch 1: shard 11 kept its route, so the write is fine...
  auto same = bj.dal().run({11, 1}, [](dal::Tx& tx) {
    return tx.exec("INSERT INTO orders(id, shard, state) VALUES(2, 11, 'x')").status();
  });
  EXPECT_TRUE(same.ok()) << same.status.to_string();
  // ...but shard 31 was sh's at epoch 1: that request was routed on a stale view.
  auto stale = bj.dal().run({31, 1}, [](dal::Tx& tx) {
    return tx.exec("INSERT INTO orders(id, shard, state) VALUES(3, 31, 'x')").status();
  });
  EXPECT_EQ(stale.refusal, Refusal::stale_epoch) << stale.status.to_string();
  // An epoch this node has not seen is refused too.
  auto ahead = bj.dal().run({11, 9}, [](dal::Tx&) { return Status::ok(); });
  EXPECT_EQ(ahead.refusal, Refusal::epoch_ahead);
  EXPECT_EQ(refusals(bj, Refusal::stale_epoch), 1u);
}

TEST(DalTest, AFencedSiteRefusesEveryReplicatedWrite) {
  Site bj("bj");
  bj.set_lease(false);
  EXPECT_EQ(bj.put_order(1, 11, "x").refusal, Refusal::lease_invalid);
  auto global = bj.dal().run({}, [](dal::Tx& tx) {
    return tx.exec("INSERT INTO users(id, phone, name) VALUES(1, '138', 'li')").status();
  });
  EXPECT_EQ(global.refusal, Refusal::lease_invalid);
  // A local table is this site's own business.
  auto local = bj.dal().run({}, [](dal::Tx& tx) {
    return tx.exec("INSERT INTO scratch(k, v) VALUES('a', 'b')").status();
  });
  EXPECT_TRUE(local.ok()) << local.status.to_string();
  EXPECT_EQ(local.outbox_seq, 0u);
}

TEST(DalTest, AGlobalZoneWriteAwayFromTheMasterIsRefusedNamingTheMaster) {
  Site sh("sh");
  auto out = sh.dal().run({}, [](dal::Tx& tx) {
    return tx.exec("INSERT INTO users(id, phone, name) VALUES(1, '138', 'li')").status();
  });
  EXPECT_EQ(out.refusal, Refusal::not_master);
  EXPECT_NE(out.status.message().find("master is ezone 'bj'"), std::string::npos) << out.status.message();
  Site bj("bj");
  EXPECT_TRUE(bj.dal().run({}, [](dal::Tx& tx) {
    return tx.exec("INSERT INTO users(id, phone, name) VALUES(1, '138', 'li')").status();
  }).ok());
}

TEST(DalTest, ARowWhoseShardDiffersFromTheTransactionsIsRefused) {
  Site sh("sh");
  // The transaction is for shard 31 (sh's), the row claims shard 32 (also sh's).
  auto out = sh.dal().run({31, 1}, [](dal::Tx& tx) {
    return tx.exec("INSERT INTO orders(id, shard, state) VALUES(1, 32, 'x')").status();
  });
  EXPECT_EQ(out.refusal, Refusal::shard_mismatch);
  EXPECT_NE(out.status.message().find("shard=32"), std::string::npos) << out.status.message();
  // Moving a row out of the transaction's shard by UPDATE is refused too.
  ASSERT_TRUE(sh.put_order(2, 31, "x").ok());
  auto move = sh.dal().run({31, 1}, [](dal::Tx& tx) {
    return tx.exec("UPDATE orders SET shard=32 WHERE id=2").status();
  });
  EXPECT_EQ(move.refusal, Refusal::shard_mismatch);
  // A sharding-zone write without a shard at all.
  auto none = sh.dal().run({}, [](dal::Tx& tx) {
    return tx.exec("INSERT INTO orders(id, shard, state) VALUES(3, 31, 'x')").status();
  });
  EXPECT_EQ(none.refusal, Refusal::no_shard);
  EXPECT_EQ(count(sh, "SELECT COUNT(*) FROM orders WHERE shard=32"), 0);
}

TEST(DalTest, DdlAttachInternalTablesAndSeveralStatementsAreRefused) {
  Site bj("bj");
  {
    // A table that exists but that the schema config does not classify.
    auto raw = dal::Db::open(bj.path(), false);
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE(raw.value()->exec("CREATE TABLE unlisted(x INTEGER PRIMARY KEY)").is_ok());
  }
  const std::vector<std::string> refused = {
      "DROP TABLE orders",
      "CREATE TABLE evil(x)",
      "ALTER TABLE orders ADD COLUMN y",
      "ATTACH DATABASE '/tmp/x.db' AS x",
      "PRAGMA synchronous=OFF",
      "DELETE FROM _ezone_outbox",
      "INSERT INTO unlisted VALUES(1)",
      "COMMIT",
      "INSERT INTO orders(id, shard, state) VALUES(1, 11, 'a'); DELETE FROM orders",
      // The exact text of statements the DAL itself runs: refused all the same.
      "RELEASE request",
      "INSERT INTO _ezone_outbox(seq, hlc, shard, wall_ms, body) VALUES(?1, ?2, ?3, ?4, ?5)",
  };
  for (const std::string& sql : refused) {
    auto out = bj.dal().run({11, 1}, [&](dal::Tx& tx) {
      auto r = tx.exec(sql);
      (void)r;  // a handler that ignores the error must not get a commit either
      return Status::ok();
    });
    EXPECT_EQ(out.refusal, Refusal::statement_refused) << sql << ": " << out.status.to_string();
  }
  EXPECT_EQ(refusals(bj, Refusal::statement_refused), refused.size());
  EXPECT_EQ(count(bj, "SELECT COUNT(*) FROM orders"), 0);
  EXPECT_EQ(bj.dal().outbox_head(), 0u);
  // And the DAL still works.
  EXPECT_TRUE(bj.put_order(1, 11, "ok").ok());
}

TEST(DalTest, AFailedRequestRollsBackAloneInsideItsGroup) {
  Site bj("bj");
  std::vector<std::future<dal::TxOutcome>> outs;
  for (int i = 0; i < 200; ++i) {
    outs.push_back(bj.dal().submit({11, 1}, [i](dal::Tx& tx) -> Status {
      auto r = tx.exec("INSERT INTO orders(id, shard, state) VALUES(?1, 11, 'x')", {Value(int64_t{i})});
      if (!r) return r.status();
      if (i % 10 == 3) return Status(Errc::conflict, "handler says no");
      return Status::ok();
    }));
  }
  std::set<uint64_t> seqs;
  int failed = 0;
  for (auto& f : outs) {
    auto out = f.get();
    if (out.ok()) {
      seqs.insert(out.outbox_seq);
    } else {
      EXPECT_EQ(out.status.message(), "handler says no");
      ++failed;
    }
  }
  EXPECT_EQ(failed, 20);
  EXPECT_EQ(count(bj, "SELECT COUNT(*) FROM orders"), 180);
  // Sequences are 1..180 without gaps: a rolled-back request takes none.
  ASSERT_EQ(seqs.size(), 180u);
  EXPECT_EQ(*seqs.begin(), 1u);
  EXPECT_EQ(*seqs.rbegin(), 180u);
}

TEST(DalTest, TheWriterAcknowledgesANewEpochOnlyAfterUsingIt) {
  Site bj("bj");
  ASSERT_TRUE(bj.put_order(1, 11, "x").ok());
  EXPECT_EQ(bj.dal().acknowledged_epoch(), 1);
  bj.set_routes(routes_at(2, "sh"));
  for (int i = 0; i < 500 && bj.dal().acknowledged_epoch() != 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(bj.dal().acknowledged_epoch(), 2);
  EXPECT_EQ(bj.put_order(2, 11, "x").refusal, Refusal::wrong_zone);
}

TEST(DalTest, TheChangeFeedCarriesLocalWritesToSubscribersAndSinceReaders) {
  Site bj("bj");
  std::mutex mu;
  std::vector<dal::FeedEvent> seen;
  bj.dal().subscribe([&](const std::vector<dal::FeedEvent>& events) {
    std::lock_guard<std::mutex> lock(mu);
    seen.insert(seen.end(), events.begin(), events.end());
  });
  ASSERT_TRUE(bj.put_order(1, 11, "x").ok());
  ASSERT_TRUE(bj.dal().run({}, [](dal::Tx& tx) {
    return tx.exec("INSERT INTO users(id, phone, name) VALUES(7, '1', 'a')").status();
  }).ok());
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].table, "orders");
    EXPECT_EQ(seen[0].pk, "[1]");
    EXPECT_EQ(seen[0].shard, 11);
    EXPECT_EQ(seen[0].origin, "bj");
    EXPECT_EQ(seen[1].table, "users");
    EXPECT_EQ(seen[1].shard, -1);
  }
  auto since = bj.dal().feed_since(0, {"users"}, 100);
  ASSERT_TRUE(since.ok());
  ASSERT_EQ(since.value().size(), 1u);
  EXPECT_EQ(since.value()[0].pk, "[7]");
  // A page limit counts matching events only: one users event after two
  // orders events is still found with a limit of 1.
  ASSERT_TRUE(bj.put_order(2, 11, "x").ok());
  auto paged = bj.dal().feed_since(0, {"users"}, 1);
  ASSERT_TRUE(paged.ok());
  ASSERT_EQ(paged.value().size(), 1u);
  EXPECT_EQ(paged.value()[0].table, "users");
  auto after = bj.dal().feed_since(seen[1].id, {"users"}, 100);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after.value().empty());
}

TEST(DalTest, ASchemaWithoutAPrimaryKeyOrShardColumnIsRefusedAtOpen) {
  TempDir dir;
  dal::DalConfig config;
  config.ezone = "bj";
  config.path = dir.path() + "/x.db";
  ManualClock clock;
  HybridClock hlc(clock);
  auto no_pk = data::Schema::create({orders_spec("CREATE TABLE orders(id INTEGER, shard INTEGER)")});
  ASSERT_TRUE(no_pk.ok());
  auto dal = dal::Dal::open(config, no_pk.value(), [] { return dal::WriteGate{}; }, hlc);
  ASSERT_FALSE(dal.ok());
  EXPECT_NE(dal.status().message().find("PRIMARY KEY"), std::string::npos) << dal.status().message();
  config.path = dir.path() + "/y.db";
  auto no_shard = data::Schema::create({orders_spec("CREATE TABLE orders(id INTEGER PRIMARY KEY, province INTEGER)")});
  dal = dal::Dal::open(config, no_shard.value(), [] { return dal::WriteGate{}; }, hlc);
  ASSERT_FALSE(dal.ok());
  EXPECT_NE(dal.status().message().find("shard column 'shard' does not exist"), std::string::npos);
}

TEST(DalTest, AHandlerThatThrowsGetsAnErrorNotACrash) {
  Site bj("bj");
  auto out = bj.dal().run({11, 1}, [](dal::Tx& tx) -> Status {
    (void)tx.exec("INSERT INTO orders(id, shard, state) VALUES(1, 11, 'x')");
    throw std::runtime_error("boom");
  });
  EXPECT_EQ(out.status.code(), Errc::internal);
  EXPECT_NE(out.status.message().find("boom"), std::string::npos);
  EXPECT_EQ(count(bj, "SELECT COUNT(*) FROM orders"), 0);
}

}  // namespace
}  // namespace ezone::test
