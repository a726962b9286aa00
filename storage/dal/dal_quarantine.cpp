// Quarantine of rows written on two sites at once (DESIGN.md, "return of a
// failed IDC"; QuarantineEntry in dal.hpp).
//
// _ezone_quarantine holds per (table, key) two maxima: q_hlc, the newest
// version a quarantine covers, and r_hlc, the newest a release covers. The
// row is quarantined while q_hlc > r_hlc. Both travel as control records,
// changes to kQuarantineTable in the outbox (pk = table, key; row = hlc,
// pk text, shard, origins or releasing ezone): upsert quarantines, remove
// releases. Taking maxima commutes, so every site that has applied the same
// records holds the same state, whatever order they came in.
//
// Who quarantines: only the owner of the row's shard (the master of a
// global-zone table), as its own view has it, when it applies a conflicting
// version. A site that only relays versions can see them out of causal
// order (from different origins) and record a conflict the owner never
// sees; it keeps that conflict record but does not quarantine on it.
#include <algorithm>
#include <utility>

#include "storage/dal/dal_impl.hpp"

namespace ezone::dal {

const char* const kQuarantineTable = "_ezone_quarantine";

namespace {

// ?1 tbl ?2 key ?3 pk ?4 shard ?5 hlc ?6 origins ?7 wall ms. Returns whether
// the row is now quarantined.
const std::string kQuarantineSql =
    "INSERT INTO _ezone_quarantine(tbl, key, pk, shard, q_hlc, r_hlc, origins, since_wall_ms, released_wall_ms, "
    "released_by) VALUES(?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, 0, '') "
    "ON CONFLICT(tbl, key) DO UPDATE SET "
    "  since_wall_ms = CASE WHEN excluded.q_hlc > r_hlc AND q_hlc <= r_hlc THEN excluded.since_wall_ms "
    "                       ELSE since_wall_ms END, "
    "  origins = CASE WHEN excluded.q_hlc > q_hlc THEN excluded.origins ELSE origins END, "
    "  pk = excluded.pk, shard = excluded.shard, "
    "  q_hlc = MAX(q_hlc, excluded.q_hlc) "
    "RETURNING q_hlc > r_hlc";

// ?1 tbl ?2 key ?3 pk ?4 shard ?5 hlc ?6 wall ms ?7 releasing ezone.
const std::string kReleaseSql =
    "INSERT INTO _ezone_quarantine(tbl, key, pk, shard, q_hlc, r_hlc, origins, since_wall_ms, released_wall_ms, "
    "released_by) VALUES(?1, ?2, ?3, ?4, 0, ?5, '', 0, ?6, ?7) "
    "ON CONFLICT(tbl, key) DO UPDATE SET "
    "  released_wall_ms = CASE WHEN excluded.r_hlc > r_hlc THEN excluded.released_wall_ms ELSE released_wall_ms END, "
    "  released_by = CASE WHEN excluded.r_hlc > r_hlc THEN excluded.released_by ELSE released_by END, "
    "  r_hlc = MAX(r_hlc, excluded.r_hlc)";

std::string normalise_pk(const std::string& pk) {
  if (!pk.empty() && pk.front() == '[') return pk;
  return "[" + pk + "]";
}

bool is_record(const RowChange& c) {
  return c.pk.size() == 2 && c.row.size() == 4 && std::holds_alternative<std::string>(c.pk[0]) &&
         std::holds_alternative<Blob>(c.pk[1]) && std::holds_alternative<int64_t>(c.row[0]) &&
         std::holds_alternative<std::string>(c.row[1]) && std::holds_alternative<int64_t>(c.row[2]) &&
         std::holds_alternative<std::string>(c.row[3]);
}

RowChange control_record(ChangeOp op, const std::string& table, const std::string& key, HlcTime hlc,
                         const std::string& pk_text, int64_t shard, const std::string& text) {
  RowChange c;
  c.table = kQuarantineTable;
  c.op = op;
  c.pk = {Value(table), Value(Blob{key})};
  c.row = {Value(static_cast<int64_t>(hlc)), Value(pk_text), Value(shard), Value(text)};
  return c;
}

}  // namespace

Status Dal::Impl::load_quarantine_state() {
  auto rows = writer->query("SELECT EXISTS(SELECT 1 FROM _ezone_quarantine WHERE q_hlc > r_hlc)");
  if (!rows) return rows.status();
  quarantine_active = !rows.value().empty() && std::get<int64_t>(rows.value()[0][0]) != 0;
  return Status::ok();
}

void Dal::Impl::quarantine_after_commit(bool committed) {
  if (!quarantine_recheck) return;
  quarantine_recheck = false;
  if (!committed) return;
  if (Status s = load_quarantine_state(); !s) {
    quarantine_active = true;  // unknown: keep checking every write
    log().warn("event=dal_quarantine_state_unknown ezone={} error=\"{}\"", config.ezone, s.message());
  }
}

Status Dal::Impl::on_conflict(const TableInfo& t, const std::string& key, const std::string& pk_text, int64_t shard,
                              const data::RowVersion& a, const data::RowVersion& b) {
  if (!owns_part(t, shard)) return Status::ok();  // the owner decides, and its record will come
  std::string first = a.origin, second = b.origin;
  if (second < first) std::swap(first, second);
  const RowChange q = control_record(ChangeOp::upsert, t.spec->name, key, std::max(a.hlc, b.hlc), pk_text, shard,
                                     first == second ? first : first + "," + second);
  if (Status s = apply_quarantine_record(q); !s) return s;
  return append_control(q);
}

Status Dal::Impl::append_control(const RowChange& c) {
  return append_outbox(clock.now(), -1, {c}).status();
}

Status Dal::Impl::apply_quarantine_record(const RowChange& c) {
  if (!is_record(c)) return Status(Errc::parse_error, "a quarantine control record is malformed");
  const std::string& table = std::get<std::string>(c.pk[0]);
  const std::string& pk_text = std::get<std::string>(c.row[1]);
  const std::string& text = std::get<std::string>(c.row[3]);
  const Value wall(hlc_physical_ms(clock.last()));
  if (c.op == ChangeOp::remove) {
    auto n = writer->run(kReleaseSql, {c.pk[0], c.pk[1], c.row[1], c.row[2], c.row[0], wall, c.row[3]});
    if (!n) return n.status();
    log().info("event=dal_quarantine_released ezone={} table={} pk={} by={}", config.ezone, table, pk_text, text);
    quarantine_recheck = true;  // after the commit: a rollback must leave the checks on
    return Status::ok();
  }
  auto was = is_quarantined(table, std::get<Blob>(c.pk[1]).bytes);
  if (!was) return was.status();
  auto rows = writer->query(kQuarantineSql, {c.pk[0], c.pk[1], c.row[1], c.row[2], c.row[0], c.row[3], wall});
  if (!rows) return rows.status();
  const bool now = !rows.value().empty() && std::get<int64_t>(rows.value()[0][0]) != 0;
  if (!now || was.value()) return Status::ok();  // a release covers it, or it was quarantined already
  quarantine_active = true;
  if (metrics) {
    metrics->counter("ezone_dal_quarantined_total", "Rows quarantined after a conflict (written on two sites).",
                     {{"table", table}}).inc();
  }
  log().warn("event=dal_row_quarantined ezone={} table={} pk={} shard={} writers={}", config.ezone, table, pk_text,
             std::get<int64_t>(c.row[2]), text);
  return Status::ok();
}

Result<bool> Dal::Impl::is_quarantined(const std::string& table, const std::string& key) {
  if (!quarantine_active) return false;
  auto stmt = cached_sql("SELECT 1 FROM _ezone_quarantine WHERE tbl = ?1 AND key = ?2 AND q_hlc > r_hlc");
  if (!stmt) return stmt.status();
  Stmt& q = *stmt.value();
  q.reset();
  if (Status s = q.bind_text_static(1, table); !s) return s;
  if (Status s = q.bind_blob_static(2, key); !s) return s;
  auto row = q.step();
  q.reset();
  if (!row) return row.status();
  return row.value();
}

Result<std::vector<QuarantineEntry>> Dal::quarantine(size_t limit, bool with_released) {
  auto rows = query(
      "SELECT q.tbl, q.pk, q.shard, q.q_hlc, q.origins, q.since_wall_ms, q.q_hlc <= q.r_hlc, q.released_wall_ms, "
      "q.released_by, (SELECT COUNT(*) FROM _ezone_conflicts c WHERE c.tbl = q.tbl AND c.key = q.key) "
      "FROM _ezone_quarantine q WHERE q.q_hlc > 0 AND (q.q_hlc > q.r_hlc OR ?2) "
      "ORDER BY q.since_wall_ms, q.tbl, q.key LIMIT ?1",
      {Value(static_cast<int64_t>(limit)), Value(int64_t{with_released ? 1 : 0})});
  if (!rows) return rows.status();
  std::vector<QuarantineEntry> out;
  for (const Row& r : rows.value()) {
    QuarantineEntry e;
    e.table = std::get<std::string>(r[0]);
    e.pk = std::get<std::string>(r[1]);
    e.shard = std::get<int64_t>(r[2]);
    e.hlc_max = static_cast<HlcTime>(std::get<int64_t>(r[3]));
    e.origins = std::get<std::string>(r[4]);
    e.since_wall_ms = std::get<int64_t>(r[5]);
    e.released = std::get<int64_t>(r[6]) != 0;
    e.released_wall_ms = std::get<int64_t>(r[7]);
    e.released_by = std::get<std::string>(r[8]);
    e.conflicts = static_cast<uint64_t>(std::get<int64_t>(r[9]));
    out.push_back(std::move(e));
  }
  return out;
}

Result<uint64_t> Dal::Impl::release_row(const std::string& table, const std::string& pk_text) {
  auto rows = writer->query("SELECT key, q_hlc, shard FROM _ezone_quarantine WHERE tbl = ?1 AND pk = ?2 AND q_hlc > r_hlc",
                            {Value(table), Value(pk_text)});
  if (!rows) return rows.status();
  if (rows.value().empty()) {
    return Status(Errc::not_found,
                  "row " + pk_text + " of table '" + table + "' is not quarantined at ezone '" + config.ezone + "'");
  }
  const Row& q = rows.value()[0];
  const RowChange release = control_record(ChangeOp::remove, table, std::get<Blob>(q[0]).bytes,
                                           static_cast<HlcTime>(std::get<int64_t>(q[1])), pk_text,
                                           std::get<int64_t>(q[2]), config.ezone);
  if (Status s = apply_quarantine_record(release); !s) return s;
  const uint64_t seq = next_seq;
  if (Status s = append_control(release); !s) return s;
  return seq;
}

namespace {

void count_release(Metrics* metrics, const std::string& table) {
  if (!metrics) return;
  metrics->counter("ezone_dal_quarantine_released_total", "Quarantined rows released by an operator.",
                   {{"table", table}}).inc();
}

}  // namespace

Result<uint64_t> Dal::release_quarantine(const std::string& table, const std::string& pk) {
  const std::string pk_text = normalise_pk(pk);
  uint64_t seq = 0;
  auto job = std::make_unique<Job>();
  job->kind = Job::Kind::maintenance;
  job->maintenance = [this, &table, &pk_text, &seq]() -> Status {
    auto released = impl_->release_row(table, pk_text);
    if (!released) return released.status();
    seq = released.value();
    return Status::ok();
  };
  if (Status s = impl_->run_queued(std::move(job)); !s) return s;
  count_release(impl_->metrics, table);
  return seq;
}

namespace {

TxOutcome failed(Errc code, std::string why) {
  TxOutcome out;
  out.status = Status(code, std::move(why));
  return out;
}

// INSERT ... ON CONFLICT(key) DO UPDATE of every column: an upsert on the
// key only, so a clash on another unique column fails the request instead
// of replacing another row (INSERT OR REPLACE would).
std::string upsert_on_key_sql(const std::string& table, const TableInfo& t) {
  std::string columns, params, sets, keys;
  for (size_t i = 0; i < t.columns.size(); ++i) {
    const std::string& c = t.columns[i];
    const char* sep = i ? "," : "";
    columns += sep + c;
    params += sep + ("?" + std::to_string(i + 1));
    sets += sep + c + "=excluded." + c;
  }
  for (int c : t.pk_cols) keys += (keys.empty() ? "" : ",") + t.columns[static_cast<size_t>(c)];
  return "INSERT INTO " + table + "(" + columns + ") VALUES(" + params + ") ON CONFLICT(" + keys +
         ") DO UPDATE SET " + sets;
}

// The version `origin` wrote at `hlc` (0: its newest) among the row's
// conflict records, winners and losers: the statement and the values that
// write it again (a deleted version: the row's delete).
Result<std::pair<std::string, Row>> kept_version(Dal& dal, const TableInfo& t, const std::string& pk_text,
                                                 const Row& pk, const std::string& origin, HlcTime hlc) {
  const std::string& table = t.spec->name;
  auto versions = dal.query(
      "SELECT op, row, hlc FROM (SELECT winner_origin AS origin, winner_hlc AS hlc, winner_op AS op, winner_row AS row "
      "FROM _ezone_conflicts WHERE tbl = ?1 AND pk = ?2 UNION ALL SELECT loser_origin, loser_hlc, loser_op, loser_row "
      "FROM _ezone_conflicts WHERE tbl = ?1 AND pk = ?2) WHERE origin = ?3 AND (?4 = 0 OR hlc = ?4) "
      "ORDER BY hlc DESC LIMIT 1",
      {Value(table), Value(pk_text), Value(origin), Value(static_cast<int64_t>(hlc))});
  if (!versions) return versions.status();
  if (versions.value().empty())
    return Status(Errc::not_found, "row " + pk_text + " of table '" + table + "' has no version written by '" + origin +
                                       "'" + (hlc ? " at hlc " + std::to_string(hlc) : "") +
                                       " among its conflicts (ezctl drc conflicts lists them)");
  const Row& v = versions.value()[0];
  if (std::get<std::string>(v[0]) == change_op_name(ChangeOp::remove)) return std::make_pair(t.delete_sql, pk);
  auto parsed = parse_row_text(std::get<std::string>(v[1]));
  if (!parsed || parsed.value().size() != t.columns.size())
    return Status(Errc::parse_error, "the kept version of row " + pk_text + " does not fit table '" + table + "' now" +
                                         (parsed ? "" : ": " + parsed.status().message()));
  return std::make_pair(upsert_on_key_sql(table, t), std::move(parsed.value()));
}

}  // namespace

TxOutcome Dal::release_quarantine_keeping(const std::string& table, const std::string& pk, const std::string& origin,
                                          HlcTime hlc) {
  const std::string pk_text = normalise_pk(pk);
  const auto it = impl_->tables.find(table);
  if (it == impl_->tables.end()) return failed(Errc::not_found, "no replicated table '" + table + "'");
  auto pk_values = parse_row_text(pk_text);
  if (!pk_values || pk_values.value().size() != it->second.pk_cols.size())
    return failed(Errc::invalid_argument, "'" + pk + "' is not a key of table '" + table +
                                              "' (give it as `quarantine list` shows it, e.g. [42])");
  auto entry = query("SELECT shard FROM _ezone_quarantine WHERE tbl = ?1 AND pk = ?2 AND q_hlc > r_hlc",
                     {Value(table), Value(pk_text)});
  if (!entry) return failed(entry.status().code(), entry.status().message());
  if (entry.value().empty())
    return failed(Errc::not_found,
                  "row " + pk_text + " of table '" + table + "' is not quarantined at ezone '" + ezone() + "'");
  const int64_t shard = std::get<int64_t>(entry.value()[0][0]);
  auto write = kept_version(*this, it->second, pk_text, pk_values.value(), origin, hlc);
  if (!write) return failed(write.status().code(), write.status().message());

  const WriteGate gate = impl_->gate_source();
  auto job = std::make_unique<Job>();
  job->kind = Job::Kind::tx;
  job->dal_owner = this;
  if (shard >= 0) job->target.shard = static_cast<ShardId>(shard);
  job->target.epoch = gate.routes ? gate.routes->epoch() : 0;
  job->release = Job::Release{table, encode_key(pk_values.value()), pk_text};
  job->fn = [write = std::move(write.value())](Tx& tx) -> Status { return tx.exec(write.first, write.second).status(); };
  auto promise = std::make_shared<std::promise<TxOutcome>>();
  auto done = promise->get_future();
  job->tx_done = [promise](TxOutcome out) { promise->set_value(std::move(out)); };
  impl_->enqueue_tx(std::move(job));
  TxOutcome out = done.get();
  if (out.ok()) count_release(impl_->metrics, table);
  return out;
}

}  // namespace ezone::dal
