// Re-seeding a site's database from a peer's copy: for an IDC whose
// database was lost (a new disk, a deleted file), restored from an older
// copy, or that joins the cluster for the first time. Its peers refuse its
// outbox then (timeline_check.hpp), and it lacks what they hold.
//
// The steps, each a function here (tools: `ezoned --reseed-from PEER`,
// actors/node/reseed.hpp, which fetches the copy from the peer's admin API):
//   1. the peer writes a consistent copy of its database (Dal::snapshot_into);
//   2. adopt_seed() turns the copy into this ezone's database: the peer's
//      outbox, change feed and its cursor of this ezone go; this site's
//      cursor of the peer becomes the peer's outbox head in the copy, so
//      replication from the peer continues exactly where the copy ends; the
//      cursors of other origins stay the peer's; the database gets a new
//      lineage that names the one the peer had applied of this ezone, so
//      every peer starts this ezone's new outbox from seq 1;
//   3. count_unreplicated() counts what the database being replaced holds
//      that the peer never applied (lost with it, unless an operator keeps
//      it: the caller refuses without --force);
//   4. install_seed() moves the old database aside (never deleting it) and
//      renames the new one into place.
// The node must be stopped while this runs (the caller holds its locks).
//
// With three or more sites, the copy holds this ezone's old changes as far
// as the chosen peer applied them; a site that had applied more would keep
// changes that no other site gets. So the source must be the peer that
// applied the most: seed_shortfalls() says when it is not (or cannot be
// known), and the caller refuses without --force.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/hlc.hpp"
#include "core/status.hpp"

namespace ezone::dal {

struct SeedReport {
  std::string source;           // the peer whose copy this is
  uint64_t source_lineage = 0;  // the copy's lineage (the peer's database)
  uint64_t source_head = 0;     // the peer's outbox head in the copy: this site's new cursor of it
  uint64_t replaces = 0;        // the lineage of this ezone the peer had applied from (0: none)
  uint64_t replaced_seq = 0;    // how far the peer had applied it
  HlcTime replaced_hlc = 0;     // the hlc of that entry
  uint64_t lineage = 0;         // the new database's lineage
  uint64_t parked_dropped = 0;  // rows of this ezone's old outbox the peer had parked (a schema halt)
  uint64_t unreplicated = 0;    // count_unreplicated()'s answer, when the caller asked
  std::string saved_old;        // where install_seed() moved the old database ("" when none)
};

// Turns the copy at `copy_path` of ezone `source`'s database into a database
// of `ezone`, in place, without a journal: on an error the caller discards
// the copy (it is not durable either until install_seed). Errors: invalid_argument when
// the copy is not a DAL database, fails SQLite's quick_check, or source ==
// ezone; io_error for the file.
Result<SeedReport> adopt_seed(const std::string& copy_path, const std::string& ezone, const std::string& source);

// The outbox entries of the database at db_path that the seed's source had
// not applied: those newer (by hlc) than the last one it applied of this
// ezone (all of them when it applied none). 0 when the file does not exist.
Result<uint64_t> count_unreplicated(const std::string& db_path, const SeedReport& seed);

// What another peer (not the seed's source) has applied of this ezone's
// old outbox, from its GET /admin/v1/drc; `error` when it could not be asked.
struct PeerCursor {
  std::string ezone;
  uint64_t seq = 0;
  uint64_t lineage = 0;
  std::string error;
};
// The reasons the re-seed would leave the sites different (empty: none): a
// peer that applied more of the lineage the seed replaces than the source
// keeps changes that the re-seeded site and its source would never get; a
// peer that applied less would never get the changes between, which only
// the lost outbox held (the new outbox starts again at seq 1, and no site
// re-ships another's: found by the simulator, tests/sim/sim_reseed.cpp); a
// peer whose cursor is of another lineage of this ezone than the source's
// (one of them has not followed an earlier re-seed) would refuse the new
// outbox, which names the source's as the one it replaces; a peer that
// could not be asked may be any of these.
std::vector<std::string> seed_shortfalls(const SeedReport& seed, const std::vector<PeerCursor>& others);

// Syncs copy_path, moves the database at db_path (with its -wal and -shm)
// to <db_path>.replaced-<wall_ms>, when there is one, and renames copy_path
// to db_path; syncs the directory. Returns the saved path ("" when there was
// no old database).
Result<std::string> install_seed(const std::string& copy_path, const std::string& db_path, int64_t wall_ms);

}  // namespace ezone::dal
