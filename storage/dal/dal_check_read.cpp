// A check's chunk read off the writer (dal_check.cpp).
//
// Reading a chunk on the writer held every write of the site behind it for
// the read (about a millisecond per 1,000 rows). So the check thread first
// reads the chunk on a reader connection, in one read transaction with the
// outbox's head: the sum is of the rows as they stood after entry `head`.
// The writer then appends the chunk's record after the entries committed
// since. That record is right only if none of those entries changed a row
// of the chunk's range: the writer reads them (few, and recent), and when
// one did, the chunk is read again, and after a second miss on the writer,
// as before. A change applied from a peer to a row this site owns leaves no
// outbox entry; it only happens while ownership overlaps, when a check's
// differences are documented as possibly transient.
#include "storage/dal/dal_impl.hpp"

namespace ezone::dal {

namespace {

// SQLite's order of key values (BINARY collation): NULL, numbers, text,
// blobs.
int rank_of(const Value& v) {
  if (std::holds_alternative<std::monostate>(v)) return 0;
  if (std::holds_alternative<int64_t>(v) || std::holds_alternative<double>(v)) return 1;
  return std::holds_alternative<std::string>(v) ? 2 : 3;
}

int compare_values(const Value& a, const Value& b) {
  const int ra = rank_of(a), rb = rank_of(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  if (ra == 0) return 0;
  if (ra == 1) {
    const int64_t* ia = std::get_if<int64_t>(&a);
    const int64_t* ib = std::get_if<int64_t>(&b);
    if (ia && ib) return *ia < *ib ? -1 : *ia > *ib;
    const double da = ia ? static_cast<double>(*ia) : std::get<double>(a);
    const double db = ib ? static_cast<double>(*ib) : std::get<double>(b);
    return da < db ? -1 : da > db;
  }
  const std::string& sa = ra == 2 ? std::get<std::string>(a) : std::get<Blob>(a).bytes;
  const std::string& sb = rb == 2 ? std::get<std::string>(b) : std::get<Blob>(b).bytes;
  const int c = sa.compare(sb);
  return c < 0 ? -1 : c > 0;
}

int compare_keys(const Row& a, const Row& b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (int c = compare_values(a[i], b[i]); c != 0) return c;
  }
  return a.size() < b.size() ? -1 : a.size() > b.size();
}

// The most entries the writer reads back before it gives up and calls the
// chunk changed: a site this busy re-reads it on the writer.
constexpr int64_t kEntriesSinceMax = 256;

}  // namespace

Result<Dal::Impl::ChunkSnapshot> Dal::Impl::read_chunk_snapshot(const TableInfo& t, int64_t shard, const Row& after,
                                                                 size_t chunk_rows) {
  return with_reader([&](Db& db) -> Result<ChunkSnapshot> {
    if (Status s = db.exec("BEGIN"); !s) return s;
    ChunkSnapshot snap;
    auto head = db.query("SELECT COALESCE(MAX(seq), 0) FROM _ezone_outbox");
    auto sum = head ? checksum_range(db, t, shard, after, {}, chunk_rows) : Result<ChunkSum>(head.status());
    db.exec("COMMIT");
    if (!sum) return sum.status();
    snap.head = static_cast<uint64_t>(std::get<int64_t>(head.value()[0][0]));
    snap.sum = std::move(sum).value();
    return snap;
  });
}

Result<bool> Dal::Impl::part_changed_since(const TableInfo& t, int64_t shard, uint64_t head, const Row& after,
                                           const Row& upto) {
  auto entries = writer->query("SELECT body FROM _ezone_outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                               {Value(static_cast<int64_t>(head)), Value(kEntriesSinceMax + 1)}, SIZE_MAX);
  if (!entries) return entries.status();
  if (static_cast<int64_t>(entries.value().size()) > kEntriesSinceMax) return true;
  for (const Row& e : entries.value()) {
    auto changes = decode_changes(std::get<Blob>(e[0]).bytes);
    if (!changes) return true;  // our own outbox; unreadable counts as changed
    for (const RowChange& c : changes.value()) {
      if (c.table != t.spec->name) continue;
      if (shard >= 0 && row_shard(t, c.row) != shard) continue;
      if (!after.empty() && compare_keys(c.pk, after) <= 0) continue;
      if (!upto.empty() && compare_keys(c.pk, upto) > 0) continue;
      return true;
    }
  }
  return false;
}

}  // namespace ezone::dal
