// The DAL's bookkeeping rows, written by local transactions and applies
// alike on the writer thread: row versions, row images, the change feed and
// the outbox.
#include "storage/dal/dal_impl.hpp"
#include "storage/dal/feed_record.hpp"

namespace ezone::dal {

// ---- row versions and images ----
//
// These run for every replicated row, so they bind directly (text and blobs
// without copies: the arguments outlive the statement's step) and find their
// statements without building a string.

namespace {

const std::string kRowVersionSql = "SELECT hlc, origin, deleted FROM _ezone_rowver WHERE tbl=?1 AND key=?2";
const std::string kSetRowVersionSql =
    "INSERT OR REPLACE INTO _ezone_rowver(tbl, key, hlc, origin, deleted) VALUES(?1, ?2, ?3, ?4, ?5)";
const std::string kFreshRowVersionSql =
    "INSERT OR IGNORE INTO _ezone_rowver(tbl, key, hlc, origin, deleted) VALUES(?1, ?2, ?3, ?4, ?5)";
const std::string kAdvanceRowVersionSql =
    "UPDATE _ezone_rowver SET hlc=?3, origin=?4, deleted=?5 WHERE tbl=?1 AND key=?2 AND hlc=?6 AND origin=?7";
const std::string kFeedInsertSql = "INSERT INTO _ezone_feed(id, n, events) VALUES(?1, ?2, ?3)";
const std::string kFeedTrimSql = "DELETE FROM _ezone_feed WHERE id < ?1 AND id + n <= ?1";

constexpr size_t kFeedTrimEveryRecords = 1024;  // feed records written between trims

Status bind_version(Stmt& q, const std::string& table, const std::string& key, const data::RowVersion& v,
                    bool deleted) {
  q.reset();
  for (Status s : {q.bind_text_static(1, table), q.bind_blob_static(2, key), q.bind_int(3, static_cast<int64_t>(v.hlc)),
                   q.bind_text_static(4, v.origin), q.bind_int(5, deleted ? 1 : 0)}) {
    if (!s) return s;
  }
  return Status::ok();
}

}  // namespace

int64_t row_shard(const TableInfo& t, const Row& row) {
  if (t.shard_col < 0 || static_cast<size_t>(t.shard_col) >= row.size()) return -1;
  auto* i = std::get_if<int64_t>(&row[static_cast<size_t>(t.shard_col)]);
  return i ? *i : -1;
}

namespace {

Result<bool> step_once(Stmt& q) {
  auto done = q.step();
  q.reset();
  return done;
}

}  // namespace

Result<data::RowVersion> Dal::Impl::row_version(const std::string& table, const std::string& key, bool* deleted) {
  auto stmt = cached_sql(kRowVersionSql);
  if (!stmt) return stmt.status();
  Stmt& q = *stmt.value();
  if (Status s = q.bind_text_static(1, table); !s) return s;
  if (Status s = q.bind_blob_static(2, key); !s) return s;
  auto row = q.step();
  if (!row) {
    q.reset();
    return row.status();
  }
  data::RowVersion v;
  if (deleted) *deleted = false;
  if (row.value()) {
    v.hlc = static_cast<HlcTime>(sqlite3_column_int64(q.get(), 0));
    v.origin.assign(reinterpret_cast<const char*>(sqlite3_column_text(q.get(), 1)),
                    static_cast<size_t>(sqlite3_column_bytes(q.get(), 1)));
    if (deleted) *deleted = sqlite3_column_int64(q.get(), 2) != 0;
  }
  q.reset();
  return v;
}

Status Dal::Impl::set_row_version(const std::string& table, const std::string& key, const data::RowVersion& v,
                                  bool deleted) {
  auto stmt = cached_sql(kSetRowVersionSql);
  if (!stmt) return stmt.status();
  if (Status s = bind_version(*stmt.value(), table, key, v, deleted); !s) return s;
  return step_once(*stmt.value()).status();
}

Result<bool> Dal::Impl::advance_row_version(const std::string& table, const std::string& key,
                                            const data::RowVersion& expected, const data::RowVersion& next,
                                            bool deleted) {
  const bool fresh = expected.empty();
  auto stmt = cached_sql(fresh ? kFreshRowVersionSql : kAdvanceRowVersionSql);
  if (!stmt) return stmt.status();
  Stmt& q = *stmt.value();
  if (Status s = bind_version(q, table, key, next, deleted); !s) return s;
  if (!fresh) {
    if (Status s = q.bind_int(6, static_cast<int64_t>(expected.hlc)); !s) return s;
    if (Status s = q.bind_text_static(7, expected.origin); !s) return s;
  }
  auto done = step_once(q);
  if (!done) return done.status();
  return sqlite3_changes64(writer->get()) == 1;
}

Result<Row> Dal::Impl::read_row(const TableInfo& t, const Row& pk) {
  auto stmt = cached_sql(t.select_sql);
  if (!stmt) return stmt.status();
  Stmt& q = *stmt.value();
  if (Status s = q.bind_all_static(pk); !s) return s;
  auto row = q.step();
  if (!row) {
    q.reset();
    return row.status();
  }
  Row out;
  if (row.value()) out = q.row();
  q.reset();
  return out;
}

// ---- the change feed ----

void Dal::Impl::add_feed_event(const std::string& table, std::string pk_text, ChangeOp op, int64_t shard,
                               const std::string& origin, HlcTime hlc) {
  group_feed.push_back(FeedEvent{next_feed_id++, table, std::move(pk_text), op, shard, origin, hlc});
}

void Dal::Impl::drop_feed_events(size_t keep) {
  if (keep >= group_feed.size()) return;
  next_feed_id -= group_feed.size() - keep;
  group_feed.resize(keep);
}

void Dal::Impl::forget_feed(uint64_t next_id_before) {
  group_feed.clear();
  next_feed_id = next_id_before;
}

Status Dal::Impl::write_feed() {
  for (size_t first = 0; first < group_feed.size(); first += kFeedRecordEventsMax) {
    const size_t n = std::min(kFeedRecordEventsMax, group_feed.size() - first);
    const std::string events = encode_feed_events(group_feed, first, n);
    auto stmt = cached_sql(kFeedInsertSql);
    if (!stmt) return stmt.status();
    Stmt& q = *stmt.value();
    q.reset();
    for (Status s : {q.bind_int(1, static_cast<int64_t>(group_feed[first].id)), q.bind_int(2, static_cast<int64_t>(n)),
                     q.bind_blob_static(3, events)}) {
      if (!s) return s;
    }
    if (auto done = step_once(q); !done) return done.status();
    ++feed_records_since_trim;
  }
  if (feed_records_since_trim < kFeedTrimEveryRecords || next_feed_id <= config.feed_rows_max) return Status::ok();
  feed_records_since_trim = 0;
  auto stmt = cached_sql(kFeedTrimSql);
  if (!stmt) return stmt.status();
  if (Status s = stmt.value()->bind_int(1, static_cast<int64_t>(next_feed_id - config.feed_rows_max)); !s) return s;
  return step_once(*stmt.value()).status();
}

// ---- the outbox ----

Result<uint64_t> Dal::Impl::append_outbox(HlcTime hlc, int64_t shard, const std::vector<RowChange>& changes) {
  static const std::string kOutboxInsertSql =
      "INSERT INTO _ezone_outbox(seq, hlc, shard, wall_ms, body) VALUES(?1, ?2, ?3, ?4, ?5)";
  auto stmt = cached_sql(kOutboxInsertSql);
  if (!stmt) return stmt.status();
  OutboxEntry meta;
  meta.seq = next_seq;
  meta.hlc = hlc;
  meta.shard = shard;
  meta.commit_wall_ms = hlc_physical_ms(hlc);
  const std::string body = encode_entry_body(meta, changes);
  Stmt& q = *stmt.value();
  q.reset();
  for (Status s : {q.bind_int(1, static_cast<int64_t>(meta.seq)), q.bind_int(2, static_cast<int64_t>(hlc)),
                   q.bind_int(3, shard), q.bind_int(4, meta.commit_wall_ms), q.bind_blob_static(5, body)}) {
    if (!s) return s;
  }
  if (auto done = step_once(q); !done) return done.status();
  return next_seq++;
}

}  // namespace ezone::dal
