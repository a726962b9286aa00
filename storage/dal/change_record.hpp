// What the DAL captures per committed transaction and what DRC ships: the
// outbox entry (DESIGN.md, "dal", "drc").
//
// Each changed row is a full row image, not SQLite's changeset record: a 3.40
// changeset carries only the modified columns of an UPDATE, and last-writer-
// wins needs the winner's whole row, or two sites that each changed a
// different column of the same row would keep different rows. The session
// extension still does the capturing (which rows changed, and how); the DAL
// reads their final images inside the same transaction.
//
// Each change also names the version it overwrote (`base`), so a site that
// applies it can tell a plain successor (its current version is the base)
// from a concurrent write (it is not): only the latter is a conflict.
//
// Encoding: cereal portable binary. Every decoder takes bytes from a peer, so
// it bounds sizes and returns parse_error instead of throwing.
//
// Checksums (format 2). An entry's body ends in a CRC-32C (core/crc32c.hpp,
// 4 bytes little-endian) of the entry's seq, hlc, shard and commit_wall_ms
// (8 bytes each, little-endian, in that order) followed by the body's
// archive: it is computed when the entry is appended to the outbox and
// checked by every site before it applies the entry, so a body or header
// corrupted on the origin's disk, in memory or on the wire is refused
// instead of applied. A batch ends in a CRC-32C of its archive, checked
// before it is decoded. A format-1 body (appended by a build before the
// checksums) is still read, unchecked; a format-1 batch is refused, naming
// the formats: both sites must run a build with checksums.
#pragma once

#include <cstdint>
#include <map>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

#include "core/hlc.hpp"
#include "core/status.hpp"
#include "storage/dal/sql_value.hpp"
#include "zones/data/conflict_policy.hpp"

namespace ezone::dal {

enum class ChangeOp : uint8_t { upsert = 0, remove = 1 };
const char* change_op_name(ChangeOp op);  // "upsert", "delete"

struct RowChange {
  std::string table;
  ChangeOp op = ChangeOp::upsert;
  Row pk;    // primary-key values, in key order
  Row row;   // upsert: the new row; remove: the deleted row (table column order)
  data::RowVersion base;  // the version this change replaced (empty: none)
};

// One committed transaction of the origin ezone.
struct OutboxEntry {
  uint64_t seq = 0;          // per-origin sequence, 1, 2, 3... without gaps
  HlcTime hlc = 0;           // the transaction's timestamp (every row's version)
  int64_t shard = -1;        // the transaction's shard, -1 for none (global-zone)
  int64_t commit_wall_ms = 0;
  std::string body;          // encode_changes() of the rows
};

// A pull answer: entries (seq ascending, contiguous) plus what the apply side
// needs to check them.
//
// The origin's timeline (format 3). A site applies an origin's entries after
// its cursor and skips those at or below it, so it must know that the
// outbox it pulls from is the one its cursor counts in. A database that was
// replaced (a new disk, a deleted file) starts again at seq 1, and one
// restored from an older copy repeats seqs the peers applied with other
// contents: either would be skipped silently. So a batch names its origin
// database's lineage (a random id made when the database was created), the
// lineage it replaced when the database was re-seeded from a peer, and the
// entry just before its first one (`after` and that entry's hlc). The site
// that applies it refuses it when the lineage differs from the one its
// cursor was taken from, when the origin's head is behind the cursor, or
// when the origin's entry at the cursor has another hlc than the one
// applied (Dal::check_origin).
struct OutboxBatch {
  std::string origin;
  uint64_t head_seq = 0;  // the origin's newest seq when the batch was read
  uint64_t lineage = 0;   // the origin database's lineage; 0: unknown (a format-2 peer)
  uint64_t replaces = 0;  // the lineage this one replaced by a re-seed; 0: none
  uint64_t after = 0;     // the pull's `after`: the entries follow seq `after`
  HlcTime after_hlc = 0;  // the origin's entry `after`'s hlc; 0: unknown (trimmed, or after = 0)
  // table -> schema fingerprint, for every replicated table of the origin.
  std::map<std::string, std::string> fingerprints;
  std::vector<OutboxEntry> entries;
};

// Bounds on what a decoder accepts from a peer.
constexpr size_t kBatchBytesMax = 64u << 20;
constexpr size_t kChangesPerEntryMax = 1u << 20;

// The changes alone (format 1, no checksum): for what stays on this site.
std::string encode_changes(const std::vector<RowChange>& changes);
// Reads the changes of a format-1 archive or a format-2 entry body (without
// checking its checksum: check_entry does).
Result<std::vector<RowChange>> decode_changes(std::string_view bytes);

// An outbox entry's body (format 2) for meta's seq, hlc, shard and
// commit_wall_ms, checksum included.
std::string encode_entry_body(const OutboxEntry& meta, const std::vector<RowChange>& changes);
// parse_error unless e.body's checksum matches e (a format-1 body passes).
Status check_entry(const OutboxEntry& e);

std::string encode_batch(const OutboxBatch& batch);
Result<OutboxBatch> decode_batch(std::string_view bytes);

// A stream buffer for cereal's output archive without std::stringstream's
// copies: StringSink appends to a string the caller owns. (Decoders read
// with BoundedBinaryInputArchive, storage/dal/bounded_archive.hpp.)
class StringSink : public std::streambuf {
 public:
  explicit StringSink(std::string& out) : out_(out) {}

 protected:
  int overflow(int c) override;
  std::streamsize xsputn(const char* s, std::streamsize n) override;

 private:
  std::string& out_;
};

// A canonical byte key for a primary key (equal values give equal keys), used
// to index row versions and conflicts. Integer keys sort in numeric order,
// so rows written in key order append to the row-version B-tree. Stored on
// disk: a change here is a new format in storage/dal/dal_format.cpp.
std::string encode_key(const Row& pk);

}  // namespace ezone::dal
