// Whether a peer's batch continues the origin's timeline that this site's
// cursor counts in (see OutboxBatch in change_record.hpp).
//
// A cursor says "applied seq 1..N of the origin's outbox". It is only
// meaningful for the outbox it was taken from. Three things break that, and
// each makes the DRC skip the origin's changes without a word if it goes on:
//   replaced  the origin's database is another one (a new disk, a deleted
//             file): its seqs start again at 1, and everything up to N
//             would be taken for a repeated pull;
//   behind    the origin's outbox ends before what this site asked it for
//             (restored from an older copy): its next entries reuse seqs
//             this site has applied;
//   forked    the origin's entry at seq N is not the one applied (restored
//             from a copy, then written to): same as behind, found later.
// A batch of one of these is refused, nothing of it is applied, and
// replication from that origin stays halted until an operator re-seeds the
// origin from a peer (`ezoned --reseed-from`).
//
// One lineage change is legitimate: the origin was re-seeded from a peer and
// says which lineage it replaced. Its outbox then starts at seq 1, and a
// site whose cursor is in the replaced lineage starts it again from 0.
#pragma once

#include <cstdint>
#include <string>

#include "core/hlc.hpp"
#include "storage/dal/change_record.hpp"

namespace ezone::dal {

// What this site's _ezone_cursor holds for one origin.
struct OriginCursor {
  bool exists = false;  // false: nothing applied from the origin yet
  uint64_t seq = 0;
  HlcTime hlc = 0;       // the hlc of the origin's entry `seq`
  uint64_t lineage = 0;  // 0: taken before lineages were recorded
};

struct TimelineVerdict {
  enum class Kind { apply, restart, refuse };
  // apply: the batch continues the cursor; restart: the origin was re-seeded
  // (the batch's lineage replaced the cursor's) and its seqs count from 0.
  Kind kind = Kind::apply;
  std::string reason;   // refuse: "replaced", "behind" or "forked"
  std::string message;  // refuse: what happened and what to do, for a person
};

TimelineVerdict check_timeline(const std::string& origin, const OriginCursor& cursor, const OutboxBatch& batch);

// A new lineage id: random, positive, never 0 (0 means unknown on the wire).
uint64_t make_lineage();

}  // namespace ezone::dal
