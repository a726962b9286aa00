// Online consistency checks: are the sites' copies of a shard the same,
// while writes go on? (Dal::start_check, Dal::check_report.)
//
// A check compares each site's rows with the copy of the shard's owner (the
// master's, for a global-zone table) at the same point of the owner's
// outbox, so it needs no pause of traffic:
//   1. The owner reads a chunk of the shard in key order (at most
//      chunk_rows rows after the previous chunk's last key), on its writer,
//      and appends a check record (a control record in its outbox, like a
//      quarantine) holding the chunk's key range, its row count and a
//      checksum of its rows. Each chunk is its own short job on the writer,
//      so commits interleave with the check; on a busy site it joins the
//      next group of requests and shares its commit (Job::rides_group),
//      so it adds a read to the writer's time but no fsync.
//   2. Every other site applies the record in order with the owner's other
//      changes: at that point it holds the owner's writes up to the record,
//      as the owner did when it read the chunk. It computes the same
//      checksum over the same key range, in the apply's transaction, and
//      keeps the result (_ezone_checks): match, differ, or skipped (the
//      table is not replicated here, or its replication from the owner is
//      halted).
// Only the owner writes a shard (the DAL refuses the others), so a
// difference is one the sites would keep: a lost or diverged row, a row
// written behind the DAL's back, a forced failover's losses (see the
// conflicts and the quarantine). The one exception is transient: while
// ownership overlaps (a failover before the old owner's changes arrived), a
// site may hold another origin's version that the owner has not applied
// yet; run the check again to tell.
//
// Repair (Dal::repair_check, `ezctl check repair ID`): the owner sends an
// image of each chunk that differed somewhere (its rows and their
// versions, as of that point of its outbox, in pieces of at most
// kRepairPieceRows), and every other site makes its rows in that key range
// equal to the image when it applies it: rows that differ or are missing
// are written with the owner's version, rows the owner does not have are
// deleted (and their versions dropped), each with a change-feed event, so
// caches follow. Sites already equal change nothing. Run the check again to
// confirm. Counted in ezone_dal_repaired_rows_total{origin,table,action}.
//
// A check compares rows, not their versions (the row-version table): a
// site whose rows are right but whose versions were lost (a restore without
// them) passes, and its next change from the owner is recorded as a
// conflict. A repair sets the versions of every row in the chunks it sends.
//
// A site checks on its own every DalConfig::check_every_ms ([dal]
// check_every_s): the other sites compare as always, so a difference shows
// in their ezone_dal_check_chunks_total{result="differ"} without anyone
// running `ezctl check`.
//
// Results are kept for the kCheckIdsKept newest checks. A site of an older
// build parks the records as a table it does not replicate (shown halted
// in `ezctl drc`): upgrade every site before checking.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/ids.hpp"

namespace ezone::dal {

// The checks whose results a site keeps.
constexpr size_t kCheckIdsKept = 16;
// chunk_rows' bounds; differences listed in a report at most.
constexpr size_t kCheckChunkRowsMax = 100000;
constexpr size_t kCheckDifferencesMax = 1000;

struct CheckSpec {
  std::string id;                   // [A-Za-z0-9._-]{1,64}; empty: made from the time
  std::vector<std::string> tables;  // replicated tables; empty: every one
  // Shards of the sharding-zone tables; empty: every shard this ezone owns.
  // A listed shard owned elsewhere is skipped (its owner checks it).
  std::vector<ShardId> shards;
  size_t chunk_rows = 1000;         // 1 .. kCheckChunkRowsMax
  int64_t pause_ms = 0;             // between chunks, to spare a busy writer
};

// One (table, shard) this site checked as its owner. shard -1: a global
// table, checked by its master.
struct CheckedPart {
  std::string table;
  int64_t shard = -1;
  uint64_t chunks = 0;
  uint64_t rows = 0;
  bool done = false;   // its last chunk went out
  std::string error;   // why it stopped early (the shard moved, an error)
};

// A chunk whose copy here is not the owner's, or could not be compared.
struct CheckDifference {
  std::string origin;  // the owner that sent the chunk
  std::string table;
  int64_t shard = -1;
  int64_t chunk = 0;
  std::string after, upto;  // the key range (row_text; "" unbounded): after < key <= upto
  uint64_t origin_rows = 0, local_rows = 0;
  std::string result;  // "differ" or "skipped"
  std::string detail;
};

// What this site received from one owner.
struct CheckReceived {
  std::string origin;
  uint64_t chunks = 0, matched = 0, differing = 0, skipped = 0;
  uint64_t rows = 0;  // the owner's rows in the chunks compared
};

// One site's view of a check.
struct CheckReport {
  std::string id;
  bool known = false;    // this site issued or received any of it
  bool running = false;  // this site is still sending its chunks
  bool interrupted = false;  // it stopped sending early (a restart, an error)
  std::vector<CheckedPart> issued;
  uint64_t issued_chunks = 0;
  std::vector<CheckReceived> received;
  std::vector<CheckDifference> differences;  // at most the limit asked
};

// A chunk of a check to repair (Dal::repair_check), as the owner sent it.
struct RepairChunk {
  std::string table;
  int64_t shard = -1;
  int64_t chunk = 0;
};

// What a repair sent: its images (a chunk of more than kRepairPieceRows rows
// goes in several) and their rows.
struct RepairSent {
  uint64_t chunks = 0, images = 0, rows = 0;
};

// Rows in one repair image at most; chunks repaired per request at most.
constexpr size_t kRepairPieceRows = 1000;
constexpr size_t kRepairChunksMax = 10000;

}  // namespace ezone::dal
