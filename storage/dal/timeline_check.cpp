#include "storage/dal/timeline_check.hpp"

#include <random>

namespace ezone::dal {

namespace {

TimelineVerdict refuse(std::string reason, std::string message) {
  return {TimelineVerdict::Kind::refuse, std::move(reason), std::move(message)};
}

std::string remedy(const std::string& origin) {
  return " Replication from '" + origin + "' is halted so that nothing is skipped. Re-seed '" + origin +
         "' from a peer (stop it, then `ezoned --config <its config> --reseed-from <a peer's ezone>`).";
}

// The origin's hlc at the cursor's seq, as far as the batch shows it; 0 when
// it does not.
HlcTime hlc_at(const OutboxBatch& batch, uint64_t seq) {
  if (batch.after == seq) return batch.after_hlc;
  if (batch.entries.empty() || seq < batch.entries.front().seq || seq > batch.entries.back().seq) return 0;
  return batch.entries[seq - batch.entries.front().seq].hlc;
}

}  // namespace

TimelineVerdict check_timeline(const std::string& origin, const OriginCursor& cursor, const OutboxBatch& batch) {
  if (!cursor.exists || batch.lineage == 0) return {};
  const std::string applied = "this site applied its seqs up to " + std::to_string(cursor.seq);
  if (cursor.lineage != 0 && batch.lineage != cursor.lineage) {
    if (batch.replaces == cursor.lineage) return {TimelineVerdict::Kind::restart, {}, {}};
    return refuse("replaced", "ezone '" + origin + "' answers from another database (lineage " +
                                  std::to_string(batch.lineage) + ") than the one " + applied + " from (lineage " +
                                  std::to_string(cursor.lineage) + "): its outbox was lost or replaced, and " +
                                  "its seqs start again." + remedy(origin));
  }
  // Timing-proof: a batch read before this site applied a later one (a slow
  // or reordered answer) has a head below the cursor too, but it answered
  // a pull that asked for no more than the origin had.
  if (batch.head_seq < batch.after) {
    return refuse("behind", "ezone '" + origin + "''s outbox ends at seq " + std::to_string(batch.head_seq) +
                                ", but this site asked for the entries after " + std::to_string(batch.after) + " (" +
                                applied + "): it lost committed entries (a database restored from an older copy?), " +
                                "and its next writes would reuse seqs applied here." + remedy(origin));
  }
  const HlcTime theirs = hlc_at(batch, cursor.seq);
  if (cursor.seq > 0 && cursor.hlc != 0 && theirs != 0 && theirs != cursor.hlc) {
    return refuse("forked", "ezone '" + origin + "''s entry " + std::to_string(cursor.seq) + " (hlc " +
                                std::to_string(theirs) + ") is not the one applied here (hlc " +
                                std::to_string(cursor.hlc) + "): its outbox was rewritten after a restore from " +
                                "an older copy, and " + applied + "." + remedy(origin));
  }
  return {};
}

uint64_t make_lineage() {
  std::random_device rd;
  const uint64_t bits = (uint64_t{rd()} << 32) ^ rd();
  const uint64_t id = bits >> 1;  // stored as a positive SQLite integer
  return id == 0 ? 1 : id;
}

}  // namespace ezone::dal
