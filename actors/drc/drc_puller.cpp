// DRC pullers: one per peer, pulling its outbox into the DAL.
//
// A puller's life, per peer:
//
//   no handle --ask the local cluster actor (ez_peer)--> handle
//       ^                                                  |
//       | pull failed or timed out (peer down, hung)       | pull(after = cursor)
//       +------------------ retry_ms ---------------------+|
//                                                          v
//            batch --decode (job thread)--> apply (DAL writer, cursor in the same tx)
//              ^                  |
//              +---- pull on -----+  while fewer than pipeline_batches_max
//                                    batches are decoding or applying
//
// The pipeline: while the writer applies batch N, the job thread decodes
// N+1 and the origin already reads N+2, so the writer does not wait for the
// network or the decoding. Pulls start small and double up to the tuning's
// bounds, so the first rows are applied within milliseconds of a (re)start.
// A pull carries the durable cursor (`applied`) apart from `after`: only
// the former lets the origin trim its outbox.
//
// An apply or decode error keeps the cursor where it was: the batches
// behind it in the pipeline are dropped (a later one applied anyway would
// only skip or be refused as a gap: the DAL applies each seq exactly once),
// and the puller retries from the durable cursor after retry_ms; the error
// shows in status() and the metrics.
#include <spdlog/spdlog.h>

#include "actors/cluster/cluster_actor.hpp"
#include "actors/drc/drc_parts.hpp"
#include "actors/drc/drc_protocol.hpp"

namespace ezone::drc_detail {
namespace {

// The first pull after a (re)start or an idle spell asks for this much; each
// following pull doubles it up to the tuning's batch_rows_max/bytes_max.
constexpr uint32_t kFirstPullRows = 32;
constexpr uint32_t kFirstPullBytes = 256u << 10;

struct PullerState {
  DrcServiceConfig config;
  std::string peer;
  std::shared_ptr<StatusBoard> board;
  std::shared_ptr<JobThread> jobs;
  std::shared_ptr<ApplyTracker> applies;
  caf::actor cluster;
  caf::actor handle;        // the peer's cluster actor while it answers
  uint64_t cursor = 0;      // durable: what this site has applied from the peer
  uint64_t fetched = 0;     // the last seq received and decoded (>= cursor)
  bool pulling = false;     // a pull is outstanding (at most one at a time)
  uint64_t pull_id = 0;     // the outstanding pull's number; a late answer to an abandoned one is dropped
  int64_t pull_deadline_ms = 0;
  int decoding = 0;         // batches on the job thread, not yet decoded
  int in_pipeline = 0;      // batches received and not yet applied (or dropped)
  uint64_t generation = 0;  // bumped by an error: the pipeline's older batches are dropped
  uint64_t cursor_generation = 0;  // the generation of the last restart (on_restart)
  uint32_t rows_next = kFirstPullRows, bytes_next = kFirstPullBytes;
  int64_t retry_at_ms = -1;  // >= 0: waiting to retry at this time
  int peer_waits = 0;        // asks in a row that found the peer not up
  static inline const char* name = "ezone.drc.puller";
};
using PullerSelf = caf::stateful_actor<PullerState>*;

void retry(PullerSelf self, const std::string& error) {
  auto& st = self->state;
  ++st.generation;  // what is still in the pipeline no longer continues the cursor
  st.rows_next = kFirstPullRows;
  st.bytes_next = kFirstPullBytes;
  st.config.metrics->counter("ezone_drc_pull_errors_total", "Pulls or applies that failed", {{"origin", st.peer}})
      .inc();
  st.board->update(st.peer, [&](DrcPeerStatus& s) {
    if (s.last_error != error) st.config.logger->warn("event=drc_pull_failed origin={} error=\"{}\"", st.peer, error);
    s.last_error = error;
    s.connected = false;
  });
  st.retry_at_ms = mono_ms() + st.config.tuning.retry_ms;  // the tick calls step() then
}

// The gauges of where the origin is and how far behind this site is.
void publish_lag(Metrics& m, const MetricLabels& labels, uint64_t head, uint64_t lag_rows, int64_t lag_ms) {
  m.gauge("ezone_drc_peer_head_seq", "The origin's newest outbox seq, as of its last answer", labels)
      .set(static_cast<int64_t>(head));
  m.gauge("ezone_drc_lag_rows", "Transactions of the origin not applied here yet", labels)
      .set(static_cast<int64_t>(lag_rows));
  m.gauge("ezone_drc_lag_ms", "Age of the oldest change of the origin not applied here; 0 when caught up", labels)
      .set(lag_ms);
}

// Metrics and status after an apply; runs on the DAL's writer thread.
void record_batch(const DrcServiceConfig& config, const std::string& peer, StatusBoard& board,
                  const dal::OutboxBatch& batch, const dal::ApplyReport& report, uint64_t before) {
  const MetricLabels labels{{"origin", peer}};
  Metrics& m = *config.metrics;
  const int64_t now = wall_ms();
  Histogram& lag = m.histogram("ezone_drc_apply_lag_seconds",
                               "From the origin's commit to the apply here, per transaction", labels,
                               latency_buckets_seconds());
  const dal::OutboxEntry* last = nullptr;
  for (const dal::OutboxEntry& e : batch.entries) {
    if (e.seq <= before || e.seq > report.cursor) continue;
    lag.observe(static_cast<double>(std::max<int64_t>(0, now - e.commit_wall_ms)) / 1000.0);
    last = &e;
  }
  const uint64_t lag_rows = batch.head_seq > report.cursor ? batch.head_seq - report.cursor : 0;
  // Behind: the next unapplied change is at least as old as the last applied.
  const int64_t lag_ms = lag_rows == 0 || !last ? 0 : std::max<int64_t>(0, now - last->commit_wall_ms);
  m.gauge("ezone_drc_cursor_seq", "Last outbox seq of the origin applied here (the watermark)", labels)
      .set(static_cast<int64_t>(report.cursor));
  publish_lag(m, labels, batch.head_seq, lag_rows, lag_ms);
  board.update(peer, [&](DrcPeerStatus& s) {
    s.connected = true;
    s.cursor = report.cursor;
    s.head = batch.head_seq;
    s.lag_rows = lag_rows;
    s.lag_ms = lag_ms;
    if (last) {
      s.watermark_hlc = last->hlc;
      s.last_apply_wall_ms = now;
    }
    ++s.batches;
    s.entries += report.entries;
    s.rows += report.rows;
    s.conflicts += report.conflicts;
    s.parked += report.parked;
    s.last_error.clear();
    s.refused = false;
  });
}

// Status after a pull that brought nothing new: the peer answered, so the
// link is up and an earlier error is over (without this, a peer that had
// been down and wrote nothing since stayed "down" in `ezctl drc`).
void record_idle(const DrcServiceConfig& config, const std::string& peer, StatusBoard& board, uint64_t head_seq) {
  uint64_t lag_rows = 0;
  int64_t lag_ms = 0;
  board.update(peer, [&](DrcPeerStatus& s) {
    s.connected = true;
    s.head = head_seq;
    s.lag_rows = lag_rows = head_seq > s.cursor ? head_seq - s.cursor : 0;
    if (lag_rows == 0) s.lag_ms = 0;
    lag_ms = s.lag_ms;
    s.last_error.clear();
    s.refused = false;
  });
  publish_lag(*config.metrics, {{"origin", peer}}, head_seq, lag_rows, lag_ms);
}

void pull(PullerSelf self, uint64_t after);

// While the node is isolated a puller sends nothing: it shows why, forgets
// the peer's handle and looks again every retry_ms (not counted as pull
// errors: nothing failed). Returns true then.
bool paused_by_isolation(PullerSelf self) {
  auto& st = self->state;
  if (!isolated(st.config)) return false;
  const std::string why = isolated_error(st.config);
  st.board->update(st.peer, [&](DrcPeerStatus& s) {
    if (s.last_error != why) st.config.logger->warn("event=drc_pull_paused origin={} reason=isolated", st.peer);
    s.last_error = why;
    s.connected = false;
  });
  st.handle = nullptr;
  st.retry_at_ms = mono_ms() + st.config.tuning.retry_ms;
  return true;
}

// Sends the next pull while the pipeline has room (fewer than
// pipeline_batches_max batches decoding or applying). When the peer has
// nothing more, that pull is a long poll held at the peer, so a change
// committed there while this site applies is on its way at once instead of
// after the apply. Waits while a batch is decoding: until then where it
// ends (the next `after`) is unknown.
void maybe_pull(PullerSelf self) {
  auto& st = self->state;
  if (st.pulling || st.decoding > 0 || st.retry_at_ms >= 0 || !st.handle) return;
  if (paused_by_isolation(self)) return;
  if (st.in_pipeline < static_cast<int>(st.config.tuning.pipeline_batches_max)) {
    pull(self, std::max(st.fetched, st.cursor));
  }
}

// Decodes a batch on the job thread, then queues it to the DAL's writer;
// the actor hears ez_decoded (where the batch ends) and, after the commit,
// ez_applied.
void on_batch(PullerSelf self, std::string bytes) {
  auto& st = self->state;
  ++st.decoding;
  ++st.in_pipeline;
  caf::actor me = caf::actor_cast<caf::actor>(self);
  st.jobs->post([me, bytes = std::move(bytes), gen = st.generation, config = st.config, peer = st.peer,
                 board = st.board, applies = st.applies] {
    auto decoded = dal::decode_batch(bytes);
    if (!decoded) {
      return caf::anon_send(me, ez_decoded_atom::value, gen, false, uint64_t{0}, uint64_t{0},
                            "batch from '" + peer + "': " + decoded.status().message());
    }
    if (decoded.value().origin != peer) {
      return caf::anon_send(me, ez_decoded_atom::value, gen, false, uint64_t{0}, uint64_t{0},
                            "asked '" + peer + "' for its outbox but got ezone '" + decoded.value().origin + "'s");
    }
    bool restarts = false;
    if (Status timeline = config.dal->check_origin(decoded.value(), &restarts); !timeline) {
      if (timeline.code() == Errc::conflict) board->update(peer, [](DrcPeerStatus& s) { s.refused = true; });
      return caf::anon_send(me, ez_decoded_atom::value, gen, false, uint64_t{0}, uint64_t{0},
                            "batch from '" + peer + "' refused: " + timeline.message());
    }
    if (restarts) {
      // The peer was re-seeded: its cursor goes back to 0 (durably, first),
      // and the puller starts again from there.
      Status reset = config.dal->restart_origin(decoded.value());
      if (reset) caf::anon_send(me, ez_restart_atom::value);
      return caf::anon_send(me, ez_decoded_atom::value, gen, false, uint64_t{0}, uint64_t{0},
                            reset ? std::string() : "resetting the cursor of re-seeded '" + peer + "': " + reset.message());
    }
    const uint64_t entries = decoded.value().entries.size();
    const uint64_t last = entries ? decoded.value().entries.back().seq : 0;
    auto prepared = entries ? config.dal->prepare(std::move(decoded.value()))
                            : Result<std::shared_ptr<const dal::PreparedBatch>>(nullptr);
    if (!prepared) {
      return caf::anon_send(me, ez_decoded_atom::value, gen, false, uint64_t{0}, uint64_t{0},
                            "apply from '" + peer + "': " + prepared.status().message());
    }
    caf::anon_send(me, ez_decoded_atom::value, gen, true, entries, last, std::string());
    if (!entries) return record_idle(config, peer, *board, decoded.value().head_seq);
    std::shared_ptr<const dal::PreparedBatch> batch = prepared.value();
    applies->begin();
    config.dal->apply(std::move(prepared.value()), [me, gen, config, peer, board, batch, applies](
                                                       Result<dal::ApplyReport> report) {
      if (!report) {
        caf::anon_send(me, ez_applied_atom::value, gen, false, uint64_t{0},
                       "apply from '" + peer + "': " + report.status().message());
      } else {
        // The entries this apply committed: the last `entries` up to the cursor.
        const uint64_t applied_after = report.value().cursor - report.value().entries;
        record_batch(config, peer, *board, dal::prepared_outbox(*batch), report.value(), applied_after);
        caf::anon_send(me, ez_applied_atom::value, gen, true, report.value().cursor, std::string());
      }
      applies->end();
    });
  });
}

void on_decoded(PullerSelf self, uint64_t gen, bool ok, uint64_t entries, uint64_t last, const std::string& error) {
  auto& st = self->state;
  --st.decoding;
  if (!ok || entries == 0) --st.in_pipeline;  // nothing of it goes to the writer
  if (gen != st.generation) return maybe_pull(self);
  if (!ok) return retry(self, error);
  if (entries > 0) {
    st.fetched = last;
  } else {
    st.rows_next = kFirstPullRows;  // idle for a whole long poll: the next burst starts small
    st.bytes_next = kFirstPullBytes;
  }
  maybe_pull(self);
}

// The peer was re-seeded and its cursor reset to 0: what is in the pipeline
// was pulled after the old cursor, and applies of it that end later must not
// move the cursor back up.
void on_restart(PullerSelf self) {
  auto& st = self->state;
  st.cursor = 0;
  st.fetched = 0;
  st.cursor_generation = ++st.generation;
  st.rows_next = kFirstPullRows;
  st.bytes_next = kFirstPullBytes;
  st.board->update(st.peer, [&](DrcPeerStatus& s) { s.cursor = 0; });
}

void on_applied(PullerSelf self, uint64_t gen, bool ok, uint64_t cursor, const std::string& error) {
  auto& st = self->state;
  --st.in_pipeline;
  // Durable, whatever happened since (but for a restart since).
  if (ok && gen >= st.cursor_generation) st.cursor = std::max(st.cursor, cursor);
  if (gen != st.generation) return maybe_pull(self);
  if (!ok) return retry(self, error);
  maybe_pull(self);
}

void pull(PullerSelf self, uint64_t after) {
  auto& st = self->state;
  const DrcTuning& t = st.config.tuning;
  st.pulling = true;
  const uint64_t id = ++st.pull_id;
  st.pull_deadline_ms = mono_ms() + t.pull_timeout_ms;
  const uint32_t rows = std::min(st.rows_next, t.batch_rows_max);
  const uint32_t bytes = std::min(st.bytes_next, t.batch_bytes_max);
  st.rows_next = std::min<uint64_t>(uint64_t{st.rows_next} * 2, t.batch_rows_max);
  st.bytes_next = std::min<uint64_t>(uint64_t{st.bytes_next} * 2, t.batch_bytes_max);
  self->request(st.handle, caf::infinite, ez_pull_atom::value, st.config.ezone, after, st.cursor, rows, bytes,
                t.pull_wait_ms)
      .then(
          [self, id](std::string& bytes) {
            if (id != self->state.pull_id || !self->state.pulling) return;  // abandoned by the tick
            self->state.pulling = false;
            // Answered after the isolation began: dropped, pulled again after the heal.
            if (paused_by_isolation(self)) return;
            on_batch(self, std::move(bytes));
          },
          [self, id](caf::error& err) {
            if (id != self->state.pull_id || !self->state.pulling) return;
            self->state.pulling = false;
            self->state.handle = nullptr;
            retry(self, "pull from '" + self->state.peer + "': " + self->system().render(err));
          });
}

void step(PullerSelf self) {
  auto& st = self->state;
  // After an error, the batches still in the pipeline drain first: the
  // next pull starts from the durable cursor.
  if (st.pulling || st.in_pipeline > 0) return;
  st.fetched = st.cursor;
  if (paused_by_isolation(self)) return;
  if (st.handle) return maybe_pull(self);
  self->request(st.cluster, caf::infinite, ez_peer_atom::value, st.peer)
      .then(
          [self](const caf::actor& handle) {
            auto& st = self->state;
            if (!handle) {
              retry(self, "peer '" + st.peer + "' is not up");
              // Right after a start the cluster is still connecting: ask
              // again soon (one tick, then twice as long each time), not
              // retry_ms later.
              const int64_t wait_ms = std::min<int64_t>(st.config.tuning.retry_ms, kTickMs << std::min(st.peer_waits++, 8));
              st.retry_at_ms = mono_ms() + wait_ms;
              return;
            }
            st.peer_waits = 0;
            st.handle = handle;
            step(self);
          },
          [self](caf::error& err) { retry(self, "asking the cluster actor: " + self->system().render(err)); });
}

caf::behavior drc_puller(PullerSelf self, DrcServiceConfig config, std::string peer, uint64_t cursor,
                         caf::actor cluster, std::shared_ptr<StatusBoard> board, std::shared_ptr<JobThread> jobs,
                         std::shared_ptr<ApplyTracker> applies) {
  auto& st = self->state;
  st.applies = std::move(applies);
  st.config = std::move(config);
  st.peer = std::move(peer);
  st.cursor = cursor;
  st.fetched = cursor;
  st.cluster = std::move(cluster);
  st.board = std::move(board);
  st.jobs = std::move(jobs);
  st.board->update(st.peer, [&](DrcPeerStatus& s) {
    s.origin = st.peer;
    s.cursor = st.cursor;
  });
  self->send(self, ez_next_atom::value);
  return {
      [self](ez_next_atom) { step(self); },
      [self](ez_restart_atom) { on_restart(self); },
      [self](ez_decoded_atom, uint64_t gen, bool ok, uint64_t entries, uint64_t last, const std::string& error) {
        on_decoded(self, gen, ok, entries, last, error);
      },
      [self](ez_applied_atom, uint64_t gen, bool ok, uint64_t cursor, const std::string& error) {
        on_applied(self, gen, ok, cursor, error);
      },
      [self](ez_tick_atom) {
        auto& st = self->state;
        const int64_t now = mono_ms();
        if (st.pulling && now > st.pull_deadline_ms) {
          st.pulling = false;  // its answer, if it ever comes, is dropped
          st.handle = nullptr;
          retry(self, "pull from '" + st.peer + "' got no answer within " +
                          std::to_string(st.config.tuning.pull_timeout_ms) + " ms (drc.pull_timeout_ms)");
        } else if (st.retry_at_ms >= 0 && now >= st.retry_at_ms && st.in_pipeline == 0) {
          st.retry_at_ms = -1;
          step(self);
        }
      },
  };
}

}  // namespace

caf::actor spawn_drc_puller(caf::actor_system& system, DrcServiceConfig config, std::string peer, uint64_t cursor,
                            caf::actor cluster, std::shared_ptr<StatusBoard> board, std::shared_ptr<JobThread> jobs,
                            std::shared_ptr<ApplyTracker> applies) {
  return system.spawn(drc_puller, std::move(config), std::move(peer), cursor, std::move(cluster), std::move(board),
                      std::move(jobs), std::move(applies));
}

}  // namespace ezone::drc_detail
