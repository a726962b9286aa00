// Repair of chunks that a consistency check found different
// (storage/dal/check.hpp): the owner sends images of them through its
// outbox, and every other site makes its rows of the range equal.
//
// A repair image is a change to kRepairTable:
//   pk  = check id, table, shard (-1: a global table), chunk, piece
//   row = n_after, n_upto, n_rows, after..., upto...,
//         then per row: hlc, origin, the row's values (the table's columns)
// covering the keys after < key <= upto (none: unbounded); origin "" is a
// row that has no version at the owner.
#include <map>

#include "storage/dal/dal_impl.hpp"

namespace ezone::dal {

const char* const kRepairTable = "_ezone_repair";

namespace {

constexpr size_t kRepairKeyValuesMax = 64;

struct RepairImage {
  std::string id, table;
  int64_t shard = -1, chunk = 0, piece = 0;
  Row after, upto;
  struct Entry {
    data::RowVersion version;
    Row values;
  };
  std::vector<Entry> rows;
};

// `columns`: the table's column count here (an image of another shape is
// malformed for this site).
Result<RepairImage> parse_image(const RowChange& c, size_t columns) {
  auto bad = [](const std::string& why) { return Status(Errc::parse_error, "a repair image is malformed: " + why); };
  if (c.op != ChangeOp::upsert || c.pk.size() != 5 || c.row.size() < 3) return bad("wrong shape");
  if (!std::holds_alternative<std::string>(c.pk[0]) || !std::holds_alternative<std::string>(c.pk[1])) {
    return bad("wrong key types");
  }
  for (size_t i = 2; i < 5; ++i) {
    if (!std::holds_alternative<int64_t>(c.pk[i])) return bad("wrong key types");
  }
  for (size_t i = 0; i < 3; ++i) {
    if (!std::holds_alternative<int64_t>(c.row[i])) return bad("wrong counts");
  }
  const int64_t n_after = std::get<int64_t>(c.row[0]), n_upto = std::get<int64_t>(c.row[1]);
  const int64_t n_rows = std::get<int64_t>(c.row[2]);
  if (n_after < 0 || n_upto < 0 || n_rows < 0 || static_cast<uint64_t>(n_after) > kRepairKeyValuesMax ||
      static_cast<uint64_t>(n_upto) > kRepairKeyValuesMax || static_cast<uint64_t>(n_rows) > kRepairPieceRows) {
    return bad("bad counts");
  }
  const size_t per_row = 2 + columns;
  if (c.row.size() != 3 + static_cast<size_t>(n_after + n_upto) + static_cast<size_t>(n_rows) * per_row) {
    return bad("its rows do not have this table's " + std::to_string(columns) + " columns");
  }
  RepairImage img;
  img.id = std::get<std::string>(c.pk[0]);
  img.table = std::get<std::string>(c.pk[1]);
  img.shard = std::get<int64_t>(c.pk[2]);
  img.chunk = std::get<int64_t>(c.pk[3]);
  img.piece = std::get<int64_t>(c.pk[4]);
  auto at = c.row.begin() + 3;
  img.after.assign(at, at + n_after);
  at += n_after;
  img.upto.assign(at, at + n_upto);
  at += n_upto;
  for (int64_t i = 0; i < n_rows; ++i, at += static_cast<std::ptrdiff_t>(per_row)) {
    if (!std::holds_alternative<int64_t>(at[0]) || !std::holds_alternative<std::string>(at[1])) {
      return bad("a row's version is not (hlc, origin)");
    }
    RepairImage::Entry e;
    e.version = {static_cast<HlcTime>(std::get<int64_t>(at[0])), std::get<std::string>(at[1])};
    e.values.assign(at + 2, at + static_cast<std::ptrdiff_t>(per_row));
    img.rows.push_back(std::move(e));
  }
  return img;
}

RowChange image_record(const std::string& id, const std::string& table, int64_t shard, int64_t chunk, int64_t piece,
                       const Row& after, const Row& upto, const std::vector<RepairImage::Entry>& rows) {
  RowChange c;
  c.table = kRepairTable;
  c.op = ChangeOp::upsert;
  c.pk = {Value(id), Value(table), Value(shard), Value(chunk), Value(piece)};
  c.row = {Value(static_cast<int64_t>(after.size())), Value(static_cast<int64_t>(upto.size())),
           Value(static_cast<int64_t>(rows.size()))};
  c.row.insert(c.row.end(), after.begin(), after.end());
  c.row.insert(c.row.end(), upto.begin(), upto.end());
  for (const RepairImage::Entry& e : rows) {
    // emplace_back: g++ 12 warns (maybe-uninitialized) on push_back of a
    // temporary variant here.
    c.row.emplace_back(std::in_place_type<int64_t>, static_cast<int64_t>(e.version.hlc));
    c.row.emplace_back(std::in_place_type<std::string>, e.version.origin);
    c.row.insert(c.row.end(), e.values.begin(), e.values.end());
  }
  return c;
}

Result<Row> bound_of(const std::string& text) {
  if (text.empty()) return Row{};
  return parse_row_text(text);
}

}  // namespace

// ---- the owner's side ----

Status Dal::Impl::owns_part(const TableInfo& t, int64_t shard) {
  if (t.spec->kind == data::TableKind::global) {
    if (t.spec->master_ezone == config.ezone) return Status::ok();
    return Status(Errc::conflict, "ezone '" + t.spec->master_ezone + "' is the master of '" + t.spec->name + "'");
  }
  const WriteGate gate = gate_source();
  const ShardRoute* r = gate.routes && shard >= 0 ? gate.routes->find(static_cast<ShardId>(shard)) : nullptr;
  if (r && r->owner == config.ezone) return Status::ok();
  return Status(Errc::conflict, "shard " + std::to_string(shard) + " is owned by " +
                                    (r ? "ezone '" + r->owner + "'" : std::string("no ezone in the route table")) +
                                    " now");
}

// Writer, in a maintenance job: the next piece of a chunk's image.
Status Dal::Impl::send_repair_piece(const std::string& id, const TableInfo& t, int64_t shard, int64_t chunk,
                                    int64_t piece, const Row& after, const Row& upto, SentPiece* sent) {
  if (Status s = owns_part(t, shard); !s) return s;
  auto q = range_query(t, shard, after, upto, kRepairPieceRows);
  if (!q) return q.status();
  auto found = writer->query(q.value().sql, q.value().params, kRepairPieceRows);
  if (!found) return found.status();
  std::vector<RepairImage::Entry> entries;
  for (Row& values : found.value()) {
    auto v = row_version(t.spec->name, encode_key(key_of(t, values)), nullptr);
    if (!v) return v.status();
    entries.push_back({std::move(v).value(), std::move(values)});
  }
  const bool last = entries.size() < kRepairPieceRows;
  Row piece_upto = last ? upto : key_of(t, entries.back().values);
  if (Status s = append_control(image_record(id, t.spec->name, shard, chunk, piece, after, piece_upto, entries)); !s) {
    return s;
  }
  *sent = SentPiece{entries.size(), last, std::move(piece_upto)};
  return Status::ok();
}

Result<RepairSent> Dal::repair_check(const std::string& id, const std::vector<RepairChunk>& chunks) {
  if (chunks.size() > kRepairChunksMax) {
    return Status(Errc::invalid_argument, "at most " + std::to_string(kRepairChunksMax) + " chunks per repair");
  }
  struct Planned {
    const TableInfo* table;
    int64_t shard, chunk;
    Row after, upto;
  };
  std::vector<Planned> plan;
  for (const RepairChunk& c : chunks) {
    auto it = impl_->tables.find(c.table);
    if (it == impl_->tables.end()) return Status(Errc::not_found, "'" + c.table + "' is not a replicated table");
    auto sent = query("SELECT after, upto FROM _ezone_checks WHERE id=?1 AND origin=?2 AND tbl=?3 AND shard=?4 AND "
                      "chunk=?5 AND result='source'",
                      {Value(id), Value(impl_->config.ezone), Value(c.table), Value(c.shard), Value(c.chunk)});
    if (!sent) return sent.status();
    if (sent.value().empty()) {
      return Status(Errc::not_found, "ezone '" + impl_->config.ezone + "' sent no chunk " + std::to_string(c.chunk) +
                                         " of " + c.table + (c.shard >= 0 ? " shard " + std::to_string(c.shard) : "") +
                                         " in check '" + id + "'");
    }
    auto after = bound_of(std::get<std::string>(sent.value()[0][0]));
    auto upto = bound_of(std::get<std::string>(sent.value()[0][1]));
    if (!after || !upto) return Status(Errc::internal, "check '" + id + "': a chunk's stored key range does not parse");
    if (Status s = impl_->owns_part(it->second, c.shard); !s) return s;
    plan.push_back({&it->second, c.shard, c.chunk, std::move(after).value(), std::move(upto).value()});
  }
  RepairSent out;
  for (Planned& p : plan) {
    bool last = false;
    for (int64_t piece = 0; !last; ++piece) {
      Impl::SentPiece sent;
      auto job = std::make_unique<Job>();
      job->kind = Job::Kind::maintenance;
      job->rides_group = true;
      job->maintenance = [&, piece] {
        return impl_->send_repair_piece(id, *p.table, p.shard, p.chunk, piece, p.after, p.upto, &sent);
      };
      if (Status s = impl_->run_queued(std::move(job)); !s) return s;
      ++out.images;
      out.rows += sent.rows;
      last = sent.last;
      p.after = std::move(sent.upto);
    }
    ++out.chunks;
  }
  impl_->log().info("event=dal_repair_sent id={} chunks={} images={} rows={}", id, out.chunks, out.images, out.rows);
  return out;
}

// ---- the other sites' side ----

Status Dal::Impl::apply_repair_image(const RowChange& c, const data::RowVersion& incoming,
                                     const std::string* skip_reason) {
  const std::string& origin = incoming.origin;
  auto count = [&](const std::string& table, const char* action, uint64_t n) {
    if (metrics && n > 0) {
      metrics->counter("ezone_dal_repaired_rows_total",
                       "Rows a repair image from the owner changed here (action: written, deleted), or images "
                       "skipped (malformed, or their table not replicated from the owner)",
                       {{"origin", origin}, {"table", table}, {"action", action}})
          .inc(n);
    }
  };
  const std::string table = c.pk.size() > 1 && std::holds_alternative<std::string>(c.pk[1])
                                ? std::get<std::string>(c.pk[1])
                                : std::string();
  auto it = tables.find(table);
  if (it == tables.end() || skip_reason) {
    log().warn("event=dal_repair_skipped origin={} table={} reason=\"{}\"", origin, table,
               skip_reason ? *skip_reason : "not a replicated table here");
    count(table, "skipped", 1);
    return Status::ok();
  }
  const TableInfo& t = it->second;
  auto parsed = parse_image(c, t.columns.size());
  if (!parsed) {
    log().warn("event=dal_repair_malformed origin={} error=\"{}\"", origin, parsed.status().message());
    count(table, "skipped", 1);
    return Status::ok();  // it carries no change of its own: replication goes on
  }
  const RepairImage& img = parsed.value();
  auto q = range_query(t, img.shard, img.after, img.upto, 0);
  if (!q) {
    log().warn("event=dal_repair_malformed origin={} error=\"{}\"", origin, q.status().message());
    count(table, "skipped", 1);
    return Status::ok();
  }
  auto here = writer->query(q.value().sql, q.value().params, SIZE_MAX);
  if (!here) return here.status();
  std::map<std::string, Row> local;  // by encode_key of the key: what the image does not hold is deleted
  for (Row& r : here.value()) local.emplace(encode_key(key_of(t, r)), std::move(r));
  uint64_t written = 0, deleted = 0;
  for (const RepairImage::Entry& e : img.rows) {
    const Row pk = key_of(t, e.values);
    const std::string key = encode_key(pk);
    auto mine = local.find(key);
    const bool same = mine != local.end() && mine->second == e.values;
    if (mine != local.end()) local.erase(mine);
    auto v = row_version(table, key, nullptr);
    if (!v) return v.status();
    if (same && v.value() == e.version) continue;
    if (!same) {
      if (Status s = write_row(t, ChangeOp::upsert, e.values); !s) return s;
      add_feed_event(table, row_text(pk), ChangeOp::upsert, row_shard(t, e.values), e.version.origin, e.version.hlc);
      ++written;
    }
    Status s = e.version.origin.empty() ? drop_row_version(table, key) : set_row_version(table, key, e.version, false);
    if (!s) return s;
  }
  for (const auto& [key, row] : local) {
    const Row pk = key_of(t, row);
    if (Status s = write_row(t, ChangeOp::remove, pk); !s) return s;
    if (Status s = drop_row_version(table, key); !s) return s;
    add_feed_event(table, row_text(pk), ChangeOp::remove, row_shard(t, row), origin, incoming.hlc);
    ++deleted;
  }
  count(table, "written", written);
  count(table, "deleted", deleted);
  if (written + deleted > 0) {
    log().warn("event=dal_repaired id={} origin={} table={} shard={} chunk={} piece={} written={} deleted={}", img.id,
               origin, table, img.shard, img.chunk, img.piece, written, deleted);
  }
  return Status::ok();
}

Status Dal::Impl::drop_row_version(const std::string& table, const std::string& key) {
  return writer->run("DELETE FROM _ezone_rowver WHERE tbl=?1 AND key=?2", {Value(table), Value(Blob{key})}).status();
}

}  // namespace ezone::dal
