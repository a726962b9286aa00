// Quarantine of rows written on two sites at once (issue 6, "return of the
// failed IDC"): the owner of the row's shard turns a conflict into a
// quarantine that every site applies, the DAL refuses writes to the row,
// and an operator's release at any site releases it everywhere, whatever
// order the control records arrive in.
#include <gtest/gtest.h>

#include "tests/storage/dal/dal_fixture.hpp"

namespace ezone::test {
namespace {

using dal::Value;

std::vector<dal::QuarantineEntry> quarantined(Site& s, bool with_released = false) {
  auto q = s.dal().quarantine(100, with_released);
  EXPECT_TRUE(q.ok()) << q.status().to_string();
  return q.ok() ? q.value() : std::vector<dal::QuarantineEntry>{};
}

dal::TxOutcome set_state(Site& s, int64_t id, const std::string& state) {
  return s.dal().run({11, s.epoch()}, [&](dal::Tx& tx) {
    return tx.exec("UPDATE orders SET state=?2 WHERE id=?1", {Value(id), Value(state)}).status();
  });
}

// Pulls both ways until neither side has anything new (control records
// written while applying travel on the next pull).
void sync(Site& a, Site& b) {
  for (int i = 0; i < 4; ++i) {
    pull(a, b);
    pull(b, a);
  }
}

// Orders 1 and 2 of shard 11 created at bj and replicated to the others;
// then ownership overlaps (sh took shard 11 at epoch 2 while bj, on its old
// table, still writes it), and in both_write_order_1 both change order 1.
void overlap_on_orders(Site& bj, Site& sh, Site* third = nullptr) {
  ASSERT_TRUE(bj.put_order(1, 11, "created", 10).ok());
  ASSERT_TRUE(bj.put_order(2, 11, "created", 20).ok());
  pull(bj, sh);
  if (third) pull(bj, *third);
  sh.set_routes(routes_at(2, "sh"));
  bj.clock().advance_ms(10);
  sh.clock().advance_ms(20);
}
void both_write_order_1(Site& bj, Site& sh, Site* third = nullptr) {
  ASSERT_NO_FATAL_FAILURE(overlap_on_orders(bj, sh, third));
  ASSERT_TRUE(set_state(bj, 1, "accepted").ok());
  ASSERT_TRUE(set_state(sh, 1, "cancelled").ok());
}

TEST(QuarantineTest, AConflictQuarantinesTheRowOnBothSitesAndWritesToItAreRefused) {
  Site bj("bj"), sh("sh");
  both_write_order_1(bj, sh);
  EXPECT_EQ(pull(bj, sh).conflicts, 1u);
  sync(bj, sh);
  bj.set_routes(routes_at(2, "sh"));
  for (Site* s : {&bj, &sh}) {
    auto q = quarantined(*s);
    ASSERT_EQ(q.size(), 1u) << s->ezone();
    EXPECT_EQ(q[0].table, "orders");
    EXPECT_EQ(q[0].pk, "[1]");
    EXPECT_EQ(q[0].shard, 11);
    EXPECT_EQ(q[0].origins, "bj,sh");
    EXPECT_EQ(q[0].conflicts, 1u);
    EXPECT_FALSE(q[0].released);
    EXPECT_EQ(s->metrics().counter("ezone_dal_quarantined_total", "", {{"table", "orders"}}).value(), 1u);
  }
  // The owner (sh) may not write the quarantined order; other rows are fine.
  auto refused = set_state(sh, 1, "delivered");
  EXPECT_EQ(refused.refusal, dal::Refusal::quarantined) << refused.status.to_string();
  EXPECT_EQ(refused.status.code(), Errc::conflict);
  EXPECT_NE(refused.status.message().find("ezctl quarantine resolve --table orders --pk '[1]'"), std::string::npos)
      << refused.status.message();
  EXPECT_EQ(sh.metrics().counter("ezone_dal_refusals_total", "", {{"reason", "quarantined"}}).value(), 1u);
  EXPECT_TRUE(set_state(sh, 2, "accepted").ok());
  // Deleting it is a write too.
  auto removed = sh.dal().run({11, 2}, [](dal::Tx& tx) { return tx.exec("DELETE FROM orders WHERE id=1").status(); });
  EXPECT_EQ(removed.refusal, dal::Refusal::quarantined);
}

TEST(QuarantineTest, AReleaseAtOneSiteReleasesEverySiteAndSurvivesARestart) {
  Site bj("bj"), sh("sh");
  both_write_order_1(bj, sh);
  sync(bj, sh);
  bj.set_routes(routes_at(2, "sh"));
  ASSERT_EQ(quarantined(bj).size(), 1u);
  auto seq = bj.dal().release_quarantine("orders", "1");  // a bare key is taken as [1]
  ASSERT_TRUE(seq.ok()) << seq.status().to_string();
  EXPECT_EQ(seq.value(), bj.dal().outbox_head());
  EXPECT_TRUE(quarantined(bj).empty());
  EXPECT_EQ(bj.metrics().counter("ezone_dal_quarantine_released_total", "", {{"table", "orders"}}).value(), 1u);

  ASSERT_EQ(quarantined(sh).size(), 1u);
  EXPECT_EQ(set_state(sh, 1, "delivered").refusal, dal::Refusal::quarantined);
  pull(bj, sh);
  EXPECT_TRUE(quarantined(sh).empty());
  auto history = quarantined(sh, true);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_TRUE(history[0].released);
  EXPECT_EQ(history[0].released_by, "bj");
  EXPECT_TRUE(set_state(sh, 1, "delivered").ok());
  // A second release finds nothing.
  EXPECT_EQ(sh.dal().release_quarantine("orders", "[1]").status().code(), Errc::not_found);
  sync(bj, sh);
  EXPECT_EQ(bj.dal().checksum("orders").value(), sh.dal().checksum("orders").value());
  sh.open();
  sh.set_routes(routes_at(2, "sh"));
  EXPECT_TRUE(quarantined(sh).empty());
  EXPECT_TRUE(set_state(sh, 1, "done").ok());
}

std::string state_of(Site& s, int64_t id) {
  auto rows = s.dal().query("SELECT state FROM orders WHERE id=?1", {Value(id)});
  EXPECT_TRUE(rows.ok()) << rows.status().to_string();
  if (!rows.ok() || rows.value().empty()) return "(none)";
  return std::get<std::string>(rows.value()[0][0]);
}

TEST(QuarantineTest, AReleaseCanKeepTheLosingVersionOnEverySite) {
  Site bj("bj"), sh("sh");
  both_write_order_1(bj, sh);
  sync(bj, sh);
  bj.set_routes(routes_at(2, "sh"));
  // The newer write (sh's) won everywhere; the business says bj's was right.
  EXPECT_EQ(state_of(bj, 1), "cancelled");
  EXPECT_EQ(state_of(sh, 1), "cancelled");
  // It is a write: bj does not own shard 11 any more, so it is refused
  // there as any write would be, and nothing is released.
  auto at_bj = bj.dal().release_quarantine_keeping("orders", "[1]", "bj");
  EXPECT_EQ(at_bj.refusal, dal::Refusal::wrong_zone) << at_bj.status.to_string();
  EXPECT_EQ(quarantined(bj).size(), 1u);
  // Versions that are not among the row's conflicts, and rows that are
  // not quarantined.
  EXPECT_EQ(sh.dal().release_quarantine_keeping("orders", "[1]", "gz").status.code(), Errc::not_found);
  EXPECT_EQ(sh.dal().release_quarantine_keeping("orders", "[1]", "bj", 12345).status.code(), Errc::not_found);
  EXPECT_EQ(sh.dal().release_quarantine_keeping("orders", "[2]", "bj").status.code(), Errc::not_found);
  EXPECT_EQ(sh.dal().release_quarantine_keeping("orders", "[1,2]", "bj").status.code(), Errc::invalid_argument);
  EXPECT_EQ(sh.dal().release_quarantine_keeping("nothing", "[1]", "bj").status.code(), Errc::not_found);
  ASSERT_EQ(quarantined(sh).size(), 1u);

  auto kept = sh.dal().release_quarantine_keeping("orders", "1", "bj");
  ASSERT_TRUE(kept.ok()) << kept.status.to_string();
  EXPECT_EQ(kept.rows, 1);
  EXPECT_EQ(kept.outbox_seq + 1, sh.dal().outbox_head()) << "the release record follows the write";
  EXPECT_EQ(state_of(sh, 1), "accepted");
  EXPECT_TRUE(quarantined(sh).empty());
  EXPECT_EQ(sh.metrics().counter("ezone_dal_quarantine_released_total", "", {{"table", "orders"}}).value(), 1u);
  sync(bj, sh);
  EXPECT_TRUE(quarantined(bj).empty());
  EXPECT_EQ(state_of(bj, 1), "accepted");
  EXPECT_EQ(bj.dal().checksum("orders").value(), sh.dal().checksum("orders").value());
  // The kept version is a successor of the standing one: no new conflict.
  EXPECT_EQ(bj.dal().conflicts().value().size(), 1u);
  EXPECT_EQ(sh.dal().conflicts().value().size(), 1u);
  EXPECT_TRUE(set_state(sh, 1, "delivered").ok());
  EXPECT_EQ(sh.dal().release_quarantine_keeping("orders", "[1]", "bj").status.code(), Errc::not_found);
}

TEST(QuarantineTest, KeepingADeletedVersionDeletesTheRowEverywhere) {
  Site bj("bj"), sh("sh");
  ASSERT_NO_FATAL_FAILURE(overlap_on_orders(bj, sh));
  auto removed = bj.dal().run({11, bj.epoch()}, [](dal::Tx& tx) { return tx.exec("DELETE FROM orders WHERE id=1").status(); });
  ASSERT_TRUE(removed.ok()) << removed.status.to_string();
  ASSERT_TRUE(set_state(sh, 1, "cancelled").ok());
  sync(bj, sh);
  bj.set_routes(routes_at(2, "sh"));
  ASSERT_EQ(quarantined(sh).size(), 1u);
  EXPECT_EQ(state_of(sh, 1), "cancelled");
  auto kept = sh.dal().release_quarantine_keeping("orders", "[1]", "bj");
  ASSERT_TRUE(kept.ok()) << kept.status.to_string();
  EXPECT_EQ(state_of(sh, 1), "(none)");
  sync(bj, sh);
  EXPECT_EQ(state_of(bj, 1), "(none)");
  EXPECT_TRUE(quarantined(bj).empty());
  EXPECT_EQ(bj.dal().checksum("orders").value(), sh.dal().checksum("orders").value());
}

TEST(QuarantineTest, QuarantineSurvivesARestart) {
  Site bj("bj"), sh("sh");
  both_write_order_1(bj, sh);
  pull(bj, sh);
  sh.open();
  sh.set_routes(routes_at(2, "sh"));
  EXPECT_EQ(set_state(sh, 1, "delivered").refusal, dal::Refusal::quarantined);
}

TEST(QuarantineTest, QuarantinesAndReleasesConvergeInAnyOrder) {
  // Three sites: gz hears sh's quarantine and release before bj's write,
  // and bj's own quarantine of the same versions last.
  Site bj("bj"), sh("sh"), gz("gz");
  both_write_order_1(bj, sh, &gz);
  pull(bj, sh);  // sh, the owner, quarantines
  ASSERT_EQ(quarantined(sh).size(), 1u);
  ASSERT_TRUE(sh.dal().release_quarantine("orders", "[1]").ok());
  pull(sh, gz);  // sh's write, its quarantine and its release
  EXPECT_TRUE(quarantined(gz).empty());
  EXPECT_EQ(pull(bj, gz).conflicts, 1u);  // gz sees the conflict but does not own shard 11
  EXPECT_TRUE(quarantined(gz).empty());
  pull(sh, bj);  // bj, on its old table, quarantines too, then gets sh's release
  pull(bj, gz);
  pull(bj, sh);
  for (Site* s : {&bj, &sh, &gz}) {
    EXPECT_TRUE(quarantined(*s).empty()) << s->ezone();
    EXPECT_EQ(quarantined(*s, true).size(), 1u) << s->ezone();
  }
}

TEST(QuarantineTest, ASiteThatDoesNotOwnTheShardRecordsTheConflictButDoesNotQuarantine) {
  // Versions reordered across origins: bj wrote v1, sh took the shard over
  // (a planned switchover: it had v1) and wrote v2 on top; gz hears v2
  // before v1. gz records that as a conflict, but no write was concurrent,
  // and the owner never sees one: nothing is quarantined.
  Site bj("bj"), sh("sh"), gz("gz");
  ASSERT_TRUE(bj.put_order(1, 11, "created", 10).ok());
  pull(bj, sh);
  bj.set_routes(routes_at(2, "sh"));
  sh.set_routes(routes_at(2, "sh"));
  gz.set_routes(routes_at(2, "sh"));
  sh.clock().advance_ms(50);
  ASSERT_TRUE(set_state(sh, 1, "accepted").ok());
  pull(sh, gz);  // v2 first: gz has no row, so v2's base is not what gz holds
  pull(bj, gz);
  pull(sh, bj);
  EXPECT_GE(gz.dal().conflicts().value().size(), 1u);
  for (Site* s : {&bj, &sh, &gz}) EXPECT_TRUE(quarantined(*s).empty()) << s->ezone();
  EXPECT_EQ(bj.dal().checksum("orders").value(), gz.dal().checksum("orders").value());
}

TEST(QuarantineTest, ANewerConflictAfterAReleaseQuarantinesTheRowAgain) {
  Site bj("bj"), sh("sh");
  both_write_order_1(bj, sh);
  sync(bj, sh);
  ASSERT_TRUE(sh.dal().release_quarantine("orders", "[1]").ok());
  sync(bj, sh);
  ASSERT_TRUE(quarantined(bj).empty());
  // Ownership overlaps again, and both write order 1 again.
  bj.set_routes(routes_at(3, "bj"));
  sh.set_routes(routes_at(3, "sh"));
  bj.clock().advance_ms(10);
  sh.clock().advance_ms(10);
  ASSERT_TRUE(set_state(bj, 1, "x").ok());
  ASSERT_TRUE(set_state(sh, 1, "y").ok());
  sync(bj, sh);
  EXPECT_EQ(quarantined(bj).size(), 1u);
  EXPECT_EQ(quarantined(sh).size(), 1u);
}

TEST(QuarantineTest, AReleaseInABatchThatFailsLeavesTheRowQuarantined) {
  Site bj("bj"), sh("sh");
  both_write_order_1(bj, sh);
  sync(bj, sh);
  bj.set_routes(routes_at(2, "sh"));
  ASSERT_TRUE(bj.dal().release_quarantine("orders", "[1]").ok());
  auto cursor = sh.dal().cursor("bj");
  ASSERT_TRUE(cursor.ok());
  auto batch = bj.dal().read_outbox(cursor.value(), 100, 1 << 20);
  ASSERT_TRUE(batch.ok());
  ASSERT_FALSE(batch.value().entries.empty());
  // The release, then a record that fails while applying: nothing commits.
  dal::RowChange bad;
  bad.table = "_ezone_quarantine";
  bad.pk = {Value(int64_t{1})};
  const uint64_t next = batch.value().entries.back().seq + 1;
  batch.value().entries.push_back(dal::OutboxEntry{next, 5, -1, 0, dal::encode_changes({bad})});
  batch.value().head_seq = next;
  EXPECT_FALSE(sh.dal().apply(batch.value()).ok());
  EXPECT_EQ(quarantined(sh).size(), 1u);
  EXPECT_EQ(set_state(sh, 1, "delivered").refusal, dal::Refusal::quarantined);
  pull(bj, sh);  // the real batch
  EXPECT_TRUE(quarantined(sh).empty());
  EXPECT_TRUE(set_state(sh, 1, "delivered").ok());
}

TEST(QuarantineTest, AMalformedControlRecordFromAPeerIsRefusedWhole) {
  Site bj("bj"), sh("sh");
  dal::RowChange bad;
  bad.table = "_ezone_quarantine";
  bad.op = dal::ChangeOp::remove;
  bad.pk = {Value(int64_t{1})};
  dal::OutboxBatch batch;
  batch.origin = "bj";
  batch.head_seq = 1;
  batch.entries.push_back(dal::OutboxEntry{1, 5, -1, 0, dal::encode_changes({bad})});
  auto r = sh.dal().apply(batch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Errc::parse_error);
  EXPECT_EQ(sh.dal().cursor("bj").value(), 0u);
}

}  // namespace
}  // namespace ezone::test
