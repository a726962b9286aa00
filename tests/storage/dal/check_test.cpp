// Online consistency checks (storage/dal/check.hpp): the owner's chunks
// travel in its outbox and every other site compares its copy at the same
// point of the owner's changes, so writes may go on during a check.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "storage/dal/sqlite_db.hpp"
#include "tests/storage/dal/dal_fixture.hpp"

namespace ezone::test {
namespace {

using dal::Value;

// Waits (bounded) until `site` has sent all of check `id`.
dal::CheckReport sent(Site& site, const std::string& id) {
  for (int i = 0; i < 500; ++i) {
    auto r = site.dal().check_report(id);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (!r.ok() || !r.value().running) return r.ok() ? r.value() : dal::CheckReport{};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ADD_FAILURE() << "check " << id << " still running at " << site.ezone();
  return {};
}

dal::CheckReport report(Site& site, const std::string& id) {
  auto r = site.dal().check_report(id);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? r.value() : dal::CheckReport{};
}

dal::CheckSpec orders_check(const std::string& id, size_t chunk_rows, int64_t pause_ms = 0) {
  dal::CheckSpec spec;
  spec.id = id;
  spec.tables = {"orders"};
  spec.chunk_rows = chunk_rows;
  spec.pause_ms = pause_ms;
  return spec;
}

void put_orders(Site& s, int64_t first, int64_t last, ShardId shard) {
  for (int64_t id = first; id <= last; ++id) ASSERT_TRUE(s.put_order(id, shard, "created", id).ok());
}

// Runs SQL on the site's database behind its DAL (a bug, a manual fix).
void tamper(Site& s, const std::string& sql) {
  auto db = dal::Db::open(s.path(), false);
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  ASSERT_TRUE(db.value()->exec(sql).is_ok()) << sql;
}

uint64_t chunks(Site& s, const std::string& origin, const std::string& result) {
  return s.metrics().counter("ezone_dal_check_chunks_total", "", {{"origin", origin}, {"result", result}}).value();
}

TEST(CheckTest, EveryChunkMatchesAtThePointOfTheOwnersOutboxWhileWritesGoOn) {
  Site bj("bj"), sh("sh");
  ASSERT_NO_FATAL_FAILURE(put_orders(bj, 1, 25, 11));
  ASSERT_NO_FATAL_FAILURE(put_orders(sh, 101, 104, 31));  // sh's shard: not bj's to check
  pull(bj, sh);
  pull(sh, bj);
  auto id = bj.dal().start_check(orders_check("c1", 10));
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  EXPECT_EQ(id.value(), "c1");
  const dal::CheckReport at_bj = sent(bj, "c1");
  ASSERT_EQ(at_bj.issued.size(), 1u);  // shard 11 only: bj owns no other
  EXPECT_EQ(at_bj.issued[0].table, "orders");
  EXPECT_EQ(at_bj.issued[0].shard, 11);
  EXPECT_EQ(at_bj.issued[0].chunks, 3u);  // 10, 10, then the last 5 (unbounded above)
  EXPECT_EQ(at_bj.issued[0].rows, 25u);
  EXPECT_TRUE(at_bj.issued[0].done);
  EXPECT_FALSE(at_bj.interrupted);
  EXPECT_EQ(chunks(bj, "bj", "sent"), 3u);
  // Writes after the check's records, to rows of every chunk: sh compares
  // each chunk before it applies them, as bj read it.
  ASSERT_TRUE(bj.put_order(5, 11, "accepted", 5).ok());
  ASSERT_TRUE(bj.put_order(15, 11, "accepted", 15).ok());
  ASSERT_NO_FATAL_FAILURE(put_orders(bj, 26, 30, 11));
  ASSERT_NE(bj.dal().checksum("orders", 11).value(), sh.dal().checksum("orders", 11).value());
  pull(bj, sh);
  const dal::CheckReport at_sh = report(sh, "c1");
  EXPECT_TRUE(at_sh.known);
  EXPECT_TRUE(at_sh.issued.empty());
  ASSERT_EQ(at_sh.received.size(), 1u);
  EXPECT_EQ(at_sh.received[0].origin, "bj");
  EXPECT_EQ(at_sh.received[0].chunks, 3u);
  EXPECT_EQ(at_sh.received[0].matched, 3u);
  EXPECT_EQ(at_sh.received[0].differing, 0u);
  EXPECT_EQ(at_sh.received[0].rows, 25u);
  EXPECT_TRUE(at_sh.differences.empty());
  EXPECT_EQ(chunks(sh, "bj", "match"), 3u);
  // A check nobody ran is unknown; an id is used once.
  EXPECT_FALSE(report(sh, "c2").known);
  auto again = bj.dal().start_check(orders_check("c1", 10));
  EXPECT_EQ(again.status().code(), Errc::conflict) << again.status().to_string();
}

TEST(CheckTest, ADifferenceIsReportedInTheChunkThatHoldsIt) {
  Site bj("bj"), sh("sh");
  ASSERT_NO_FATAL_FAILURE(put_orders(bj, 1, 25, 11));
  pull(bj, sh);
  tamper(sh, "UPDATE orders SET state='lost' WHERE id=15");
  tamper(sh, "INSERT INTO orders(id, shard, state) VALUES(1000, 11, 'stray')");  // past bj's last key
  tamper(sh, "INSERT INTO orders(id, shard, state) VALUES(1001, 31, 'other shard')");
  ASSERT_TRUE(bj.dal().start_check(orders_check("c1", 10)).ok());
  sent(bj, "c1");
  pull(bj, sh);
  const dal::CheckReport r = report(sh, "c1");
  ASSERT_EQ(r.received.size(), 1u);
  EXPECT_EQ(r.received[0].chunks, 3u);
  EXPECT_EQ(r.received[0].matched, 1u);
  EXPECT_EQ(r.received[0].differing, 2u);
  ASSERT_EQ(r.differences.size(), 2u);
  const dal::CheckDifference& changed = r.differences[0];
  EXPECT_EQ(changed.result, "differ");
  EXPECT_EQ(changed.origin, "bj");
  EXPECT_EQ(changed.table, "orders");
  EXPECT_EQ(changed.shard, 11);
  EXPECT_EQ(changed.chunk, 1);
  EXPECT_EQ(changed.after, "[10]");
  EXPECT_EQ(changed.upto, "[20]");
  EXPECT_EQ(changed.origin_rows, 10u);
  EXPECT_EQ(changed.local_rows, 10u);
  const dal::CheckDifference& extra = r.differences[1];
  EXPECT_EQ(extra.chunk, 2);
  EXPECT_EQ(extra.after, "[20]");
  EXPECT_EQ(extra.upto, "");
  EXPECT_EQ(extra.origin_rows, 5u);
  EXPECT_EQ(extra.local_rows, 6u);  // 1000 of shard 11; 1001 is shard 31's
  EXPECT_EQ(chunks(sh, "bj", "differ"), 2u);
  EXPECT_EQ(chunks(sh, "bj", "match"), 1u);
  // The report's limit.
  auto one = sh.dal().check_report("c1", 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one.value().differences.size(), 1u);
}

TEST(CheckTest, EveryReplicatedTableByDefaultAndGlobalTablesAtTheirMaster) {
  Site bj("bj"), sh("sh");
  ASSERT_TRUE(bj.dal().run({std::nullopt, bj.epoch()}, [](dal::Tx& tx) {
                        return tx.exec("INSERT INTO users(id, phone, name) VALUES(1, '555', 'a')").status();
                      }).ok());
  ASSERT_NO_FATAL_FAILURE(put_orders(bj, 1, 3, 11));
  ASSERT_NO_FATAL_FAILURE(put_orders(sh, 101, 103, 31));
  ASSERT_NO_FATAL_FAILURE(put_orders(sh, 201, 202, 32));
  pull(bj, sh);
  pull(sh, bj);
  dal::CheckSpec spec;
  spec.id = "all";
  ASSERT_TRUE(bj.dal().start_check(spec).ok());
  ASSERT_TRUE(sh.dal().start_check(spec).ok());
  const dal::CheckReport from_bj = sent(bj, "all"), from_sh = sent(sh, "all");
  ASSERT_EQ(from_bj.issued.size(), 2u);  // orders/11, users (bj is its master)
  EXPECT_EQ(from_bj.issued[0].table, "orders");
  EXPECT_EQ(from_bj.issued[1].table, "users");
  EXPECT_EQ(from_bj.issued[1].shard, -1);
  EXPECT_EQ(from_bj.issued[1].rows, 1u);
  ASSERT_EQ(from_sh.issued.size(), 2u);  // orders/31, orders/32
  EXPECT_EQ(from_sh.issued[0].shard, 31);
  EXPECT_EQ(from_sh.issued[1].shard, 32);
  EXPECT_EQ(from_sh.issued[1].rows, 2u);
  pull(bj, sh);
  pull(sh, bj);
  for (auto [site, peer] : {std::pair<Site*, const dal::CheckReport*>{&sh, &from_bj}, {&bj, &from_sh}}) {
    const dal::CheckReport r = report(*site, "all");
    ASSERT_EQ(r.received.size(), 1u) << site->ezone();
    EXPECT_EQ(r.received[0].chunks, peer->issued_chunks) << site->ezone();
    EXPECT_EQ(r.received[0].matched, peer->issued_chunks) << site->ezone();
  }
}

TEST(CheckTest, ListedShardsOwnedElsewhereAreLeftToTheirOwnerAndAMovedShardStops) {
  Site bj("bj");
  ASSERT_NO_FATAL_FAILURE(put_orders(bj, 1, 25, 11));
  dal::CheckSpec spec = orders_check("listed", 10);
  spec.shards = {11, 31};
  ASSERT_TRUE(bj.dal().start_check(spec).ok());
  dal::CheckReport r = sent(bj, "listed");
  ASSERT_EQ(r.issued.size(), 1u);
  EXPECT_EQ(r.issued[0].shard, 11);
  // One check at a time; the next waits between chunks (200 ms), and shard
  // 11 moves to sh before its last chunk.
  ASSERT_TRUE(bj.dal().start_check(orders_check("moving", 10, 200)).ok());
  auto busy = bj.dal().start_check(orders_check("other", 10));
  EXPECT_EQ(busy.status().code(), Errc::conflict) << busy.status().to_string();
  bj.set_routes(routes_at(2, "sh"));
  r = sent(bj, "moving");
  ASSERT_EQ(r.issued.size(), 1u);
  EXPECT_FALSE(r.issued[0].done);
  EXPECT_LT(r.issued[0].chunks, 3u);
  EXPECT_NE(r.issued[0].error.find("owned by ezone 'sh'"), std::string::npos) << r.issued[0].error;
  EXPECT_FALSE(r.interrupted);
  // Bad specs.
  EXPECT_EQ(bj.dal().start_check(orders_check("bad id!", 10)).status().code(), Errc::invalid_argument);
  EXPECT_EQ(bj.dal().start_check(orders_check("x", 0)).status().code(), Errc::invalid_argument);
  dal::CheckSpec scratch = orders_check("y", 10);
  scratch.tables = {"scratch"};  // local: never replicated
  EXPECT_EQ(bj.dal().start_check(scratch).status().code(), Errc::not_found);
}

TEST(CheckTest, AClosedDalStopsItsCheckAndTheReportShowsItInterrupted) {
  Site bj("bj");
  ASSERT_NO_FATAL_FAILURE(put_orders(bj, 1, 25, 11));
  ASSERT_TRUE(bj.dal().start_check(orders_check("slow", 10, 60000)).ok());
  for (int i = 0; i < 500 && report(bj, "slow").issued_chunks == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto before = std::chrono::steady_clock::now();
  bj.close();  // wakes the check from its 60 s pause
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(30));
  bj.open();
  const dal::CheckReport r = report(bj, "slow");
  EXPECT_FALSE(r.running);
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(r.issued_chunks, 1u);
  // A new check may start.
  ASSERT_TRUE(bj.dal().start_check(orders_check("again", 10)).ok());
  EXPECT_TRUE(sent(bj, "again").issued[0].done);
}

TEST(CheckTest, AChunkReadOffTheWriterIsReadAgainWhenAWriteChangedItMeanwhile) {
  Site bj("bj"), sh("sh");
  ASSERT_NO_FATAL_FAILURE(put_orders(bj, 1, 25, 11));
  pull(bj, sh);
  int reads = 0;
  bj.configure = [&](dal::DalConfig& c) {
    c.check_read_hook = [&] {
      // Between a chunk's read on a reader and its record: a write inside
      // the first chunk (read again), then one past the second (not).
      if (++reads == 1) {
        EXPECT_TRUE(bj.put_order(5, 11, "accepted", 5).ok());
      } else if (reads == 3) {
        EXPECT_TRUE(bj.put_order(30, 11, "created", 30).ok());
      }
    };
  };
  bj.open();
  ASSERT_TRUE(bj.dal().start_check(orders_check("snap", 10)).ok());
  EXPECT_EQ(sent(bj, "snap").issued_chunks, 3u);
  EXPECT_EQ(reads, 4);
  auto read_on = [&](const char* on) {
    return bj.metrics().counter("ezone_dal_check_chunk_reads_total", "", {{"on", on}}).value();
  };
  EXPECT_EQ(read_on("reader"), 3u);
  EXPECT_EQ(read_on("stale"), 1u);
  EXPECT_EQ(read_on("writer"), 0u);
  // sh applies each write before the chunk's record, as bj read it.
  pull(bj, sh);
  EXPECT_EQ(chunks(sh, "bj", "match"), 3u);
  EXPECT_EQ(chunks(sh, "bj", "differ"), 0u);
}

TEST(CheckTest, AHaltedTableOrOtherColumnsAreSkippedAndAMalformedRecordIsDroppedWithoutStoppingReplication) {
  Site bj("bj");
  // bj's rows do not fit sh's table (a column they lack is required here):
  // replication of orders from bj is halted.
  Site sh("sh", "CREATE TABLE orders(id INTEGER PRIMARY KEY, shard INTEGER NOT NULL, state TEXT NOT NULL, "
                "amount INTEGER NOT NULL DEFAULT 0, code TEXT NOT NULL)");
  // They fit sh2's (a nullable column more): applied, but not comparable.
  Site sh2("sh", "CREATE TABLE orders(id INTEGER PRIMARY KEY, shard INTEGER NOT NULL, state TEXT NOT NULL, "
                 "amount INTEGER NOT NULL DEFAULT 0, note TEXT)");
  ASSERT_NO_FATAL_FAILURE(put_orders(bj, 1, 5, 11));
  ASSERT_TRUE(bj.dal().start_check(orders_check("halted", 10)).ok());
  sent(bj, "halted");
  pull(bj, sh);
  pull(bj, sh2);
  dal::CheckReport r = report(sh, "halted");
  ASSERT_EQ(r.differences.size(), 1u);
  EXPECT_EQ(r.differences[0].result, "skipped");
  EXPECT_NE(r.differences[0].detail.find("is halted: table 'orders' from ezone 'bj': its rows do not carry column "
                                         "'code'"),
            std::string::npos) << r.differences[0].detail;
  EXPECT_EQ(chunks(sh, "bj", "skipped"), 1u);
  r = report(sh2, "halted");
  ASSERT_EQ(r.differences.size(), 1u);
  EXPECT_EQ(r.differences[0].result, "skipped");
  EXPECT_NE(r.differences[0].detail.find("the columns of 'orders' here differ from ezone 'bj''s"), std::string::npos)
      << r.differences[0].detail;
  EXPECT_TRUE(sh2.dal().halted().empty());
  EXPECT_EQ(sh2.dal().query("SELECT COUNT(*) FROM orders WHERE note IS NULL").value()[0][0], Value(int64_t{5}));

  Site gz("gz");
  dal::RowChange bad;
  bad.table = "_ezone_check";
  bad.pk = {Value(std::string("m")), Value(std::string("orders")), Value(int64_t{11}), Value(int64_t{0})};
  bad.row = {Value(int64_t{1}), Value(int64_t{1}), Value(int64_t{1}), Value(int64_t{3}), Value(int64_t{0})};
  dal::OutboxBatch batch;
  batch.origin = "bj";
  batch.head_seq = 2;
  batch.entries.push_back(dal::OutboxEntry{1, 5, -1, 0, dal::encode_changes({bad})});
  dal::RowChange order;
  order.table = "orders";
  order.pk = {Value(int64_t{7})};
  order.row = {Value(int64_t{7}), Value(int64_t{11}), Value(std::string("created")), Value(int64_t{0})};
  batch.entries.push_back(dal::OutboxEntry{2, 6, 11, 0, dal::encode_changes({order})});
  auto applied = gz.dal().apply(batch);
  ASSERT_TRUE(applied.ok()) << applied.status().to_string();
  EXPECT_EQ(applied.value().rows, 1u);
  EXPECT_EQ(gz.dal().cursor("bj").value(), 2u);
  EXPECT_EQ(chunks(gz, "bj", "malformed"), 1u);
  EXPECT_FALSE(report(gz, "m").known);
}

TEST(CheckTest, ASiteKeepsTheResultsOfTheNewestChecksOnly) {
  Site bj("bj"), sh("sh");
  ASSERT_NO_FATAL_FAILURE(put_orders(bj, 1, 3, 11));
  const int n = static_cast<int>(dal::kCheckIdsKept) + 2;
  for (int i = 0; i < n; ++i) {
    bj.clock().advance_ms(1000);
    sh.clock().advance_ms(1000);
    const std::string id = "k" + std::to_string(i);
    ASSERT_TRUE(bj.dal().start_check(orders_check(id, 10)).ok());
    sent(bj, id);
    pull(bj, sh);
  }
  for (Site* s : {&bj, &sh}) {
    EXPECT_FALSE(report(*s, "k0").known) << s->ezone();
    EXPECT_FALSE(report(*s, "k1").known) << s->ezone();
    EXPECT_TRUE(report(*s, "k2").known) << s->ezone();
    EXPECT_TRUE(report(*s, "k" + std::to_string(n - 1)).known) << s->ezone();
  }
}

// Updates of bj's orders 1..rows, `window` in flight, each submitted again
// from the previous one's answer (on the writer thread, so the next group
// is queued before the writer picks its next work), until stop().
class Load {
 public:
  Load(Site& site, int64_t rows, int window) : site_(site), rows_(rows) {
    for (int i = 0; i < window; ++i) submit(i);
  }
  ~Load() { stop(); }
  // Stops and waits (bounded) for the requests in flight; their count.
  uint64_t stop() {
    std::unique_lock<std::mutex> lock(mutex_);
    stopping_ = true;
    EXPECT_TRUE(cv_.wait_for(lock, std::chrono::seconds(30), [&] { return in_flight_ == 0; }));
    return done_;
  }

 private:
  void submit(int64_t n) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++in_flight_;
    }
    send(n);
  }
  // One request; its answer sends the next, or ends it (touching nothing of
  // this Load after the waiter in stop() may have gone).
  void send(int64_t n) {
    const int64_t id = 1 + n % rows_;
    site_.dal().submit({11, site_.epoch()},
                       [id](dal::Tx& tx) {
                         return tx.exec("UPDATE orders SET amount=amount+1 WHERE id=?1", {Value(id)}).status();
                       },
                       [this, n](dal::TxOutcome out) {
                         EXPECT_TRUE(out.ok()) << out.status.to_string();
                         {
                           std::lock_guard<std::mutex> lock(mutex_);
                           ++done_;
                           if (stopping_) {
                             --in_flight_;
                             cv_.notify_all();
                             return;
                           }
                         }
                         send(n + 7);
                       });
  }

  Site& site_;
  const int64_t rows_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  int in_flight_ = 0;
  uint64_t done_ = 0;
};

TEST(CheckTest, UnderWritesEveryChunkSharesAGroupsCommitAndStillMatches) {
  Site bj("bj"), sh("sh");
  ASSERT_NO_FATAL_FAILURE(put_orders(bj, 1, 200, 11));
  pull(bj, sh);
  uint64_t writes = 0;
  {
    Load load(bj, 200, 16);
    ASSERT_TRUE(bj.dal().start_check(orders_check("busy", 10)).ok());
    const dal::CheckReport r = sent(bj, "busy");
    EXPECT_EQ(r.issued_chunks, 21u);
    writes = load.stop();
  }
  EXPECT_GT(writes, 0u);
  // Every chunk's job rode a group of the writes, also those that found
  // their chunk changed since it was read (and read it again).
  const uint64_t stale = bj.metrics().counter("ezone_dal_check_chunk_reads_total", "", {{"on", "stale"}}).value();
  EXPECT_EQ(bj.metrics().counter("ezone_dal_shared_commits_total", "").value(), 21u + stale)
      << "every chunk rode a group of the writes";
  pull(bj, sh);
  const dal::CheckReport at_sh = report(sh, "busy");
  ASSERT_EQ(at_sh.received.size(), 1u);
  EXPECT_EQ(at_sh.received[0].matched, 21u);
  EXPECT_EQ(bj.dal().checksum("orders", 11).value(), sh.dal().checksum("orders", 11).value());
}

TEST(CheckTest, AScheduledCheckRunsEveryIntervalAndItsChunksAreComparedAtThePeers) {
  Site bj("bj"), sh("sh");
  bj.configure = [](dal::DalConfig& c) {
    c.check_every_ms = 50;
    c.check_chunk_rows = 10;
  };
  bj.open();
  ASSERT_NO_FATAL_FAILURE(put_orders(bj, 1, 25, 11));
  // Each run sends orders/11 (3 chunks) and users (1): two runs are 8.
  bool twice = false;
  for (int i = 0; i < 1000 && !twice; ++i) {
    pull(bj, sh);
    twice = chunks(sh, "bj", "match") >= 8;
    if (!twice) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(twice) << chunks(sh, "bj", "match") << " chunks matched";
  EXPECT_EQ(chunks(sh, "bj", "differ"), 0u);
  auto ids = sh.dal().query("SELECT DISTINCT id FROM _ezone_checks");
  ASSERT_TRUE(ids.ok());
  ASSERT_GE(ids.value().size(), 2u);
  EXPECT_EQ(std::get<std::string>(ids.value()[0][0]).rfind("auto-bj-", 0), 0u);
  bj.close();  // stops the schedule at once
}

uint64_t repaired(Site& s, const char* action) {
  return s.metrics()
      .counter("ezone_dal_repaired_rows_total", "", {{"origin", "bj"}, {"table", "orders"}, {"action", action}})
      .value();
}

TEST(CheckTest, ARepairMakesEverySiteEqualToTheOwnerAndLaterChangesApplyWithoutConflicts) {
  Site bj("bj"), sh("sh"), gz("gz");
  ASSERT_NO_FATAL_FAILURE(put_orders(bj, 1, 25, 11));
  pull(bj, sh);
  pull(bj, gz);
  tamper(sh, "UPDATE orders SET state='lost' WHERE id=15");
  tamper(sh, "DELETE FROM orders WHERE id=3");
  tamper(sh, "INSERT INTO orders(id, shard, state) VALUES(1000, 11, 'stray')");
  tamper(sh, "INSERT INTO orders(id, shard, state) VALUES(1001, 31, 'not shard 11')");
  tamper(sh, "DELETE FROM _ezone_rowver WHERE tbl='orders'");  // and every order's version, as a bad restore would
  ASSERT_TRUE(bj.dal().start_check(orders_check("c1", 10)).ok());
  sent(bj, "c1");
  pull(bj, sh);
  pull(bj, gz);
  ASSERT_EQ(report(sh, "c1").received.at(0).differing, 3u);
  ASSERT_EQ(report(gz, "c1").received.at(0).matched, 3u);
  std::vector<dal::FeedEvent> events;
  std::mutex events_mutex;
  const uint64_t sub = sh.dal().subscribe([&](const std::vector<dal::FeedEvent>& batch) {
    std::lock_guard<std::mutex> lock(events_mutex);
    events.insert(events.end(), batch.begin(), batch.end());
  });
  auto sent_repair = bj.dal().repair_check("c1", {{"orders", 11, 0}, {"orders", 11, 1}, {"orders", 11, 2}});
  ASSERT_TRUE(sent_repair.ok()) << sent_repair.status().to_string();
  EXPECT_EQ(sent_repair.value().chunks, 3u);
  EXPECT_EQ(sent_repair.value().images, 3u);
  EXPECT_EQ(sent_repair.value().rows, 25u);
  pull(bj, sh);
  pull(bj, gz);
  sh.dal().unsubscribe(sub);
  EXPECT_EQ(bj.dal().checksum("orders", 11).value(), sh.dal().checksum("orders", 11).value());
  EXPECT_EQ(bj.dal().checksum("orders", 11).value(), gz.dal().checksum("orders", 11).value());
  EXPECT_EQ(sh.dal().query("SELECT state FROM orders WHERE id=1001").value().size(), 1u) << "shard 31 is not bj's";
  EXPECT_EQ(repaired(sh, "written"), 2u);  // 3 and 15
  EXPECT_EQ(repaired(sh, "deleted"), 1u);  // 1000
  EXPECT_EQ(repaired(gz, "written") + repaired(gz, "deleted"), 0u);
  {
    std::lock_guard<std::mutex> lock(events_mutex);
    ASSERT_EQ(events.size(), 3u);  // caches follow
    EXPECT_EQ(events[0].pk, "[3]");
    EXPECT_EQ(events[1].pk, "[15]");
    EXPECT_EQ(events[2].pk, "[1000]");
    EXPECT_EQ(events[2].op, dal::ChangeOp::remove);
  }
  // The next check matches, and bj's later changes to the repaired rows
  // apply as plain successors: the versions were repaired too.
  ASSERT_TRUE(bj.dal().start_check(orders_check("c2", 10)).ok());
  sent(bj, "c2");
  ASSERT_TRUE(bj.put_order(15, 11, "accepted", 15).ok());
  ASSERT_TRUE(bj.put_order(3, 11, "accepted", 3).ok());
  ASSERT_TRUE(bj.put_order(1000, 11, "created", 1000).ok());
  const dal::ApplyReport later = pull(bj, sh);
  EXPECT_EQ(later.conflicts, 0u);
  EXPECT_EQ(report(sh, "c2").received.at(0).matched, 3u);
  EXPECT_EQ(bj.dal().checksum("orders", 11).value(), sh.dal().checksum("orders", 11).value());
  // What cannot be repaired is refused before anything is sent.
  EXPECT_EQ(bj.dal().repair_check("c1", {{"orders", 11, 7}}).status().code(), Errc::not_found);
  EXPECT_EQ(bj.dal().repair_check("nope", {{"orders", 11, 0}}).status().code(), Errc::not_found);
  EXPECT_EQ(sh.dal().repair_check("c1", {{"orders", 11, 0}}).status().code(), Errc::not_found) << "sh sent nothing";
  const uint64_t head = bj.dal().outbox_head();
  bj.set_routes(routes_at(2, "sh"));
  auto moved = bj.dal().repair_check("c1", {{"orders", 11, 0}});
  EXPECT_EQ(moved.status().code(), Errc::conflict) << moved.status().to_string();
  EXPECT_EQ(bj.dal().outbox_head(), head);
}

TEST(CheckTest, AChunkLargerThanAnImageIsRepairedInPieces) {
  Site bj("bj"), sh("sh");
  const int64_t n = static_cast<int64_t>(2 * dal::kRepairPieceRows + 500);
  ASSERT_TRUE(bj.dal().run({11, bj.epoch()}, [n](dal::Tx& tx) -> Status {
                        for (int64_t id = 1; id <= n; ++id) {
                          auto r = tx.exec("INSERT INTO orders(id, shard, state) VALUES(?1, 11, 'created')", {Value(id)});
                          if (!r) return r.status();
                        }
                        return Status::ok();
                      }).ok());
  pull(bj, sh);
  tamper(sh, "UPDATE orders SET state='lost' WHERE id IN (5, 1500, 2400)");
  tamper(sh, "DELETE FROM orders WHERE id=1000");
  ASSERT_TRUE(bj.dal().start_check(orders_check("big", static_cast<size_t>(n) + 1)).ok());
  sent(bj, "big");
  pull(bj, sh);
  ASSERT_EQ(report(sh, "big").received.at(0).differing, 1u);
  auto r = bj.dal().repair_check("big", {{"orders", 11, 0}});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r.value().images, 3u);
  EXPECT_EQ(r.value().rows, static_cast<uint64_t>(n));
  pull(bj, sh);
  EXPECT_EQ(repaired(sh, "written"), 4u);
  EXPECT_EQ(repaired(sh, "deleted"), 0u);
  EXPECT_EQ(bj.dal().checksum("orders", 11).value(), sh.dal().checksum("orders", 11).value());
}

TEST(CheckTest, AMalformedRepairImageIsCountedAndSkipped) {
  Site gz("gz");
  dal::RowChange bad;
  bad.table = "_ezone_repair";
  bad.pk = {Value(std::string("c")), Value(std::string("orders")), Value(int64_t{11}), Value(int64_t{0}),
            Value(int64_t{0})};
  bad.row = {Value(int64_t{0}), Value(int64_t{0}), Value(int64_t{1}), Value(int64_t{5})};  // a row of one value
  dal::OutboxBatch batch;
  batch.origin = "bj";
  batch.head_seq = 1;
  batch.entries.push_back(dal::OutboxEntry{1, 5, -1, 0, dal::encode_changes({bad})});
  auto applied = gz.dal().apply(batch);
  ASSERT_TRUE(applied.ok()) << applied.status().to_string();
  EXPECT_EQ(gz.dal().cursor("bj").value(), 1u);
  EXPECT_EQ(repaired(gz, "skipped"), 1u);
}

}  // namespace
}  // namespace ezone::test
