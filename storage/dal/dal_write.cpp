// Local transactions: their queue, and on the writer thread the write gate,
// the handler run under a session, the row checks, and the capture into the outbox.
#include <spdlog/spdlog.h>

#include "storage/dal/dal_impl.hpp"

namespace ezone::dal {

namespace {

struct Refused {
  Refusal refusal = Refusal::none;
  std::string message;
};

std::string shard_text(ShardId shard) { return "shard " + std::to_string(shard); }

// The DAL rule of DESIGN.md for the request's shard, judged on one gate.
Refused check_gate(const WriteGate& gate, const std::map<Epoch, std::shared_ptr<const RouteTable>>& history,
                   const TxTarget& target, const std::string& ezone) {
  if (!target.shard) return {};
  const ShardId shard = *target.shard;
  if (!gate.routes) return {Refusal::no_route_table, "this node has no route table yet"};
  const RouteTable& now = *gate.routes;
  const std::string at = " at epoch " + std::to_string(now.epoch());
  if (target.epoch > now.epoch()) {
    return {Refusal::epoch_ahead, "the request was routed at epoch " + std::to_string(target.epoch) +
                                      ", which this node has not installed yet (it is at epoch " +
                                      std::to_string(now.epoch()) + "); retry"};
  }
  const ShardRoute* route = now.find(shard);
  if (!route) return {Refusal::unknown_shard, shard_text(shard) + " is not in the route table" + at};
  if (target.epoch < now.epoch()) {
    // Accept an older epoch only if this shard's route is the same as then:
    // a route change of another shard must not fail this write.
    auto old = history.find(target.epoch);
    const ShardRoute* then = old == history.end() ? nullptr : old->second->find(shard);
    if (!then || *then != *route) {
      return {Refusal::stale_epoch, "the request was routed at epoch " + std::to_string(target.epoch) + " but " +
                                        shard_text(shard) + "'s route changed since (now owner " + route->owner +
                                        ", " + shard_state_name(route->state) + at + "); re-resolve and retry"};
    }
  }
  if (route->owner != ezone) {
    return {Refusal::wrong_zone, shard_text(shard) + " (" + route->name + ") is owned by ezone '" + route->owner +
                                     "'" + at + ", not by '" + ezone + "'"};
  }
  if (route->state == ShardState::write_forbidden) {
    return {Refusal::write_forbidden, shard_text(shard) + " (" + route->name + ") is write-forbidden" + at +
                                          " (it is moving); retry shortly"};
  }
  if (!gate.lease_valid) {
    return {Refusal::lease_invalid, "ezone '" + ezone + "' holds no valid ownership lease (" +
                                        (gate.lease_detail.empty() ? "not renewed" : gate.lease_detail) +
                                        "), so it is fenced"};
  }
  return {};
}

Value to_value(sqlite3_value* v) {
  if (!v) return Value(std::monostate{});
  switch (sqlite3_value_type(v)) {
    case SQLITE_INTEGER: return Value(static_cast<int64_t>(sqlite3_value_int64(v)));
    case SQLITE_FLOAT: return Value(sqlite3_value_double(v));
    case SQLITE_TEXT:
      return Value(std::string(reinterpret_cast<const char*>(sqlite3_value_text(v)),
                               static_cast<size_t>(sqlite3_value_bytes(v))));
    case SQLITE_BLOB: {
      auto* p = static_cast<const char*>(sqlite3_value_blob(v));
      return Value(Blob{p ? std::string(p, static_cast<size_t>(sqlite3_value_bytes(v))) : std::string()});
    }
    default: return Value(std::monostate{});
  }
}

// A row the session saw change, before the DAL reads its final image.
struct Captured {
  const TableInfo* table = nullptr;
  int op = 0;             // SQLITE_INSERT / SQLITE_UPDATE / SQLITE_DELETE
  Row pk;
  Row old_row;            // DELETE: all columns; UPDATE: changed ones (others null)
  std::vector<bool> old_present;
  Row new_row;            // INSERT: all columns
};

int session_filter(void* ctx, const char* table) {
  auto* tables = static_cast<const std::map<std::string, TableInfo>*>(ctx);
  return tables->count(table) ? 1 : 0;
}

struct SessionGuard {
  sqlite3_session* s = nullptr;
  ~SessionGuard() { if (s) sqlite3session_delete(s); }
};

Result<std::vector<Captured>> read_session(sqlite3_session* session, const std::map<std::string, TableInfo>& tables) {
  int bytes = 0;
  void* buf = nullptr;
  int rc = sqlite3session_changeset(session, &bytes, &buf);
  if (rc != SQLITE_OK) return sqlite_status(nullptr, rc, "session changeset");
  std::unique_ptr<void, decltype(&sqlite3_free)> owned(buf, sqlite3_free);
  std::vector<Captured> out;
  if (bytes == 0) return out;
  sqlite3_changeset_iter* it = nullptr;
  rc = sqlite3changeset_start(&it, bytes, buf);
  if (rc != SQLITE_OK) return sqlite_status(nullptr, rc, "session changeset start");
  while ((rc = sqlite3changeset_next(it)) == SQLITE_ROW) {
    const char* name = nullptr;
    int ncol = 0, op = 0, indirect = 0;
    sqlite3changeset_op(it, &name, &ncol, &op, &indirect);
    Captured c;
    c.table = &tables.at(name);
    c.op = op;
    for (int pc : c.table->pk_cols) {
      sqlite3_value* v = nullptr;
      if (op == SQLITE_INSERT) sqlite3changeset_new(it, pc, &v); else sqlite3changeset_old(it, pc, &v);
      c.pk.push_back(to_value(v));
    }
    c.old_present.assign(static_cast<size_t>(ncol), false);
    for (int i = 0; i < ncol; ++i) {
      sqlite3_value* v = nullptr;
      if (op != SQLITE_INSERT && sqlite3changeset_old(it, i, &v) == SQLITE_OK && v) c.old_present[static_cast<size_t>(i)] = true;
      c.old_row.push_back(to_value(v));
      v = nullptr;
      if (op == SQLITE_INSERT) sqlite3changeset_new(it, i, &v);
      c.new_row.push_back(to_value(v));
    }
    out.push_back(std::move(c));
  }
  sqlite3changeset_finalize(it);
  if (rc != SQLITE_DONE) return sqlite_status(nullptr, rc, "session changeset iteration");
  return out;
}

bool same_shard(const Value& v, ShardId shard) {
  auto* i = std::get_if<int64_t>(&v);
  return i && *i == static_cast<int64_t>(shard);
}

}  // namespace

// ---- Tx ----

Result<int64_t> Tx::exec(std::string_view sql, const std::vector<Value>& params) {
  return dal_.impl_->handler_exec(*this, sql, params, nullptr);
}

Result<std::vector<Row>> Tx::query(std::string_view sql, const std::vector<Value>& params) {
  std::vector<Row> rows;
  auto n = dal_.impl_->handler_exec(*this, sql, params, &rows);
  if (!n) return n.status();
  return rows;
}

Result<int64_t> Dal::Impl::handler_exec(Tx& tx, std::string_view sql, const std::vector<Value>& params,
                                        std::vector<Row>* rows) {
  if (!tx.refused_.is_ok()) return tx.refused_;
  auth_refusal.clear();
  auto stmt = cached(sql, /*for_handler=*/true);
  if (!stmt) {
    // A refusal by the authorizer or the one-statement rule ends the whole
    // request: the handler may not catch it and commit the rest.
    const bool refused = !auth_refusal.empty() || stmt.status().message().find("more than one") != std::string::npos;
    if (refused) {
      tx.refused_ = Status(Errc::invalid_argument,
                           "statement refused: " + (auth_refusal.empty() ? stmt.status().message() : auth_refusal));
      return tx.refused_;
    }
    return stmt.status();
  }
  Stmt& q = *stmt.value();
  if (Status s = q.bind_all(params); !s) return s;
  DeadlineScope deadline(*writer, config.statement_ms_max);
  size_t bytes = 0;
  for (;;) {
    auto more = q.step();
    if (!more) {
      q.reset();
      if (writer->deadline_passed())
        return Status(Errc::timeout, "the statement ran longer than " + std::to_string(config.statement_ms_max) +
                                         " ms and was stopped");
      return more.status();
    }
    if (!more.value()) break;
    if (rows) {
      rows->push_back(q.row());
      for (const Value& v : rows->back()) bytes += value_bytes(v);
      const bool too_many = rows->size() > config.query_rows_max;
      if (too_many || bytes > config.query_bytes_max) {
        q.reset();
        return Status(Errc::invalid_argument, "the query returns more than " +
                                                  (too_many ? std::to_string(config.query_rows_max) + " rows"
                                                            : std::to_string(config.query_bytes_max) + " bytes"));
      }
    }
  }
  q.reset();
  tx.changes_ = sqlite3_stmt_readonly(q.get()) ? 0 : static_cast<int64_t>(sqlite3_changes64(writer->get()));
  return tx.changes_;
}

// ---- the queue, and the gate each group is judged on ----

std::future<TxOutcome> Dal::submit(TxTarget target, TxFn fn) {
  auto promise = std::make_shared<std::promise<TxOutcome>>();
  auto done = promise->get_future();
  submit(target, std::move(fn), [promise](TxOutcome out) { promise->set_value(std::move(out)); });
  return done;
}

void Dal::submit(TxTarget target, TxFn fn, DoneFn done) {
  auto job = std::make_unique<Job>();
  job->kind = Job::Kind::tx;
  job->dal_owner = this;
  if (target.trace && target.trace->sampled() && impl_->config.on_span) {
    auto trace = std::make_shared<TxTrace>();
    trace->span = child_span(*target.trace, "dal.tx", SpanKind::internal, "ezone.dal", impl_->config.ezone);
    trace->submitted = std::chrono::steady_clock::now();  // the span's start, on the clock its parts are measured on
    if (target.shard) trace->span.set("ezone.shard", static_cast<int64_t>(*target.shard));
    trace->span.set("ezone.epoch", static_cast<int64_t>(target.epoch));
    job->trace = trace;
    done = [trace, sink = impl_->config.on_span, done = std::move(done)](TxOutcome out) {
      trace->finish(out);
      sink(trace->span);
      done(std::move(out));
    };
  }
  job->target = std::move(target);
  job->fn = std::move(fn);
  job->tx_done = std::move(done);
  impl_->enqueue_tx(std::move(job));
}

void TxTrace::finish(const TxOutcome& out) {
  // The end is the start plus the time elapsed on the steady clock, so the
  // span holds its parts even if the wall clock is stepped meanwhile.
  span.end_unix_ns = span.start_unix_ns + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                              std::chrono::steady_clock::now() - submitted)
                                              .count();
  if (queued_us >= 0) {
    span.set("ezone.dal.queued_us", queued_us);
    span.set("ezone.dal.run_us", run_us);
    span.set("ezone.dal.commit_us", commit_us);
    span.set("ezone.dal.group_size", group_size);
  }
  if (out.ok()) {
    span.set("ezone.dal.rows", out.rows);
    if (out.outbox_seq) span.set("ezone.dal.outbox_seq", static_cast<int64_t>(out.outbox_seq));
    return;
  }
  if (out.refusal != Refusal::none) span.set("ezone.dal.refusal", std::string(refusal_name(out.refusal)));
  span.error = out.status.message();
}

void Dal::Impl::enqueue_tx(std::unique_ptr<Job> job) {
  Refusal refusal = Refusal::none;
  {
    std::lock_guard<std::mutex> lock(queue_mutex);
    if (stopping) {
      refusal = Refusal::stopping;
    } else if (queue.size() >= config.queue_tx_max) {
      refusal = Refusal::queue_full;
    } else {
      queue.push_back(std::move(job));
    }
  }
  if (refusal == Refusal::none) {
    queue_cv.notify_one();
    return;
  }
  const std::string why = refusal == Refusal::stopping
                              ? "the DAL is stopping"
                              : "the DAL queue holds " + std::to_string(config.queue_tx_max) +
                                    " requests (queue_tx_max); retry later";
  count_refusal(refusal, why);
  TxOutcome out;
  out.status = Status(Errc::unavailable, why);
  out.refusal = refusal;
  job->tx_done(std::move(out));
}

WriteGate Dal::Impl::take_gate() {
  WriteGate gate = gate_source();
  if (gate.routes) {
    gate_history[gate.routes->epoch()] = gate.routes;
    // Keep the last few tables: enough to judge a request resolved a moment
    // before an epoch change, without keeping history for ever.
    while (gate_history.size() > 16) gate_history.erase(gate_history.begin());
  }
  return gate;
}

// ---- one request ----

namespace {

// Turns the session's rows into full-image changes, checking each against
// the table class rules. Sets `refused` and returns no changes on a refusal.
Result<std::vector<RowChange>> build_changes(Dal::Impl& impl, const std::vector<Captured>& captured,
                                             const TxTarget& target, const WriteGate& gate,
                                             const std::optional<Job::Release>& release, Refused& refused) {
  std::vector<RowChange> changes;
  for (const Captured& c : captured) {
    const data::TableSpec& spec = *c.table->spec;
    RowChange rc;
    rc.table = spec.name;
    rc.pk = c.pk;
    if (c.op == SQLITE_DELETE) {
      rc.op = ChangeOp::remove;
      rc.row = c.old_row;
    } else {
      rc.op = ChangeOp::upsert;
      auto image = c.op == SQLITE_INSERT ? Result<Row>(c.new_row) : impl.read_row(*c.table, c.pk);
      if (!image) return image.status();
      rc.row = std::move(image.value());
    }
    if (spec.kind == data::TableKind::global && spec.master_ezone != impl.config.ezone) {
      refused = {Refusal::not_master, "table '" + spec.name + "' is global-zone; its master is ezone '" +
                                          spec.master_ezone + "', so it is written only there"};
      return changes;
    }
    if (spec.kind == data::TableKind::sharding) {
      const size_t col = static_cast<size_t>(c.table->shard_col);
      if (!target.shard) {
        refused = {Refusal::no_shard, "table '" + spec.name + "' is sharding-zone, but the transaction has no shard"};
        return changes;
      }
      const bool old_ok = c.op != SQLITE_UPDATE || !c.old_present[col] || same_shard(c.old_row[col], *target.shard);
      if (rc.row.size() <= col || !same_shard(rc.row[col], *target.shard) || !old_ok) {
        refused = {Refusal::shard_mismatch,
                   "a row of '" + spec.name + "' with key " + row_text(rc.pk) + " has " + spec.shard_column + "=" +
                       (rc.row.size() > col ? value_text(rc.row[col]) : "?") + ", but the transaction is for " +
                       shard_text(*target.shard)};
        return changes;
      }
    }
    if (!gate.lease_valid) {
      refused = {Refusal::lease_invalid, "ezone '" + impl.config.ezone + "' holds no valid ownership lease (" +
                                             (gate.lease_detail.empty() ? "not renewed" : gate.lease_detail) +
                                             "), so it is fenced"};
      return changes;
    }
    const std::string key = encode_key(rc.pk);
    auto quarantined = impl.is_quarantined(spec.name, key);
    if (!quarantined) return quarantined.status();
    const bool released_here = release && release->table == spec.name && release->key == key;
    if (quarantined.value() && !released_here) {
      refused = {Refusal::quarantined,
                 "row " + row_text(rc.pk) + " of table '" + spec.name + "' is quarantined: two sites wrote it while "
                 "their ownership overlapped, so writes to it are refused until an operator releases it (ezctl "
                 "quarantine list; ezctl quarantine resolve --table " + spec.name + " --pk '" + row_text(rc.pk) + "')"};
      return changes;
    }
    changes.push_back(std::move(rc));
  }
  return changes;
}

}  // namespace

TxOutcome Dal::Impl::run_one(Job& job, const WriteGate& gate) {
  TxOutcome out;
  auto refuse = [&](Refused r) {
    count_refusal(r.refusal, r.message);
    out.refusal = r.refusal;
    out.status = Status(r.refusal == Refusal::write_forbidden || r.refusal == Refusal::epoch_ahead ||
                                r.refusal == Refusal::no_route_table || r.refusal == Refusal::lease_invalid
                            ? Errc::unavailable
                        : r.refusal == Refusal::statement_refused || r.refusal == Refusal::shard_mismatch ||
                                r.refusal == Refusal::no_shard
                            ? Errc::invalid_argument
                            : Errc::conflict,
                        r.message);
    return out;
  };
  if (Refused r = check_gate(gate, gate_history, job.target, config.ezone); r.refusal != Refusal::none) return refuse(r);

  const HlcTime hlc = clock.now();
  out.hlc = hlc;
  if (Status s = control("SAVEPOINT request"); !s) {
    out.status = s;
    return out;
  }
  const size_t feed_mark = group_feed.size();
  auto rollback = [&] {
    control("ROLLBACK TO request");
    control("RELEASE request");
    drop_feed_events(feed_mark);
  };
  SessionGuard session;
  if (int rc = sqlite3session_create(writer->get(), "main", &session.s); rc != SQLITE_OK) {
    rollback();
    out.status = sqlite_status(writer->get(), rc, "session create");
    return out;
  }
  sqlite3session_table_filter(session.s, session_filter, &tables);
  sqlite3session_attach(session.s, nullptr);

  Tx tx(*job.dal_owner, job.target, hlc);
  Status st;
  auth_mode = AuthMode::handler;
  try {
    st = job.fn(tx);
  } catch (const std::exception& e) {
    st = Status(Errc::internal, std::string("the handler threw: ") + e.what());
  } catch (...) {
    st = Status(Errc::internal, "the handler threw a non-standard exception");
  }
  auth_mode = AuthMode::internal;
  if (!tx.refused_.is_ok()) {
    rollback();
    return refuse({Refusal::statement_refused, tx.refused_.message()});
  }
  if (!st) {
    rollback();
    out.status = st;
    return out;
  }
  auto captured = read_session(session.s, tables);
  if (!captured) {
    rollback();
    out.status = captured.status();
    return out;
  }
  Refused refused;
  auto changes = build_changes(*this, captured.value(), job.target, gate, job.release, refused);
  if (!changes || refused.refusal != Refusal::none) {
    rollback();
    if (refused.refusal != Refusal::none) return refuse(refused);
    out.status = changes.status();
    return out;
  }
  if (Status s = record_local(changes.value(), job.target, hlc, out); !s) {
    rollback();
    out.status = s;
    return out;
  }
  if (job.release) {
    auto seq = release_row(job.release->table, job.release->pk_text);
    if (!seq) {
      rollback();
      out.status = seq.status();
      return out;
    }
    if (out.outbox_seq == 0) out.outbox_seq = seq.value();  // nothing written: the release's entry
  }
  control("RELEASE request");
  return out;
}

// Versions, feed and outbox entry of a request's changes, in its savepoint.
Status Dal::Impl::record_local(std::vector<RowChange>& changes, const TxTarget& target, HlcTime hlc, TxOutcome& out) {
  if (changes.empty()) return Status::ok();
  const data::RowVersion version{hlc, config.ezone};
  for (RowChange& c : changes) {
    const std::string key = encode_key(c.pk);
    auto base = row_version(c.table, key, nullptr);
    if (!base) return base.status();
    c.base = base.value();
    if (Status s = set_row_version(c.table, key, version, c.op == ChangeOp::remove); !s) return s;
    const TableInfo& t = tables.at(c.table);
    add_feed_event(c.table, row_text(c.pk), c.op, row_shard(t, c.row), config.ezone, hlc);
  }
  const int64_t shard = target.shard ? static_cast<int64_t>(*target.shard) : -1;
  auto seq = append_outbox(hlc, shard, changes);
  if (!seq) return seq.status();
  out.outbox_seq = *seq;
  out.rows = static_cast<int64_t>(changes.size());
  return Status::ok();
}

// ---- a group ----

// The gate was taken when the group began; the handlers, the capture and a
// slow disk or a paused process (SIGSTOP, a long stall) can put time between
// that and COMMIT. So every request about to commit is judged again on a
// gate taken now: had the lease run out or the shard moved meanwhile, the
// whole group rolls back instead of committing a write this ezone may no
// longer make (invariant 8). The refused requests get the reason, the
// others of the group a retryable error.
Status Dal::Impl::recheck_before_commit(std::vector<std::unique_ptr<Job>>& jobs, std::vector<TxOutcome>& outcomes) {
  const WriteGate now = take_gate();
  Refused late;
  for (size_t i = 0; i < jobs.size() && late.refusal == Refusal::none; ++i) {
    if (!outcomes[i].ok() || outcomes[i].rows == 0) continue;
    late = check_gate(now, gate_history, jobs[i]->target, config.ezone);
    if (late.refusal == Refusal::none && !now.lease_valid)
      late = {Refusal::lease_invalid, "ezone '" + config.ezone + "' lost its ownership lease before the commit (" +
                                          (now.lease_detail.empty() ? "not renewed" : now.lease_detail) +
                                          "), so it is fenced"};
  }
  if (late.refusal == Refusal::none) return Status::ok();
  count_refusal(late.refusal, late.message + " (judged again right before COMMIT)");
  for (TxOutcome& o : outcomes) {
    if (!o.ok()) continue;
    o.refusal = late.refusal;
    o.status = Status(Errc::unavailable, "not committed: " + late.message + " (judged again right before COMMIT); retry");
  }
  return Status(Errc::unavailable, late.message);
}

// The times of a group's traced requests (TxTrace); nothing for a group
// without one.
class GroupTimes {
 public:
  explicit GroupTimes(const std::vector<std::unique_ptr<Job>>& jobs) : jobs_(jobs) {
    for (const auto& j : jobs) traced_ = traced_ || j->trace;
    if (traced_) began_ = mark_ = ran_all_ = Clock::now();
  }
  void run_begins() {
    if (traced_) mark_ = Clock::now();
  }
  void ran(Job& job) {
    if (!traced_) return;
    const auto now = Clock::now();
    if (job.trace) job.trace->run_us = us(now - mark_);
    ran_all_ = now;
  }
  void committed() {
    if (!traced_) return;
    const auto now = Clock::now();
    for (const auto& j : jobs_) {
      if (!j->trace) continue;
      j->trace->queued_us = us(began_ - j->trace->submitted);
      j->trace->commit_us = us(now - ran_all_);
      j->trace->group_size = static_cast<int64_t>(jobs_.size());
    }
  }

 private:
  using Clock = std::chrono::steady_clock;
  static int64_t us(Clock::duration d) { return std::chrono::duration_cast<std::chrono::microseconds>(d).count(); }
  const std::vector<std::unique_ptr<Job>>& jobs_;
  bool traced_ = false;
  Clock::time_point began_, mark_, ran_all_;
};

void Dal::Impl::run_group(std::vector<std::unique_ptr<Job>>& jobs, Job* rider) {
  GroupTimes times(jobs);
  const WriteGate gate = take_gate();
  const Epoch epoch = gate.routes ? gate.routes->epoch() : 0;
  std::vector<TxOutcome> outcomes(jobs.size());
  const uint64_t seq_before = next_seq, feed_before = next_feed_id;
  Status begin = control("BEGIN IMMEDIATE");
  bool refused_late = false;
  Status ridden = Status::ok();
  if (begin && rider) {
    const uint64_t seq_mark = next_seq;
    ridden = control("SAVEPOINT rider");
    if (ridden) ridden = rider->maintenance();
    if (ridden) {
      control("RELEASE rider");
    } else {
      control("ROLLBACK TO rider");
      control("RELEASE rider");
      next_seq = seq_mark;
    }
  }
  if (begin) {
    for (size_t i = 0; i < jobs.size(); ++i) {
      times.run_begins();
      outcomes[i] = run_one(*jobs[i], gate);
      times.ran(*jobs[i]);
    }
    begin = write_feed();
    if (begin) {
      begin = recheck_before_commit(jobs, outcomes);
      refused_late = !begin;
    }
    if (begin) begin = control("COMMIT");
    if (!begin) control("ROLLBACK");
  }
  times.committed();
  if (!begin) {
    // Nothing of the group is durable: every request that would have
    // committed fails with the reason, and the sequence is reused.
    if (!refused_late)
      log().error("event=dal_group_commit_failed ezone={} error=\"{}\"", config.ezone, begin.message());
    next_seq = seq_before;
    forget_feed(feed_before);
    for (TxOutcome& o : outcomes) {
      if (o.status.is_ok()) o = TxOutcome{Status(Errc::io_error, "commit failed: " + begin.message())};
    }
  }
  quarantine_after_commit(begin.is_ok());  // a request that kept a version released a row
  publish_commit(epoch);
  if (rider) {
    if (begin && ridden && metrics) {
      metrics->counter("ezone_dal_shared_commits_total",
                       "Consistency-check chunks and repair images that committed with a group of requests, "
                       "sharing its fsync, instead of in a transaction of their own")
          .inc();
    }
    rider->maintenance_done.set_value(begin ? ridden : Status(Errc::io_error, "not committed: " + begin.message()));
  }
  for (size_t i = 0; i < jobs.size(); ++i) jobs[i]->tx_done(std::move(outcomes[i]));
}

}  // namespace ezone::dal
