// DRC server and the service that runs it with one puller per peer.
//
// The server answers peers' pulls from this site's outbox (held as long
// polls while there is nothing new) and trims what every peer applied;
// the pullers are in drc_puller.cpp.
//
// Threads. The actors are ordinary scheduled actors and never block: every
// SQLite call (reading the outbox, decoding and applying a batch, trimming)
// runs on a JobThread of the service or on the DAL's writer, which report
// back with a message. Time comes from a plain ticker thread, not CAF's
// clock. Both choices avoid a hang seen under load with CAF 0.17: its clock
// holds a strong reference to the receiver of every pending timer, and stops
// before the actor system waits for detached threads, so a detached actor
// with a pending timer could never be destroyed and the node's stop hung.
// Requests carry no timeout: a lost peer ends them through the cluster's
// heartbeats, and a slow one is given up at pull_timeout_ms by the tick.
#include "actors/drc/drc_service.hpp"

#include <atomic>
#include <optional>

#include <spdlog/spdlog.h>

#include "actors/cluster/cluster_actor.hpp"
#include "actors/drc/drc_parts.hpp"
#include "actors/drc/drc_protocol.hpp"

namespace ezone {
namespace {

using drc_detail::ApplyTracker;
using drc_detail::ez_applied_atom;
using drc_detail::ez_grew_atom;
using drc_detail::ez_read_atom;
using drc_detail::ez_tick_atom;
using drc_detail::isolated;
using drc_detail::isolated_error;
using drc_detail::JobThread;
using drc_detail::kTickMs;
using drc_detail::mono_ms;
using drc_detail::spawn_drc_puller;
using drc_detail::StatusBoard;

using std::chrono::milliseconds;

// How often the server trims outbox entries that every peer has applied.
constexpr int64_t kTrimIntervalMs = 10000;

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
  std::shared_ptr<JobThread> jobs;
  // Trims run on their own thread: deleting a long backlog takes many
  // writer transactions, and the reads that peers' pulls wait on must not
  // queue behind them. At most one is in flight; one that stopped at the
  // DAL's per-call bound asks for the next at the next tick.
  std::shared_ptr<JobThread> trims;
  std::shared_ptr<std::atomic<bool>> trimming = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<std::atomic<bool>> trim_more = std::make_shared<std::atomic<bool>>(false);
  std::vector<PendingPull> held;  // waiting for new entries or their deadline
  std::map<uint64_t, caf::typed_response_promise<std::string>> reading;  // by read number
  uint64_t reads = 0;
  // The `applied` of each peer's latest pull: it has durably applied that
  // far (not `after`: a pipelined puller asks for more before committing).
  std::map<std::string, uint64_t> applied_by_peer;
  int64_t next_trim_ms = 0;
  Counter* served = nullptr;
  Counter* refused_isolated = nullptr;
  static inline const char* name = "ezone.drc.server";
};
using ServerSelf = caf::stateful_actor<ServerState>*;

// Reads the batch on the job thread; the answer comes back as ez_read.
void start_read(ServerSelf self, const PendingPull& p) {
  auto& st = self->state;
  const uint64_t id = ++st.reads;
  st.reading.emplace(id, p.promise);
  caf::actor me = caf::actor_cast<caf::actor>(self);
  dal::Dal* dal = st.config.dal;
  st.jobs->post([me, dal, id, after = p.after, rows = p.rows_max, bytes = p.bytes_max] {
    auto batch = dal->read_outbox(after, rows, bytes);
    if (!batch) return caf::anon_send(me, ez_read_atom::value, id, false, batch.status().to_string());
    caf::anon_send(me, ez_read_atom::value, id, true, dal::encode_batch(batch.value()));
  });
}

template <class Pred>
void release_held(ServerSelf self, Pred pred) {
  auto& held = self->state.held;
  for (auto it = held.begin(); it != held.end();) {
    if (pred(*it)) {
      start_read(self, *it);
      it = held.erase(it);
    } else {
      ++it;
    }
  }
}

// Deletes the outbox entries every peer has applied, except the one at the
// lowest cursor: a peer's next pull (after = its cursor) carries that
// entry's hlc, so the peer can tell that this is still the outbox it
// applied from (OutboxBatch::after_hlc). Until each peer has pulled once
// since this node started, nothing is trimmed.
void trim(ServerSelf self) {
  auto& st = self->state;
  if (st.applied_by_peer.size() < st.config.peers.size()) return;
  uint64_t upto = UINT64_MAX;
  for (const auto& [peer, after] : st.applied_by_peer) upto = std::min(upto, after);
  if (upto-- <= 1) return;
  if (st.trimming->exchange(true)) return;
  DrcServiceConfig config = st.config;
  st.trims->post([config, upto, trimming = st.trimming, more = st.trim_more] {
    auto deleted = config.dal->trim_outbox(upto);
    more->store(deleted && deleted.value() >= dal::kTrimEntriesPerCall);
    trimming->store(false);
    if (!deleted) {
      config.logger->warn("event=drc_outbox_trim_failed error=\"{}\"", deleted.status().message());
      return;
    }
    config.metrics->counter("ezone_drc_outbox_trimmed_total", "Outbox entries deleted after every peer applied them")
        .inc(deleted.value());
  });
}

caf::behavior drc_server(ServerSelf self, DrcServiceConfig config, std::shared_ptr<JobThread> jobs,
                         std::shared_ptr<JobThread> trims) {
  auto& st = self->state;
  st.config = std::move(config);
  st.jobs = std::move(jobs);
  st.trims = std::move(trims);
  st.served = &st.config.metrics->counter("ezone_drc_batches_served_total", "Outbox batches served to peers' pulls");
  st.refused_isolated = &st.config.metrics->counter("ezone_drc_isolated_pulls_total",
                                                    "Peers' pulls refused because this node was isolated (a drill)");
  st.next_trim_ms = mono_ms() + kTrimIntervalMs;
  return {
      [self](ez_pull_atom, const std::string& requester, uint64_t after, uint64_t applied, uint32_t rows_max,
             uint32_t bytes_max, int64_t wait_ms) -> caf::result<std::string> {
        auto& st = self->state;
        if (isolated(st.config)) {
          st.refused_isolated->inc();
          return caf::make_error(caf::sec::runtime_error, isolated_error(st.config));
        }
        const auto& peers = st.config.peers;
        if (std::find(peers.begin(), peers.end(), requester) == peers.end()) {
          st.config.metrics->counter("ezone_drc_rejected_pulls_total", "Pulls from ezones that are not peers").inc();
          return caf::make_error(caf::sec::runtime_error, "ezone '" + requester + "' is not a peer of '" +
                                                              st.config.ezone + "'");
        }
        st.applied_by_peer[requester] = std::min(applied, after);
        PendingPull p;
        p.after = after;
        p.rows_max = std::max<uint32_t>(1, std::min(rows_max, st.config.tuning.batch_rows_max));
        p.bytes_max = std::max<uint32_t>(4096, std::min(bytes_max, st.config.tuning.batch_bytes_max));
        p.deadline_ms = mono_ms() + std::min(wait_ms, st.config.tuning.pull_wait_ms);
        p.promise = self->make_response_promise<std::string>();
        if (st.config.dal->outbox_head() > after || wait_ms <= 0) {
          start_read(self, p);
        } else {
          st.held.push_back(p);
        }
        return p.promise;
      },
      [self](ez_read_atom, uint64_t id, bool ok, const std::string& payload) {
        auto it = self->state.reading.find(id);
        if (it == self->state.reading.end()) return;
        if (ok && isolated(self->state.config)) {
          // Held or read before the isolation began: a dark IDC sends nothing.
          self->state.refused_isolated->inc();
          it->second.deliver(caf::make_error(caf::sec::runtime_error, isolated_error(self->state.config)));
        } else if (ok) {
          self->state.served->inc();
          it->second.deliver(payload);
        } else {
          it->second.deliver(caf::make_error(caf::sec::runtime_error, payload));
        }
        self->state.reading.erase(it);
      },
      [self](ez_grew_atom, uint64_t head) {
        release_held(self, [head](const PendingPull& p) { return head > p.after; });
      },
      [self](ez_tick_atom) {
        const int64_t now = mono_ms();
        release_held(self, [now](const PendingPull& p) { return p.deadline_ms <= now; });
        if (now >= self->state.next_trim_ms || self->state.trim_more->exchange(false)) {
          self->state.next_trim_ms = now + kTrimIntervalMs;
          trim(self);
        }
      },
  };
}

}  // namespace

struct DrcService::Impl {
  DrcServiceConfig config;
  std::shared_ptr<StatusBoard> board = std::make_shared<StatusBoard>();
  // One job thread for the server's reads, one for its trims, one per
  // puller for its decoding (separate threads keep one peer's large batches
  // from delaying another's reads); the DAL's writer applies, in order.
  std::shared_ptr<JobThread> server_jobs;
  std::shared_ptr<JobThread> trim_jobs;
  std::vector<std::shared_ptr<JobThread>> puller_jobs;
  std::shared_ptr<ApplyTracker> applies = std::make_shared<ApplyTracker>();
  caf::actor server;
  std::vector<caf::actor> pullers;
  uint64_t outbox_watch = 0;
  bool stopped = false;
  std::mutex ticker_mutex;
  std::condition_variable ticker_wake;
  bool ticker_stop = false;
  std::thread ticker;

  void tick_loop() {
    std::unique_lock<std::mutex> lock(ticker_mutex);
    while (!ticker_wake.wait_for(lock, milliseconds(kTickMs), [this] { return ticker_stop; })) {
      caf::anon_send(server, ez_tick_atom::value);
      for (const auto& p : pullers) caf::anon_send(p, ez_tick_atom::value);
    }
  }
};

std::unique_ptr<DrcService> DrcService::start(caf::actor_system& system, const caf::actor& cluster,
                                              DrcServiceConfig config) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->server_jobs = std::make_shared<JobThread>("drcsrv-" + config.ezone);
  impl->trim_jobs = std::make_shared<JobThread>("drctrim-" + config.ezone);
  impl->server = system.spawn(drc_server, config, impl->server_jobs, impl->trim_jobs);
  caf::anon_send(cluster, ez_drcset_atom::value, impl->server);
  caf::actor server = impl->server;
  impl->outbox_watch = config.dal->on_outbox([server](uint64_t head) {
    caf::anon_send(server, ez_grew_atom::value, head);
  });
  for (const std::string& peer : config.peers) {
    // The durable cursor, read once here (a blocking read, before any actor needs it).
    auto cursor = config.dal->cursor(peer);
    if (!cursor) config.logger->error("event=drc_cursor_unreadable origin={} error=\"{}\"", peer, cursor.status().message());
    auto jobs = std::make_shared<JobThread>("drcpull-" + peer);
    impl->puller_jobs.push_back(jobs);
    impl->pullers.push_back(
        spawn_drc_puller(system, config, peer, cursor ? cursor.value() : 0, cluster, impl->board, jobs, impl->applies));
  }
  Impl* raw = impl.get();
  impl->ticker = std::thread([raw] { raw->tick_loop(); });
  return std::unique_ptr<DrcService>(new DrcService(std::move(impl)));
}

DrcService::DrcService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DrcService::~DrcService() { stop(); }

void DrcService::stop() {
  if (std::exchange(impl_->stopped, true)) return;
  {
    std::lock_guard<std::mutex> lock(impl_->ticker_mutex);
    impl_->ticker_stop = true;
  }
  impl_->ticker_wake.notify_all();
  if (impl_->ticker.joinable()) impl_->ticker.join();
  impl_->config.dal->remove_on_outbox(impl_->outbox_watch);
  for (auto& p : impl_->pullers) caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(impl_->server, caf::exit_reason::user_shutdown);
  // After this no job touches the DAL: the node closes it next.
  impl_->server_jobs->stop();
  impl_->trim_jobs->stop();
  for (auto& jobs : impl_->puller_jobs) jobs->stop();
  impl_->applies->wait_idle();  // the DAL's writer answers every queued apply
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
