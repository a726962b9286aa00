// DRC server and pullers.
//
// A puller's life, per peer:
//
//   no handle --ask the local cluster actor (ez_peer)--> handle
//       ^                                                  |
//       | pull failed or timed out (peer down, hung)       | pull(after = cursor)
//       +------------------ retry_ms ---------------------+|
//                                                          v
//                                    batch --apply (cursor in the same tx)--> pull again
//
// An apply error (a gap, undecodable bytes) keeps the cursor where it was
// and retries after retry_ms; the error shows in status() and the metrics.
#include "actors/drc/drc_service.hpp"

#include <map>
#include <mutex>

#include <spdlog/spdlog.h>

#include "actors/cluster/cluster_actor.hpp"
#include "actors/drc/drc_protocol.hpp"
#include "core/clock.hpp"

namespace ezone {
namespace {

using ez_grew_atom = caf::atom_constant<caf::atom("ez_grew")>;
using ez_expire_atom = caf::atom_constant<caf::atom("ez_expire")>;
using ez_next_atom = caf::atom_constant<caf::atom("ez_next")>;
using ez_trim_atom = caf::atom_constant<caf::atom("ez_trim")>;

// How often the server trims outbox entries that every peer has applied.
constexpr int64_t kTrimIntervalMs = 10000;
using std::chrono::milliseconds;

int64_t mono_ms() { return SystemClock::instance().now_ms(); }
int64_t wall_ms() { return SystemClock::instance().wall_ms(); }

// Shared with status(): what each puller last saw.
struct StatusBoard {
  mutable std::mutex mutex;
  std::map<std::string, DrcPeerStatus> peers;
};

// ---- server ----

struct PendingPull {
  uint64_t after = 0;
  uint32_t rows_max = 0;
  uint32_t bytes_max = 0;
  int64_t deadline_ms = 0;
  caf::typed_response_promise<std::string> promise;
};

struct ServerState {
  DrcServiceConfig config;
  std::vector<PendingPull> pending;
  // The `after` of each peer's latest pull: it has durably applied that far
  // (a puller asks for more only after its apply committed).
  std::map<std::string, uint64_t> applied_by_peer;
  Counter* served = nullptr;
  static inline const char* name = "ezone.drc.server";
};
using ServerSelf = caf::stateful_actor<ServerState>*;

caf::result<std::string> serve(ServerSelf self, uint64_t after, uint32_t rows_max, uint32_t bytes_max) {
  auto batch = self->state.config.dal->read_outbox(after, rows_max, bytes_max);
  if (!batch) return caf::make_error(caf::sec::runtime_error, batch.status().to_string());
  self->state.served->inc();
  return dal::encode_batch(batch.value());
}

void answer(ServerSelf self, PendingPull& p) {
  auto batch = self->state.config.dal->read_outbox(p.after, p.rows_max, p.bytes_max);
  if (!batch) {
    p.promise.deliver(caf::make_error(caf::sec::runtime_error, batch.status().to_string()));
    return;
  }
  self->state.served->inc();
  p.promise.deliver(dal::encode_batch(batch.value()));
}

// Answers the held pulls that `pred` selects.
template <class Pred>
void answer_pending(ServerSelf self, Pred pred) {
  auto& pending = self->state.pending;
  for (auto it = pending.begin(); it != pending.end();) {
    if (pred(*it)) {
      answer(self, *it);
      it = pending.erase(it);
    } else {
      ++it;
    }
  }
}

// Deletes the outbox entries every peer has applied. Until each peer has
// pulled once since this node started, nothing is trimmed.
void trim(ServerSelf self) {
  auto& st = self->state;
  if (st.applied_by_peer.size() < st.config.peers.size()) return;
  uint64_t upto = UINT64_MAX;
  for (const auto& [peer, after] : st.applied_by_peer) upto = std::min(upto, after);
  auto deleted = st.config.dal->trim_outbox(upto);
  if (!deleted) {
    st.config.logger->warn("event=drc_outbox_trim_failed error=\"{}\"", deleted.status().message());
    return;
  }
  st.config.metrics->counter("ezone_drc_outbox_trimmed_total", "Outbox entries deleted after every peer applied them")
      .inc(deleted.value());
}

caf::behavior drc_server(ServerSelf self, DrcServiceConfig config) {
  self->state.config = std::move(config);
  self->state.served = &self->state.config.metrics->counter("ezone_drc_batches_served_total",
                                                            "Outbox batches served to peers' pulls");
  self->delayed_send(self, milliseconds(kTrimIntervalMs), ez_trim_atom::value);
  return {
      [self](ez_pull_atom, const std::string& requester, uint64_t after, uint32_t rows_max,
             uint32_t bytes_max, int64_t wait_ms) -> caf::result<std::string> {
        auto& st = self->state;
        const auto& peers = st.config.peers;
        if (std::find(peers.begin(), peers.end(), requester) == peers.end()) {
          st.config.metrics->counter("ezone_drc_rejected_pulls_total", "Pulls from ezones that are not peers").inc();
          return caf::make_error(caf::sec::runtime_error, "ezone '" + requester + "' is not a peer of '" +
                                                              st.config.ezone + "'");
        }
        st.applied_by_peer[requester] = after;
        rows_max = std::max<uint32_t>(1, std::min(rows_max, st.config.tuning.batch_rows_max));
        bytes_max = std::max<uint32_t>(4096, std::min(bytes_max, st.config.tuning.batch_bytes_max));
        wait_ms = std::min(wait_ms, st.config.tuning.pull_wait_ms);
        if (st.config.dal->outbox_head() > after || wait_ms <= 0) return serve(self, after, rows_max, bytes_max);
        auto promise = self->make_response_promise<std::string>();
        st.pending.push_back(PendingPull{after, rows_max, bytes_max, mono_ms() + wait_ms, promise});
        self->delayed_send(self, milliseconds(wait_ms), ez_expire_atom::value);
        return promise;
      },
      [self](ez_grew_atom, uint64_t head) {
        answer_pending(self, [head](const PendingPull& p) { return head > p.after; });
      },
      [self](ez_expire_atom) {
        const int64_t now = mono_ms();
        answer_pending(self, [now](const PendingPull& p) { return p.deadline_ms <= now; });
      },
      [self](ez_trim_atom) {
        trim(self);
        self->delayed_send(self, milliseconds(kTrimIntervalMs), ez_trim_atom::value);
      },
  };
}

// ---- puller ----

struct PullerState {
  DrcServiceConfig config;
  std::string peer;
  std::shared_ptr<StatusBoard> board;
  caf::actor cluster;
  caf::actor handle;  // the peer's cluster actor while it answers
  uint64_t cursor = 0;
  bool cursor_known = false;
  bool pulling = false;  // a pull is outstanding (at most one at a time)
  static inline const char* name = "ezone.drc.puller";
};
using PullerSelf = caf::stateful_actor<PullerState>*;

void update_status(PullerSelf self, const std::function<void(DrcPeerStatus&)>& fn) {
  std::lock_guard<std::mutex> lock(self->state.board->mutex);
  fn(self->state.board->peers[self->state.peer]);
}

void retry(PullerSelf self, const std::string& error) {
  auto& st = self->state;
  st.config.metrics->counter("ezone_drc_pull_errors_total", "Pulls or applies that failed", {{"origin", st.peer}})
      .inc();
  update_status(self, [&](DrcPeerStatus& s) {
    if (s.last_error != error) st.config.logger->warn("event=drc_pull_failed origin={} error=\"{}\"", st.peer, error);
    s.last_error = error;
    s.connected = false;
  });
  self->delayed_send(self, milliseconds(st.config.tuning.retry_ms), ez_next_atom::value);
}

void record_batch(PullerSelf self, const dal::OutboxBatch& batch, const dal::ApplyReport& report, uint64_t before) {
  auto& st = self->state;
  const MetricLabels labels{{"origin", st.peer}};
  Metrics& m = *st.config.metrics;
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
  m.gauge("ezone_drc_peer_head_seq", "The origin's newest outbox seq, as of its last answer", labels)
      .set(static_cast<int64_t>(batch.head_seq));
  m.gauge("ezone_drc_lag_rows", "Transactions of the origin not applied here yet", labels)
      .set(static_cast<int64_t>(lag_rows));
  m.gauge("ezone_drc_lag_ms", "Age of the oldest change of the origin not applied here; 0 when caught up", labels)
      .set(lag_ms);
  update_status(self, [&](DrcPeerStatus& s) {
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
  });
}

void pull(PullerSelf self, uint64_t after);

// Applies one batch. When the origin has more, the next pull goes out first
// (asking for what follows this batch), so the origin's read and the network
// overlap this site's apply and fsync. If the apply fails, that prefetched
// batch no longer continues the cursor: its apply is refused as a gap and
// the puller retries from the durable cursor.
void on_batch(PullerSelf self, const std::string& bytes) {
  auto& st = self->state;
  auto batch = dal::decode_batch(bytes);
  if (!batch) return retry(self, "batch from '" + st.peer + "': " + batch.status().message());
  if (batch.value().origin != st.peer) {
    return retry(self, "asked '" + st.peer + "' for its outbox but got ezone '" + batch.value().origin + "'s");
  }
  const auto& entries = batch.value().entries;
  if (!entries.empty() && entries.back().seq < batch.value().head_seq && !st.pulling) pull(self, entries.back().seq);
  const uint64_t before = st.cursor;
  auto report = st.config.dal->apply(batch.value());
  if (!report) return retry(self, "apply from '" + st.peer + "': " + report.status().message());
  st.cursor = report.value().cursor;
  record_batch(self, batch.value(), report.value(), before);
  if (!st.pulling) pull(self, st.cursor);
}

void pull(PullerSelf self, uint64_t after) {
  auto& st = self->state;
  const DrcTuning& t = st.config.tuning;
  st.pulling = true;
  self->request(st.handle, milliseconds(t.pull_timeout_ms), ez_pull_atom::value, st.config.ezone, after,
                t.batch_rows_max, t.batch_bytes_max, t.pull_wait_ms)
      .then(
          [self](const std::string& bytes) {
            self->state.pulling = false;
            on_batch(self, bytes);
          },
          [self](caf::error& err) {
            self->state.pulling = false;
            self->state.handle = nullptr;
            retry(self, "pull from '" + self->state.peer + "': " + self->system().render(err));
          });
}

void step(PullerSelf self) {
  auto& st = self->state;
  if (!st.cursor_known) {
    auto cursor = st.config.dal->cursor(st.peer);
    if (!cursor) return retry(self, "reading the cursor: " + cursor.status().message());
    st.cursor = cursor.value();
    st.cursor_known = true;
  }
  if (st.pulling) return;  // the outstanding pull drives the next step
  if (st.handle) return pull(self, st.cursor);
  self->request(st.cluster, milliseconds(1000), ez_peer_atom::value, st.peer)
      .then(
          [self](const caf::actor& handle) {
            if (!handle) return retry(self, "peer '" + self->state.peer + "' is not up");
            self->state.handle = handle;
            if (!self->state.pulling) pull(self, self->state.cursor);
          },
          [self](caf::error& err) { retry(self, "asking the cluster actor: " + self->system().render(err)); });
}

caf::behavior drc_puller(PullerSelf self, DrcServiceConfig config, std::string peer, caf::actor cluster,
                         std::shared_ptr<StatusBoard> board) {
  auto& st = self->state;
  st.config = std::move(config);
  st.peer = std::move(peer);
  st.cluster = std::move(cluster);
  st.board = std::move(board);
  update_status(self, [&](DrcPeerStatus& s) { s.origin = st.peer; });
  self->send(self, ez_next_atom::value);
  return {[self](ez_next_atom) { step(self); }};
}

}  // namespace

struct DrcService::Impl {
  DrcServiceConfig config;
  std::shared_ptr<StatusBoard> board = std::make_shared<StatusBoard>();
  caf::actor server;
  std::vector<caf::actor> pullers;
  uint64_t outbox_watch = 0;
  bool stopped = false;
};

std::unique_ptr<DrcService> DrcService::start(caf::actor_system& system, const caf::actor& cluster,
                                              DrcServiceConfig config) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->server = system.spawn<caf::detached>(drc_server, config);
  caf::anon_send(cluster, ez_drcset_atom::value, impl->server);
  caf::actor server = impl->server;
  impl->outbox_watch = config.dal->on_outbox([server](uint64_t head) {
    caf::anon_send(server, ez_grew_atom::value, head);
  });
  for (const std::string& peer : config.peers) {
    impl->pullers.push_back(system.spawn<caf::detached>(drc_puller, config, peer, cluster, impl->board));
  }
  return std::unique_ptr<DrcService>(new DrcService(std::move(impl)));
}

DrcService::DrcService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DrcService::~DrcService() { stop(); }

void DrcService::stop() {
  if (std::exchange(impl_->stopped, true)) return;
  impl_->config.dal->remove_on_outbox(impl_->outbox_watch);
  for (auto& p : impl_->pullers) caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(impl_->server, caf::exit_reason::user_shutdown);
  impl_->pullers.clear();
  impl_->server = nullptr;
}

std::vector<DrcPeerStatus> DrcService::status() const {
  std::lock_guard<std::mutex> lock(impl_->board->mutex);
  std::vector<DrcPeerStatus> out;
  for (const auto& [origin, s] : impl_->board->peers) out.push_back(s);
  return out;
}

}  // namespace ezone
