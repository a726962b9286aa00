// Applying peers' outbox batches (DESIGN.md invariants 4, 5 and 7):
// exactly-once, no loops in a full mesh, deterministic conflicts with the
// loser kept everywhere, and a halted table on a schema mismatch.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <random>

#include "core/crc32c.hpp"
#include "storage/dal/sqlite_db.hpp"
#include "tests/storage/dal/dal_fixture.hpp"

namespace ezone::test {
namespace {

using dal::Value;

uint64_t checksum(Site& s, const std::string& table) {
  auto c = s.dal().checksum(table);
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  return c.ok() ? c.value() : 0;
}

std::string order_state(Site& s, int64_t id) {
  auto rows = s.dal().query("SELECT state FROM orders WHERE id=?1", {Value(id)});
  EXPECT_TRUE(rows.ok());
  if (!rows.ok() || rows.value().empty()) return "<none>";
  return std::get<std::string>(rows.value()[0][0]);
}

TEST(DrcApplyTest, APeersChangesAreAppliedOnceEvenWhenABatchIsRepeated) {
  Site bj("bj"), sh("sh");
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(bj.put_order(i, 11, "created", i).ok());
  auto batch = bj.dal().read_outbox(0, 1000, 1 << 20);
  ASSERT_TRUE(batch.ok());
  auto first = sh.dal().apply(batch.value());
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_EQ(first.value().entries, 50u);
  EXPECT_EQ(first.value().cursor, 50u);
  auto again = sh.dal().apply(batch.value());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value().entries, 0u);
  EXPECT_EQ(checksum(bj, "orders"), checksum(sh, "orders"));
  // An applied change is never shipped on: sh's outbox stays empty.
  EXPECT_EQ(sh.dal().outbox_head(), 0u);
  // The feed at sh names bj as the origin.
  auto feed = sh.dal().feed_since(0, {"orders"}, 1000);
  ASSERT_TRUE(feed.ok());
  ASSERT_EQ(feed.value().size(), 50u);
  EXPECT_EQ(feed.value()[0].origin, "bj");
}

TEST(DrcApplyTest, ABatchThatSkipsPastTheCursorIsRefusedWhole) {
  Site bj("bj"), sh("sh");
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(bj.put_order(i, 11, "created").ok());
  auto late = bj.dal().read_outbox(2, 10, 1 << 20);  // seq 3..5, but sh has nothing
  ASSERT_TRUE(late.ok());
  auto r = sh.dal().apply(late.value());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Errc::conflict);
  EXPECT_EQ(sh.dal().cursor("bj").value(), 0u);
  EXPECT_EQ(pull(bj, sh).entries, 5u);
}

TEST(DrcApplyTest, MalformedPeerBytesGetAnErrorAndChangeNothing) {
  Site bj("bj"), sh("sh");
  ASSERT_TRUE(bj.put_order(1, 11, "created").ok());
  auto batch = bj.dal().read_outbox(0, 10, 1 << 20);
  ASSERT_TRUE(batch.ok());
  std::string wire = dal::encode_batch(batch.value());
  for (size_t cut : {size_t{0}, size_t{3}, wire.size() / 2, wire.size() - 1}) {
    EXPECT_FALSE(dal::decode_batch(wire.substr(0, cut)).ok()) << cut;
  }
  auto bad = batch.value();
  bad.entries[0].body = "garbage";
  auto r = sh.dal().apply(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Errc::parse_error);
  EXPECT_EQ(sh.dal().cursor("bj").value(), 0u);
  EXPECT_EQ(sh.metrics().counter("ezone_drc_apply_errors_total", "", {{"origin", "bj"}}).value(), 1u);
  // A site never applies its own outbox.
  EXPECT_FALSE(bj.dal().apply(batch.value()).ok());
}

// The documented layout (change_record.hpp): a CRC-32C, 4 bytes
// little-endian, at the end of a batch (of its archive) and of an entry's
// body (of seq, hlc, shard, commit_wall_ms as 8 bytes little-endian each,
// then the body's archive). Resealing mutated bytes is what a peer with a
// bug, rather than a bad wire or disk, would send.
void put_crc(std::string& bytes, uint32_t crc) {
  for (size_t i = 0; i < 4; ++i) bytes[bytes.size() - 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
}
std::string resealed_batch(std::string bytes) {
  if (bytes.size() >= 4) put_crc(bytes, crc32c(std::string_view(bytes).substr(0, bytes.size() - 4)));
  return bytes;
}
void reseal_entry(dal::OutboxEntry& e) {
  std::string header;
  for (uint64_t v : {e.seq, static_cast<uint64_t>(e.hlc), static_cast<uint64_t>(e.shard),
                     static_cast<uint64_t>(e.commit_wall_ms)})
    for (int i = 0; i < 8; ++i) header += static_cast<char>((v >> (8 * i)) & 0xff);
  if (e.body.size() >= 4)
    put_crc(e.body, crc32c(std::string_view(e.body).substr(0, e.body.size() - 4), crc32c(header)));
}

std::mt19937_64& mutation_rng() {
  static std::mt19937_64 rng(20261126);  // a fixed seed: a failure replays
  return rng;
}

std::string mutate(std::string bytes) {
  auto& rng = mutation_rng();
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits && !bytes.empty(); ++e) {
    const size_t at = rng() % bytes.size();
    switch (rng() % 3) {
      case 0: bytes[at] = static_cast<char>(bytes[at] ^ (1 + rng() % 255)); break;
      case 1: bytes.erase(at, 1 + rng() % 8); break;
      default: bytes.insert(at, 1 + rng() % 8, static_cast<char>(rng() % 256)); break;
    }
  }
  return bytes;
}

// Six orders, three updated, one deleted: a batch of seven entries.
dal::OutboxBatch mixed_batch(Site& bj) {
  for (int64_t id = 1; id <= 6; ++id) EXPECT_TRUE(bj.put_order(id, 11, "created", id * 100).ok());
  EXPECT_TRUE(bj.dal().run({11, bj.epoch()}, [](dal::Tx& tx) {
    auto a = tx.exec("UPDATE orders SET state='accepted', amount=amount+1 WHERE id<=3");
    if (!a) return a.status();
    return tx.exec("DELETE FROM orders WHERE id=6").status();
  }).ok());
  auto batch = bj.dal().read_outbox(0, 100, 1 << 20);
  EXPECT_TRUE(batch.ok());
  return batch.ok() ? batch.value() : dal::OutboxBatch{};
}

// Corrupted bytes (the wire, a disk, memory) never apply: the checksums
// refuse every one of them, and the site applies the real batch after.
TEST(DrcApplyTest, CorruptedBatchesAndEntriesAreRefusedByTheirChecksums) {
  Site bj("bj"), sh("sh");
  const dal::OutboxBatch batch = mixed_batch(bj);
  ASSERT_EQ(batch.entries.size(), 7u);
  const std::string wire = dal::encode_batch(batch);
  ASSERT_TRUE(dal::decode_batch(wire).ok());
  size_t refused = 0;
  for (size_t at = 0; at < wire.size(); ++at) {  // every bit of every byte
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = wire;
      flipped[at] = static_cast<char>(flipped[at] ^ (1 << bit));
      auto decoded = dal::decode_batch(flipped);
      EXPECT_FALSE(decoded.ok()) << "byte " << at << " bit " << bit;
      refused += !decoded.ok();
    }
  }
  EXPECT_EQ(refused, wire.size() * 8);
  for (int i = 0; i < 2000; ++i) EXPECT_FALSE(dal::decode_batch(mutate(wire)).ok()) << i;
  auto mismatch = dal::decode_batch(std::string(wire).replace(wire.size() - 1, 1, 1, wire.back() ^ 1));
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.status().message().find("outbox batch: checksum mismatch"), std::string::npos)
      << mismatch.status().message();

  // An entry's body corrupted on bj's disk, and an entry whose header (its
  // timestamp: it decides last-writer-wins) was changed in memory: sh
  // refuses the batch, naming the entry, and applies nothing.
  auto corrupt_on_disk = [&](uint64_t seq) {
    auto db = dal::Db::open(bj.path(), false);
    ASSERT_TRUE(db.ok());
    auto rows = db.value()->query("SELECT body FROM _ezone_outbox WHERE seq=?1", {Value(int64_t(seq))});
    ASSERT_TRUE(rows.ok() && rows.value().size() == 1u);
    std::string body = std::get<dal::Blob>(rows.value()[0][0]).bytes;
    body[body.size() / 2] ^= 0x10;
    ASSERT_TRUE(db.value()->run("UPDATE _ezone_outbox SET body=?1 WHERE seq=?2",
                                {Value(dal::Blob{body}), Value(int64_t(seq))}).ok());
  };
  corrupt_on_disk(4);
  auto from_disk = bj.dal().read_outbox(0, 100, 1 << 20);
  ASSERT_TRUE(from_disk.ok());
  auto wired = dal::decode_batch(dal::encode_batch(from_disk.value()));  // the wire is fine
  ASSERT_TRUE(wired.ok());
  auto r = sh.dal().apply(wired.value());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Errc::parse_error);
  EXPECT_NE(r.status().message().find("entry 4 from 'bj': outbox entry 4: checksum mismatch"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(sh.dal().cursor("bj").value(), 0u);
  EXPECT_EQ(order_state(sh, 1), "<none>");

  dal::OutboxBatch later = batch;
  later.entries[6].hlc += 1000;
  auto header = sh.dal().apply(later);
  ASSERT_FALSE(header.ok());
  EXPECT_NE(header.status().message().find("outbox entry 7: checksum mismatch"), std::string::npos)
      << header.status().message();
  EXPECT_EQ(sh.dal().cursor("bj").value(), 0u);

  // The batch as it was committed applies in full; so does a body of
  // format 1 (no checksum), as a build before the checksums wrote them.
  auto intact = sh.dal().apply(batch);
  ASSERT_TRUE(intact.ok()) << intact.status().to_string();
  EXPECT_EQ(sh.dal().cursor("bj").value(), 7u);
  EXPECT_EQ(order_state(sh, 1), "accepted");
  Site fresh("sh");
  dal::OutboxBatch legacy = batch;
  for (auto& e : legacy.entries) e.body = dal::encode_changes(dal::decode_changes(e.body).value());
  ASSERT_TRUE(fresh.dal().apply(legacy).ok());
  EXPECT_EQ(checksum(fresh, "orders"), checksum(sh, "orders"));
  EXPECT_GE(sh.metrics().counter("ezone_drc_apply_errors_total", "", {{"origin", "bj"}}).value(), 2u);
}

// Bytes that pass the checksums but are wrong (a peer's bug, resealed after
// a random mutation): each batch decodes or is refused, decodes to changes
// or is refused, and applies or is refused leaving the cursor where it
// was. Never a crash.
TEST(DrcApplyTest, MutatedPeerBytesAreRefusedOrAppliedButNeverCrashTheSite) {
  Site bj("bj");
  const dal::OutboxBatch batch = mixed_batch(bj);
  const std::string wire = dal::encode_batch(batch);
  // Regression: a forged size prefix (here the first table name's, after the
  // endianness byte, the format and the vector's size) made cereal allocate
  // and zero that many bytes before reading them: 3.7 GB in this test.
  std::string forged = batch.entries[0].body;
  for (int i = 0; i < 8; ++i) forged[13 + i] = static_cast<char>(i < 5 ? 0xff : 0);
  auto forged_decoded = dal::decode_changes(forged);
  ASSERT_FALSE(forged_decoded.ok());
  EXPECT_NE(forged_decoded.status().message().find("a size of 1099511627775 is more than the"), std::string::npos)
      << forged_decoded.status().message();
  size_t batches = 0, bodies = 0;
  for (int i = 0; i < 3000; ++i) {
    auto decoded = dal::decode_batch(resealed_batch(mutate(wire)));
    if (!decoded) continue;
    ++batches;
    for (auto& entry : decoded.value().entries) bodies += dal::decode_changes(entry.body).ok();
  }
  EXPECT_GT(batches, 0u);
  // Apply: the body of an otherwise valid batch mutated and resealed, on a
  // fresh site whenever one applied (it then holds that version of the rows).
  size_t applied = 0, refused = 0;
  auto sh = std::make_unique<Site>("sh");
  for (int i = 0; i < 300; ++i) {
    dal::OutboxBatch b = batch;
    auto& entry = b.entries[mutation_rng()() % b.entries.size()];
    entry.body = mutate(entry.body);
    reseal_entry(entry);
    auto r = sh->dal().apply(b);
    if (r.ok()) {
      ++applied;
      sh = std::make_unique<Site>("sh");
      continue;
    }
    ++refused;
    EXPECT_EQ(sh->dal().cursor("bj").value(), 0u) << r.status().to_string();
  }
  EXPECT_GT(refused, 0u);
  // The real batch still applies in full.
  EXPECT_EQ(pull(bj, *sh).entries, batch.entries.size());
  EXPECT_EQ(checksum(bj, "orders"), checksum(*sh, "orders"));
  std::printf("resealed mutated wire: %zu of 3000 decoded (%zu bodies parsed); resealed mutated bodies: %zu applied, "
              "%zu refused\n",
              batches, bodies, applied, refused);
}

TEST(DrcApplyTest, UpdatesAndDeletesReplicateAsWholeRows) {
  Site bj("bj"), sh("sh");
  ASSERT_TRUE(bj.put_order(1, 11, "created", 10).ok());
  ASSERT_TRUE(bj.put_order(2, 11, "created", 20).ok());
  pull(bj, sh);
  bj.clock().advance_ms(1);
  ASSERT_TRUE(bj.dal().run({11, 1}, [](dal::Tx& tx) {
    auto a = tx.exec("UPDATE orders SET state='accepted' WHERE id=1");
    if (!a) return a.status();
    return tx.exec("DELETE FROM orders WHERE id=2").status();
  }).ok());
  auto r = pull(bj, sh);
  EXPECT_EQ(r.rows, 2u);
  EXPECT_EQ(r.conflicts, 0u);
  EXPECT_EQ(order_state(sh, 1), "accepted");
  EXPECT_EQ(order_state(sh, 2), "<none>");
  EXPECT_EQ(checksum(bj, "orders"), checksum(sh, "orders"));
}

TEST(DrcApplyTest, ConcurrentWritesToOneRowConvergeAndTheLoserIsKeptOnBothSites) {
  Site bj("bj"), sh("sh");
  ASSERT_TRUE(bj.put_order(1, 11, "created", 10).ok());
  pull(bj, sh);
  // Ownership overlaps (a failover before replication caught up): both sites
  // believe they own shard 11 and change the same order.
  sh.set_routes(routes_at(2, "sh"));
  bj.clock().advance_ms(10);
  sh.clock().advance_ms(20);  // sh's write is later: it wins last-writer-wins
  ASSERT_TRUE(bj.put_order(1, 11, "cancelled", 10).ok());
  auto sh_write = sh.dal().run({11, 2}, [](dal::Tx& tx) {
    return tx.exec("UPDATE orders SET state='delivered' WHERE id=1").status();
  });
  ASSERT_TRUE(sh_write.ok()) << sh_write.status.to_string();
  EXPECT_EQ(pull(bj, sh).conflicts, 1u);
  EXPECT_EQ(pull(sh, bj).conflicts, 1u);
  EXPECT_EQ(order_state(bj, 1), "delivered");
  EXPECT_EQ(order_state(sh, 1), "delivered");
  EXPECT_EQ(checksum(bj, "orders"), checksum(sh, "orders"));
  for (Site* s : {&bj, &sh}) {
    auto c = s->dal().conflicts();
    ASSERT_TRUE(c.ok());
    ASSERT_EQ(c.value().size(), 1u) << s->ezone();
    EXPECT_EQ(c.value()[0].winner.origin, "sh");
    EXPECT_EQ(c.value()[0].loser.origin, "bj");
    EXPECT_EQ(c.value()[0].loser_row, "[1,11,\"cancelled\",10]");
    EXPECT_EQ(c.value()[0].winner_row, "[1,11,\"delivered\",10]");
  }
  EXPECT_EQ(bj.metrics().counter("ezone_drc_conflicts_total", "", {{"table", "orders"}}).value(), 1u);
}

TEST(DrcApplyTest, ConcurrentChangesToDifferentColumnsStillConvergeToOneRow) {
  Site bj("bj"), sh("sh");
  ASSERT_TRUE(bj.put_order(1, 11, "created", 10).ok());
  pull(bj, sh);
  sh.set_routes(routes_at(2, "sh"));
  bj.clock().advance_ms(30);  // bj's write is later this time
  sh.clock().advance_ms(5);
  ASSERT_TRUE(bj.dal().run({11, 1}, [](dal::Tx& tx) {
    return tx.exec("UPDATE orders SET state='accepted' WHERE id=1").status();
  }).ok());
  ASSERT_TRUE(sh.dal().run({11, 2}, [](dal::Tx& tx) {
    return tx.exec("UPDATE orders SET amount=99 WHERE id=1").status();
  }).ok());
  pull(bj, sh);
  pull(sh, bj);
  EXPECT_EQ(checksum(bj, "orders"), checksum(sh, "orders"));
  EXPECT_EQ(order_state(sh, 1), "accepted");
  auto amount = sh.dal().query("SELECT amount FROM orders WHERE id=1");
  ASSERT_TRUE(amount.ok());
  EXPECT_EQ(std::get<int64_t>(amount.value()[0][0]), 10);  // the whole winning row, not a merge
}

TEST(DrcApplyTest, AWriteAfterApplyingAPeersChangeIsNeverAConflict) {
  Site bj("bj"), sh("sh");
  ASSERT_TRUE(bj.put_order(1, 11, "created").ok());
  pull(bj, sh);
  // A planned switchover: sh owns shard 11 from epoch 2, after applying all.
  sh.set_routes(routes_at(2, "sh"));
  bj.set_routes(routes_at(2, "sh"));
  // sh's clock is behind bj's: the HLC still orders its write after bj's.
  bj.clock().advance_ms(1000);
  auto w = sh.dal().run({11, 2}, [](dal::Tx& tx) {
    return tx.exec("UPDATE orders SET state='accepted' WHERE id=1").status();
  });
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(pull(sh, bj).conflicts, 0u);
  EXPECT_EQ(order_state(bj, 1), "accepted");
}

TEST(DrcApplyTest, AFullMeshOfThreeSitesAppliesEachChangeOnceAndNeverLoops) {
  Site bj("bj"), sh("sh"), gz("gz");
  auto three = routes_at(1);
  // gz owns shard 32 in this test.
  auto table = RouteTable::create(1,
                                  {{11, "beijing", "bj", ShardState::active},
                                   {31, "shanghai", "sh", ShardState::active},
                                   {32, "jiangsu", "gz", ShardState::active}},
                                  three->sites());
  ASSERT_TRUE(table.ok());
  auto routes = std::make_shared<const RouteTable>(table.value());
  for (Site* s : {&bj, &sh, &gz}) s->set_routes(routes);
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(bj.put_order(1000 + i, 11, "bj").ok());
    ASSERT_TRUE(sh.put_order(2000 + i, 31, "sh").ok());
    ASSERT_TRUE(gz.put_order(3000 + i, 32, "gz").ok());
  }
  for (int round = 0; round < 3; ++round) {
    for (Site* to : {&bj, &sh, &gz}) {
      for (Site* from : {&bj, &sh, &gz}) {
        if (to != from) pull(*from, *to, 7);
      }
    }
  }
  for (Site* s : {&bj, &sh, &gz}) {
    auto n = s->dal().query("SELECT COUNT(*) FROM orders");
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(std::get<int64_t>(n.value()[0][0]), 90) << s->ezone();
    EXPECT_EQ(s->dal().outbox_head(), 30u) << "only its own changes are in " << s->ezone() << "'s outbox";
    // Each row was applied once: one feed event per foreign row.
    auto feed = s->dal().feed_since(0, {}, 1000);
    ASSERT_TRUE(feed.ok());
    EXPECT_EQ(feed.value().size(), 90u) << s->ezone();
  }
  EXPECT_EQ(checksum(bj, "orders"), checksum(sh, "orders"));
  EXPECT_EQ(checksum(bj, "orders"), checksum(gz, "orders"));
  EXPECT_EQ(bj.dal().cursor("sh").value(), 30u);
  EXPECT_EQ(bj.dal().cursor("gz").value(), 30u);
}

TEST(DrcApplyTest, ASchemaMismatchHaltsThatTableOnlyAndResumesWhenFixed) {
  TempDir dir;
  const std::string wider =
      "CREATE TABLE orders(id INTEGER PRIMARY KEY, shard INTEGER NOT NULL, state TEXT NOT NULL, "
      "amount INTEGER NOT NULL DEFAULT 0, tip INTEGER)";
  Site bj("bj", wider);
  auto sh = std::make_unique<Site>("sh", "", dir.path());
  ASSERT_TRUE(bj.dal().run({11, 1}, [](dal::Tx& tx) {
    return tx.exec("INSERT INTO orders(id, shard, state, tip) VALUES(1, 11, 'created', 5)").status();
  }).ok());
  ASSERT_TRUE(bj.dal().run({}, [](dal::Tx& tx) {
    return tx.exec("INSERT INTO users(id, phone, name) VALUES(1, '138', 'li')").status();
  }).ok());
  auto r = pull(bj, *sh);
  EXPECT_EQ(r.parked, 1u);
  EXPECT_EQ(r.rows, 1u);  // the user went through
  EXPECT_EQ(checksum(bj, "users"), checksum(*sh, "users"));
  auto halted = sh->dal().halted();
  ASSERT_EQ(halted.size(), 1u);
  EXPECT_EQ(halted[0].table, "orders");
  EXPECT_EQ(halted[0].origin, "bj");
  EXPECT_NE(halted[0].reason.find("it has column 'tip INTEGER', which this site lacks"), std::string::npos) << halted[0].reason;
  EXPECT_EQ(order_state(*sh, 1), "<none>");  // nothing half-applied
  // The operator fixes sh's schema; the parked row is applied in order.
  sh.reset();
  sh = std::make_unique<Site>("sh", wider, dir.path());  // reopen: halted state is durable
  ASSERT_EQ(sh->dal().halted().size(), 1u);
  {
    auto db = dal::Db::open(sh->path(), false);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db.value()->exec("ALTER TABLE orders ADD COLUMN tip INTEGER").is_ok());
  }
  sh->open(wider);
  ASSERT_TRUE(bj.put_order(2, 11, "created").ok());
  pull(bj, *sh);
  EXPECT_TRUE(sh->dal().halted().empty());
  EXPECT_EQ(order_state(*sh, 1), "created");
  EXPECT_EQ(order_state(*sh, 2), "created");
  EXPECT_EQ(checksum(bj, "orders"), checksum(*sh, "orders"));
}

TEST(DrcApplyTest, TrimmingTheOutboxKeepsTheSequenceAndWhatPeersStillNeed) {
  TempDir dir;
  {
    Site bj("bj", "", dir.path());
    Site sh("sh");
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(bj.put_order(i, 11, "x").ok());
    pull(bj, sh);
    auto deleted = bj.dal().trim_outbox(100);  // more than the head: keeps the newest
    ASSERT_TRUE(deleted.ok()) << deleted.status().to_string();
    EXPECT_EQ(deleted.value(), 9u);
    auto rest = bj.dal().read_outbox(0, 100, 1 << 20);
    ASSERT_TRUE(rest.ok());
    ASSERT_EQ(rest.value().entries.size(), 1u);
    EXPECT_EQ(rest.value().entries[0].seq, 10u);
  }
  Site again("bj", "", dir.path());
  EXPECT_EQ(again.put_order(99, 11, "x").outbox_seq, 11u);  // no reuse after a restart
}

TEST(DrcApplyTest, ALongBacklogIsTrimmedInBoundedTransactionsUpToTheMark) {
  // 2,500 small entries (three transactions of at most 1,000) and 12 of
  // 300 KB (a few per MiB-bounded transaction): the chunks end exactly at
  // the mark, whichever bound cut them.
  Site bj("bj");
  for (int64_t i = 1; i <= 2500; ++i) ASSERT_TRUE(bj.put_order(i, 11, "x").ok());
  const std::string big(300 * 1024, 'b');
  for (int64_t i = 2501; i <= 2512; ++i) ASSERT_TRUE(bj.put_order(i, 11, big).ok());
  auto deleted = bj.dal().trim_outbox(2508);
  ASSERT_TRUE(deleted.ok()) << deleted.status().to_string();
  EXPECT_EQ(deleted.value(), 2508u);
  auto rest = bj.dal().read_outbox(0, 100, 64 << 20);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest.value().entries.size(), 4u);
  EXPECT_EQ(rest.value().entries.front().seq, 2509u);
  auto again = bj.dal().trim_outbox(2508);  // nothing left up to the mark
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value(), 0u);
  EXPECT_EQ(bj.dal().read_outbox(0, 100, 64 << 20).value().entries.size(), 4u);
}

}  // namespace
}  // namespace ezone::test
