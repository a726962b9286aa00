// An origin's outbox that is not the one a site's cursor counts in (a
// replaced database, one restored from an older copy) is refused, never
// skipped up to the cursor (storage/dal/timeline_check.hpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/crc32c.hpp"
#include "storage/dal/reseed.hpp"
#include "storage/dal/snapshot_store.hpp"
#include "storage/dal/sqlite_db.hpp"
#include "storage/dal/timeline_check.hpp"
#include "tests/storage/dal/dal_fixture.hpp"
#include "tests/support/eventually.hpp"

namespace ezone::test {
namespace {

using dal::OriginCursor;
using dal::OutboxBatch;
using dal::TimelineVerdict;
using Kind = TimelineVerdict::Kind;

uint64_t refused(Site& s, const std::string& origin, const std::string& reason) {
  return s.metrics().counter("ezone_drc_refused_batches_total", "", {{"origin", origin}, {"reason", reason}}).value();
}

int64_t count_orders(Site& s) {
  auto rows = s.dal().query("SELECT COUNT(*) FROM orders");
  EXPECT_TRUE(rows.ok());
  return rows.ok() ? std::get<int64_t>(rows.value()[0][0]) : -1;
}

// What `to` gets from `from` now: its next batch after `to`'s cursor, as a
// puller sees it (check_origin) and as the writer applies it.
struct Pulled {
  Status checked;
  Result<dal::ApplyReport> applied;
};
Pulled pull_once(Site& from, Site& to) {
  auto cursor = to.dal().cursor(from.ezone());
  EXPECT_TRUE(cursor.ok());
  auto batch = from.dal().read_outbox(cursor.value(), 100, 1 << 20);
  EXPECT_TRUE(batch.ok());
  auto wire = dal::decode_batch(dal::encode_batch(batch.value()));
  EXPECT_TRUE(wire.ok()) << wire.status().to_string();
  return {to.dal().check_origin(wire.value()), to.dal().apply(wire.value())};
}

void remove_database(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

TEST(TimelineTest, ADatabaseKeepsItsLineageAcrossOpensAndANewOneGetsAnother) {
  Site bj("bj");
  const uint64_t first = bj.dal().lineage();
  EXPECT_NE(first, 0u);
  EXPECT_EQ(bj.dal().replaced_lineage(), 0u);
  bj.close();
  bj.open();
  EXPECT_EQ(bj.dal().lineage(), first);
  bj.close();
  remove_database(bj.path());
  bj.open();
  EXPECT_NE(bj.dal().lineage(), first);
  auto batch = bj.dal().read_outbox(0, 10, 1 << 20);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch.value().lineage, bj.dal().lineage());
}

TEST(TimelineTest, ADatabaseOfAnEarlierBuildGetsItsLineageAndItsCursorsTheirsAtOpen) {
  Site bj("bj"), sh("sh");
  for (int64_t id = 1; id <= 3; ++id) ASSERT_TRUE(bj.put_order(id, 11, "created").ok());
  pull(bj, sh);
  sh.close();
  {
    auto db = dal::Db::open(sh.path(), false);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db.value()->exec("ALTER TABLE _ezone_cursor DROP COLUMN lineage; "
                                 "DELETE FROM _ezone_meta WHERE name='lineage'").is_ok());
  }
  sh.open();
  EXPECT_NE(sh.dal().lineage(), 0u);
  EXPECT_EQ(sh.dal().cursor("bj").value(), 3u);
  for (int64_t id = 4; id <= 5; ++id) ASSERT_TRUE(bj.put_order(id, 11, "created").ok());
  Pulled next = pull_once(bj, sh);  // a cursor without a lineage takes the origin's
  ASSERT_TRUE(next.applied.ok()) << next.applied.status().to_string();
  EXPECT_EQ(next.applied.value().cursor, 5u);
  sh.close();
  auto db = dal::Db::open(sh.path(), true);
  ASSERT_TRUE(db.ok());
  auto row = db.value()->query("SELECT lineage FROM _ezone_cursor WHERE origin='bj'");
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(static_cast<uint64_t>(std::get<int64_t>(row.value()[0][0])), bj.dal().lineage());
}

TEST(TimelineTest, AReplacedOriginDatabaseIsRefusedInsteadOfSkippedUpToTheCursor) {
  Site bj("bj"), sh("sh");
  for (int64_t id = 1; id <= 10; ++id) ASSERT_TRUE(bj.put_order(id, 11, "created").ok());
  pull(bj, sh);
  ASSERT_EQ(sh.dal().cursor("bj").value(), 10u);
  // bj's disk is replaced: an empty database, whose seqs start again at 1.
  bj.close();
  remove_database(bj.path());
  bj.open();
  Pulled empty = pull_once(bj, sh);  // nothing written yet: head 0
  EXPECT_EQ(empty.checked.code(), Errc::conflict);
  EXPECT_NE(empty.checked.message().find("another database"), std::string::npos) << empty.checked.message();
  EXPECT_NE(empty.checked.message().find("--reseed-from"), std::string::npos) << empty.checked.message();
  for (int64_t id = 101; id <= 112; ++id) ASSERT_TRUE(bj.put_order(id, 11, "created").ok());
  // Seqs 1..12: without the check, 1..10 were taken for a repeated pull and
  // 11..12 applied on top.
  Pulled after = pull_once(bj, sh);
  EXPECT_EQ(after.checked.code(), Errc::conflict);
  ASSERT_FALSE(after.applied.ok());
  EXPECT_EQ(after.applied.status().code(), Errc::conflict);
  EXPECT_EQ(count_orders(sh), 10);
  EXPECT_EQ(sh.dal().cursor("bj").value(), 10u);
  EXPECT_EQ(refused(sh, "bj", "replaced"), 4u);  // each pull: the check and the apply
}

TEST(TimelineTest, AnOriginRestoredFromAnOlderCopyIsRefusedAsBehindThenAsForked) {
  TempDir backup;
  Site bj("bj"), sh("sh");
  for (int64_t id = 1; id <= 5; ++id) ASSERT_TRUE(bj.put_order(id, 11, "created").ok());
  bj.close();  // the last connection folds the WAL into the file
  const std::string copy = backup.path() + "/bj.db";
  std::filesystem::copy_file(bj.path(), copy);
  bj.open();
  for (int64_t id = 6; id <= 10; ++id) ASSERT_TRUE(bj.put_order(id, 11, "created").ok());
  pull(bj, sh);
  ASSERT_EQ(sh.dal().cursor("bj").value(), 10u);
  // bj is restored from the copy: same lineage, outbox at seq 5.
  bj.close();
  remove_database(bj.path());
  std::filesystem::copy_file(copy, bj.path());
  bj.open();
  Pulled behind = pull_once(bj, sh);
  EXPECT_EQ(behind.checked.code(), Errc::conflict);
  EXPECT_NE(behind.checked.message().find("ends at seq 5"), std::string::npos) << behind.checked.message();
  EXPECT_EQ(refused(sh, "bj", "behind"), 2u);
  // bj writes on (seqs 6..12 again, with other rows): its entry 10 is not
  // the one sh applied.
  for (int64_t id = 206; id <= 212; ++id) ASSERT_TRUE(bj.put_order(id, 11, "created").ok());
  Pulled forked = pull_once(bj, sh);
  EXPECT_EQ(forked.checked.code(), Errc::conflict);
  EXPECT_NE(forked.checked.message().find("entry 10"), std::string::npos) << forked.checked.message();
  ASSERT_FALSE(forked.applied.ok());
  EXPECT_EQ(refused(sh, "bj", "forked"), 2u);
  EXPECT_EQ(count_orders(sh), 10);
  // A repeated pull from before the cursor shows the fork too.
  auto early = bj.dal().read_outbox(8, 100, 1 << 20);
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(sh.dal().check_origin(early.value()).code(), Errc::conflict);
}

TEST(TimelineTest, TheSameOriginGoesOnAfterRestartsAndTrims) {
  Site bj("bj"), sh("sh");
  for (int64_t id = 1; id <= 10; ++id) ASSERT_TRUE(bj.put_order(id, 11, "created").ok());
  pull(bj, sh);
  ASSERT_TRUE(bj.dal().trim_outbox(9).ok());  // as drc trims: keeps the entry at the cursor
  bj.close();
  bj.open();
  for (int64_t id = 11; id <= 15; ++id) ASSERT_TRUE(bj.put_order(id, 11, "created").ok());
  Pulled next = pull_once(bj, sh);
  EXPECT_TRUE(next.checked.is_ok()) << next.checked.to_string();
  ASSERT_TRUE(next.applied.ok()) << next.applied.status().to_string();
  EXPECT_EQ(next.applied.value().cursor, 15u);
  EXPECT_EQ(count_orders(sh), 15);
}

TEST(ReseedTest, AReseededOriginIsFollowedFromSeqOneAndFollowsItsSourceFromTheCopysEnd) {
  TempDir dir;
  Site bj("bj"), sh("sh");
  for (int64_t id = 1; id <= 5; ++id) ASSERT_TRUE(bj.put_order(id, 11, "created").ok());
  for (int64_t id = 51; id <= 53; ++id) ASSERT_TRUE(sh.put_order(id, 31, "created").ok());
  pull(bj, sh);
  pull(sh, bj);
  // sh trims what bj applied, as drc does: bj could not pull it again.
  ASSERT_TRUE(sh.dal().trim_outbox(2).ok());
  bj.close();
  remove_database(bj.path());
  const std::string copy = dir.path() + "/seed.db";
  ASSERT_TRUE(sh.dal().snapshot_into(copy).is_ok());
  auto seed = dal::adopt_seed(copy, "bj", "sh");
  ASSERT_TRUE(seed.ok()) << seed.status().to_string();
  EXPECT_EQ(seed->source, "sh");
  EXPECT_EQ(seed->source_lineage, sh.dal().lineage());
  EXPECT_EQ(seed->source_head, 3u);
  EXPECT_EQ(seed->replaced_seq, 5u);
  EXPECT_NE(seed->lineage, 0u);
  EXPECT_NE(seed->replaces, 0u);
  auto unreplicated = dal::count_unreplicated(bj.path(), *seed);  // the file is gone
  ASSERT_TRUE(unreplicated.ok());
  EXPECT_EQ(unreplicated.value(), 0u);
  auto saved = dal::install_seed(copy, bj.path(), 1234);
  ASSERT_TRUE(saved.ok()) << saved.status().to_string();
  EXPECT_EQ(saved.value(), "");  // nothing to move aside
  bj.open();
  EXPECT_EQ(bj.dal().lineage(), seed->lineage);
  EXPECT_EQ(bj.dal().replaced_lineage(), seed->replaces);
  EXPECT_EQ(bj.dal().outbox_head(), 0u);
  EXPECT_EQ(count_orders(bj), 8);
  EXPECT_EQ(bj.dal().checksum("orders").value(), sh.dal().checksum("orders").value());
  // bj's new outbox: sh starts it again from seq 1.
  for (int64_t id = 6; id <= 7; ++id) ASSERT_TRUE(bj.put_order(id, 11, "created").ok());
  Pulled restart = pull_once(bj, sh);  // pulled after sh's old cursor, 5: nothing there
  EXPECT_TRUE(restart.checked.is_ok()) << restart.checked.to_string();
  ASSERT_TRUE(restart.applied.ok()) << restart.applied.status().to_string();
  EXPECT_TRUE(restart.applied.value().restarted);
  EXPECT_EQ(restart.applied.value().cursor, 0u);
  EXPECT_EQ(sh.dal().cursor("bj").value(), 0u);
  Pulled next = pull_once(bj, sh);
  ASSERT_TRUE(next.applied.ok()) << next.applied.status().to_string();
  EXPECT_FALSE(next.applied.value().restarted);
  EXPECT_EQ(next.applied.value().entries, 2u);
  EXPECT_EQ(sh.dal().cursor("bj").value(), 2u);
  // And bj follows sh after the copy's end, although sh trimmed before it.
  ASSERT_TRUE(sh.put_order(54, 31, "created").ok());
  Pulled from_sh = pull_once(sh, bj);
  ASSERT_TRUE(from_sh.applied.ok()) << from_sh.applied.status().to_string();
  EXPECT_EQ(from_sh.applied.value().cursor, 4u);
  EXPECT_EQ(bj.dal().checksum("orders").value(), sh.dal().checksum("orders").value());
  EXPECT_EQ(count_orders(sh), 11);
}

TEST(ReseedTest, AReseededEzonesClockStartsAboveTheVersionsItWroteBefore) {
  // restart_hlc_floor (tests/sim) again: bj wrote with a clock two minutes
  // ahead, then came back re-seeded, as a new process whose clock is right.
  // The copy holds bj's old versions, but not the cursor whose HLC bounded
  // them.
  TempDir dir, bj_dir;
  Site sh("sh");
  ASSERT_TRUE(sh.put_order(50, 31, "created").ok());
  dal::TxOutcome old;
  std::string path;
  {
    Site bj("bj", "", bj_dir.path());
    bj.clock().advance_ms(120'000);
    old = bj.put_order(1, 11, "created");
    ASSERT_TRUE(old.ok());
    pull(bj, sh);
    path = bj.path();
  }
  remove_database(path);
  const std::string copy = dir.path() + "/seed.db";
  ASSERT_TRUE(sh.dal().snapshot_into(copy).is_ok());
  auto seed = dal::adopt_seed(copy, "bj", "sh");
  ASSERT_TRUE(seed.ok()) << seed.status().to_string();
  ASSERT_TRUE(dal::install_seed(copy, path, 1).ok());
  Site bj("bj", "", bj_dir.path());  // a new process: its clock two minutes behind the old writes
  auto next = bj.put_order(1, 11, "accepted");
  ASSERT_TRUE(next.ok()) << next.status.to_string();
  EXPECT_GT(next.hlc, old.hlc);
  ASSERT_TRUE(pull_once(bj, sh).applied.value().restarted);  // sh follows bj's new outbox from seq 1
  ASSERT_EQ(pull_once(bj, sh).applied.value().entries, 1u);  // and takes the write as the newer version
  auto rows = sh.dal().query("SELECT state FROM orders WHERE id=1");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(std::get<std::string>(rows.value()[0][0]), "accepted");
}

TEST(ReseedTest, RestartOriginResetsTheCursorOnceAndOnlyForTheLineageItReplaced) {
  Site bj("bj"), sh("sh");
  for (int64_t id = 1; id <= 3; ++id) ASSERT_TRUE(bj.put_order(id, 11, "created").ok());
  pull(bj, sh);
  auto batch = bj.dal().read_outbox(3, 10, 1 << 20);
  ASSERT_TRUE(batch.ok());
  OutboxBatch reseeded = batch.value();
  reseeded.replaces = reseeded.lineage;
  reseeded.lineage += 1;
  bool restarts = false;
  ASSERT_TRUE(sh.dal().check_origin(reseeded, &restarts).is_ok());
  EXPECT_TRUE(restarts);
  ASSERT_TRUE(sh.dal().restart_origin(reseeded).is_ok());
  EXPECT_EQ(sh.dal().cursor("bj").value(), 0u);
  ASSERT_TRUE(sh.dal().check_origin(reseeded, &restarts).is_ok());
  EXPECT_FALSE(restarts);  // the cursor is in the new lineage now
  ASSERT_TRUE(sh.dal().restart_origin(reseeded).is_ok());  // nothing to do
  OutboxBatch other = batch.value();
  other.lineage += 2;
  other.replaces = 12345;
  EXPECT_EQ(sh.dal().restart_origin(other).code(), Errc::ok);  // not a restart: left alone
  EXPECT_EQ(sh.dal().check_origin(other).code(), Errc::conflict);
}

TEST(ReseedTest, APeerThatAppliedMoreOfTheOldOutboxOrCannotBeAskedMakesTheSourceShort) {
  dal::SeedReport seed;
  seed.source = "sh";
  seed.replaces = 7;
  seed.replaced_seq = 100;
  EXPECT_TRUE(dal::seed_shortfalls(seed, {}).empty());
  // As far as the source in the same lineage: fine.
  EXPECT_TRUE(dal::seed_shortfalls(seed, {{"gz", 100, 7, ""}, {"sz", 100, 7, ""}}).empty());
  // In another lineage (one of them has not followed an earlier re-seed):
  // the new outbox names lineage 7 as the one it replaces, which such a
  // peer refuses (check_timeline), and it would stop replicating this ezone.
  auto other_lineage = dal::seed_shortfalls(seed, {{"sz", 500, 8, ""}});
  ASSERT_EQ(other_lineage.size(), 1u);
  EXPECT_NE(other_lineage[0].find("'sz' applied this ezone's outbox of lineage 8, 'sh' that of lineage 7"),
            std::string::npos)
      << other_lineage[0];
  EXPECT_NE(other_lineage[0].find("would refuse the new outbox"), std::string::npos) << other_lineage[0];
  dal::SeedReport from_none = seed;  // the source applied none of this ezone
  from_none.replaces = 0;
  from_none.replaced_seq = 0;
  auto none = dal::seed_shortfalls(from_none, {{"gz", 3, 7, ""}, {"wh", 0, 0, ""}});
  ASSERT_EQ(none.size(), 1u);
  EXPECT_NE(none[0].find("'gz' applied this ezone's outbox of lineage 7, 'sh' none of it"), std::string::npos)
      << none[0];
  // Behind the source, or never pulled: it would never get the changes
  // between, which only the lost outbox held.
  auto behind = dal::seed_shortfalls(seed, {{"gz", 90, 7, ""}, {"wh", 0, 0, ""}});
  ASSERT_EQ(behind.size(), 2u);
  EXPECT_NE(behind[0].find("'gz' applied this ezone's old outbox only up to seq 90, 'sh' up to 100"), std::string::npos)
      << behind[0];
  EXPECT_NE(behind[0].find("never get the 10 changes between"), std::string::npos) << behind[0];
  EXPECT_NE(behind[1].find("'wh' applied this ezone's old outbox only up to seq 0"), std::string::npos) << behind[1];
  auto ahead = dal::seed_shortfalls(seed, {{"gz", 120, 7, ""}});
  ASSERT_EQ(ahead.size(), 1u);
  EXPECT_NE(ahead[0].find("'gz' applied this ezone's old outbox up to seq 120, 'sh' only up to 100"), std::string::npos)
      << ahead[0];
  EXPECT_NE(ahead[0].find("keeps 20 changes"), std::string::npos) << ahead[0];
  auto unknown = dal::seed_shortfalls(seed, {{"gz", 0, 0, "connection refused"}});
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_NE(unknown[0].find("'gz' could not be asked"), std::string::npos);
}

TEST(ReseedTest, ACopyThatIsNotADalDatabaseOrIsDamagedIsRefused) {
  TempDir dir;
  const std::string junk = dir.path() + "/junk.db";
  {
    auto db = dal::Db::open(junk, false);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db.value()->exec("CREATE TABLE t(x)").is_ok());
  }
  auto not_dal = dal::adopt_seed(junk, "bj", "sh");
  ASSERT_FALSE(not_dal.ok());
  EXPECT_EQ(not_dal.status().code(), Errc::invalid_argument);
  EXPECT_NE(not_dal.status().message().find("not an ezone DAL database"), std::string::npos);
  Site sh("sh");
  const std::string copy = dir.path() + "/seed.db";
  ASSERT_TRUE(sh.dal().snapshot_into(copy).is_ok());
  EXPECT_EQ(sh.dal().snapshot_into(copy).code(), Errc::io_error);  // it exists
  EXPECT_EQ(dal::adopt_seed(copy, "sh", "sh").status().code(), Errc::invalid_argument);  // itself
  {
    std::fstream f(copy, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.write("garbage-garbage-garbage", 23);  // the header's tail: no longer a database
  }
  EXPECT_FALSE(dal::adopt_seed(copy, "bj", "sh").ok());
}

TEST(SnapshotStoreTest, ACopyIsMadeOnItsThreadServedInPiecesAndExpiresWhenNobodyReadsIt) {
  TempDir dir;
  Site sh("sh");
  for (int64_t id = 1; id <= 50; ++id) ASSERT_TRUE(sh.put_order(id, 31, "created").ok());
  ManualClock clock(5000);
  Metrics metrics("sh");
  auto store = dal::SnapshotStore::open(sh.dal(), dir.path() + "/copies", metrics, clock);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  dal::SnapshotStore& copies = *store.value();
  auto made = copies.create();
  ASSERT_TRUE(made.ok()) << made.status().to_string();
  EXPECT_EQ(made->ezone, "sh");
  EXPECT_EQ(made->lineage, sh.dal().lineage());
  dal::SnapshotInfo info;
  ASSERT_TRUE(eventually([&] {
    info = copies.info(made->id).value();
    return info.state != "creating";
  }));
  ASSERT_EQ(info.state, "ready") << info.error;
  std::string whole;
  for (int i = 0; i < 10000; ++i) {
    auto piece = copies.read(made->id, whole.size(), 1000);
    ASSERT_TRUE(piece.ok()) << piece.status().to_string();
    if (piece->empty()) break;
    whole += *piece;
  }
  EXPECT_EQ(whole.size(), info.bytes);
  EXPECT_EQ(crc32c(whole), info.crc32c);
  EXPECT_EQ(whole.substr(0, 15), "SQLite format 3");
  // Read now and then, it stays; unread for 10 minutes, it goes.
  clock.advance_ms(dal::kSnapshotIdleMs - 1);
  ASSERT_TRUE(copies.info(made->id).ok());
  clock.advance_ms(dal::kSnapshotIdleMs + 1);
  EXPECT_EQ(copies.info(made->id).status().code(), Errc::not_found);
  EXPECT_EQ(metrics.counter("ezone_dal_snapshots_expired_total", "").value(), 1u);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path() + "/copies"));
  EXPECT_EQ(copies.remove(made->id).code(), Errc::not_found);
  EXPECT_EQ(copies.read("nope", 0, 10).status().code(), Errc::not_found);
}

// ---- the rules alone ----

OutboxBatch batch_of(uint64_t lineage, uint64_t head, uint64_t after, HlcTime after_hlc) {
  OutboxBatch b;
  b.origin = "bj";
  b.lineage = lineage;
  b.head_seq = head;
  b.after = after;
  b.after_hlc = after_hlc;
  return b;
}

TEST(TimelineCheck, EachRuleAndWhatItLetsThrough) {
  const OriginCursor cursor{true, 10, 500, 7};
  EXPECT_EQ(check_timeline("bj", cursor, batch_of(7, 12, 10, 500)).kind, Kind::apply);
  EXPECT_EQ(check_timeline("bj", cursor, batch_of(7, 12, 10, 0)).kind, Kind::apply);  // entry 10 trimmed
  EXPECT_EQ(check_timeline("bj", cursor, batch_of(8, 12, 10, 500)).reason, "replaced");
  EXPECT_EQ(check_timeline("bj", cursor, batch_of(7, 9, 10, 0)).reason, "behind");
  // A batch read before the cursor moved past its head (late, reordered).
  EXPECT_EQ(check_timeline("bj", cursor, batch_of(7, 9, 8, 0)).kind, Kind::apply);
  EXPECT_EQ(check_timeline("bj", cursor, batch_of(7, 12, 10, 501)).reason, "forked");
  // Entry 10 inside the batch (a pull from before the cursor).
  OutboxBatch early = batch_of(7, 12, 8, 0);
  for (uint64_t seq = 9; seq <= 12; ++seq) early.entries.push_back({seq, HlcTime(seq == 10 ? 499 : 1), 11, 0, ""});
  EXPECT_EQ(check_timeline("bj", cursor, early).reason, "forked");
  early.entries[1].hlc = 500;
  EXPECT_EQ(check_timeline("bj", cursor, early).kind, Kind::apply);
  // A re-seeded origin that names the cursor's lineage starts again.
  OutboxBatch reseeded = batch_of(8, 0, 0, 0);
  reseeded.replaces = 7;
  EXPECT_EQ(check_timeline("bj", cursor, reseeded).kind, Kind::restart);
  reseeded.replaces = 6;
  EXPECT_EQ(check_timeline("bj", cursor, reseeded).reason, "replaced");
  // What cannot be judged passes: no cursor yet, a cursor or a peer from
  // before lineages.
  EXPECT_EQ(check_timeline("bj", OriginCursor{}, batch_of(8, 0, 0, 0)).kind, Kind::apply);
  EXPECT_EQ(check_timeline("bj", OriginCursor{true, 10, 500, 0}, batch_of(8, 12, 10, 500)).kind, Kind::apply);
  EXPECT_EQ(check_timeline("bj", cursor, batch_of(0, 12, 10, 500)).kind, Kind::apply);
}

}  // namespace
}  // namespace ezone::test
