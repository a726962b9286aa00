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
//
// Threads. The actors are ordinary scheduled actors and never block: every
// SQLite call (reading the outbox, applying a batch, trimming) runs on a
// JobThread of the service, which reports back with a message. Time comes
// from a plain ticker thread, not CAF's clock. Both choices avoid a hang
// seen under load with CAF 0.17: its clock holds a strong reference to the
// receiver of every pending timer, and stops before the actor system waits
// for detached threads, so a detached actor with a pending timer could never
// be destroyed and the node's stop hung. Requests carry no timeout: a lost
// peer ends them through the cluster's heartbeats, and a slow one is given up
// at pull_timeout_ms by the tick.
#include "actors/drc/drc_service.hpp"

#include <condition_variable>
#include <deque>
#include <map>
#include <optional>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "actors/cluster/cluster_actor.hpp"
#include "actors/drc/drc_protocol.hpp"
#include "core/clock.hpp"

namespace ezone {
namespace {

using ez_grew_atom = caf::atom_constant<caf::atom("ez_grew")>;
using ez_next_atom = caf::atom_constant<caf::atom("ez_next")>;
using ez_tick_atom = caf::atom_constant<caf::atom("ez_dtick")>;
using ez_read_atom = caf::atom_constant<caf::atom("ez_read")>;
using ez_applied_atom = caf::atom_constant<caf::atom("ez_applied")>;
using std::chrono::milliseconds;

// How often the server trims outbox entries that every peer has applied.
constexpr int64_t kTrimIntervalMs = 10000;
// The ticker's period: the resolution of held pulls' expiry and of retries.
constexpr int64_t kTickMs = 20;

int64_t mono_ms() { return SystemClock::instance().now_ms(); }
int64_t wall_ms() { return SystemClock::instance().wall_ms(); }

// Runs blocking jobs one at a time, in order, on its own thread.
class JobThread {
 public:
  JobThread() : thread_([this] { run(); }) {}
  ~JobThread() { stop(); }

  void post(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
  }

  // Finishes the running job, drops the queued ones, joins.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      jobs_.clear();
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (stopping_) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

// Shared with status(): what each puller last saw.
struct StatusBoard {
  mutable std::mutex mutex;
  std::map<std::string, DrcPeerStatus> peers;

  void update(const std::string& peer, const std::function<void(DrcPeerStatus&)>& fn) {
    std::lock_guard<std::mutex> lock(mutex);
    fn(peers[peer]);
  }
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
  std::shared_ptr<JobThread> jobs;
  std::vector<PendingPull> held;  // waiting for new entries or their deadline
  std::map<uint64_t, caf::typed_response_promise<std::string>> reading;  // by read number
  uint64_t reads = 0;
  // The `after` of each peer's latest pull: it has durably applied that far
  // (a puller asks for more only after its apply committed).
  std::map<std::string, uint64_t> applied_by_peer;
  int64_t next_trim_ms = 0;
  Counter* served = nullptr;
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

// Deletes the outbox entries every peer has applied. Until each peer has
// pulled once since this node started, nothing is trimmed.
void trim(ServerSelf self) {
  auto& st = self->state;
  if (st.applied_by_peer.size() < st.config.peers.size()) return;
  uint64_t upto = UINT64_MAX;
  for (const auto& [peer, after] : st.applied_by_peer) upto = std::min(upto, after);
  DrcServiceConfig config = st.config;
  st.jobs->post([config, upto] {
    auto deleted = config.dal->trim_outbox(upto);
    if (!deleted) {
      config.logger->warn("event=drc_outbox_trim_failed error=\"{}\"", deleted.status().message());
      return;
    }
    config.metrics->counter("ezone_drc_outbox_trimmed_total", "Outbox entries deleted after every peer applied them")
        .inc(deleted.value());
  });
}

caf::behavior drc_server(ServerSelf self, DrcServiceConfig config, std::shared_ptr<JobThread> jobs) {
  auto& st = self->state;
  st.config = std::move(config);
  st.jobs = std::move(jobs);
  st.served = &st.config.metrics->counter("ezone_drc_batches_served_total", "Outbox batches served to peers' pulls");
  st.next_trim_ms = mono_ms() + kTrimIntervalMs;
  return {
      [self](ez_pull_atom, const std::string& requester, uint64_t after, uint32_t rows_max, uint32_t bytes_max,
             int64_t wait_ms) -> caf::result<std::string> {
        auto& st = self->state;
        const auto& peers = st.config.peers;
        if (std::find(peers.begin(), peers.end(), requester) == peers.end()) {
          st.config.metrics->counter("ezone_drc_rejected_pulls_total", "Pulls from ezones that are not peers").inc();
          return caf::make_error(caf::sec::runtime_error, "ezone '" + requester + "' is not a peer of '" +
                                                              st.config.ezone + "'");
        }
        st.applied_by_peer[requester] = after;
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
        if (ok) {
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
        if (now >= self->state.next_trim_ms) {
          self->state.next_trim_ms = now + kTrimIntervalMs;
          trim(self);
        }
      },
  };
}

// ---- puller ----

struct PullerState {
  DrcServiceConfig config;
  std::string peer;
  std::shared_ptr<StatusBoard> board;
  std::shared_ptr<JobThread> jobs;
  caf::actor cluster;
  caf::actor handle;        // the peer's cluster actor while it answers
  uint64_t cursor = 0;      // durable: what this site has applied from the peer
  bool pulling = false;     // a pull is outstanding (at most one at a time)
  uint64_t pull_id = 0;     // the outstanding pull's number; a late answer to an abandoned one is dropped
  int64_t pull_deadline_ms = 0;
  bool applying = false;    // a batch is on the job thread
  std::optional<std::string> next_batch;  // a prefetched batch waiting for the apply
  int64_t retry_at_ms = -1;  // >= 0: waiting to retry at this time
  static inline const char* name = "ezone.drc.puller";
};
using PullerSelf = caf::stateful_actor<PullerState>*;

void retry(PullerSelf self, const std::string& error) {
  auto& st = self->state;
  st.config.metrics->counter("ezone_drc_pull_errors_total", "Pulls or applies that failed", {{"origin", st.peer}})
      .inc();
  st.board->update(st.peer, [&](DrcPeerStatus& s) {
    if (s.last_error != error) st.config.logger->warn("event=drc_pull_failed origin={} error=\"{}\"", st.peer, error);
    s.last_error = error;
    s.connected = false;
  });
  st.retry_at_ms = mono_ms() + st.config.tuning.retry_ms;  // the tick calls step() then
}

// Metrics and status after an apply; runs on the job thread.
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
  m.gauge("ezone_drc_peer_head_seq", "The origin's newest outbox seq, as of its last answer", labels)
      .set(static_cast<int64_t>(batch.head_seq));
  m.gauge("ezone_drc_lag_rows", "Transactions of the origin not applied here yet", labels)
      .set(static_cast<int64_t>(lag_rows));
  m.gauge("ezone_drc_lag_ms", "Age of the oldest change of the origin not applied here; 0 when caught up", labels)
      .set(lag_ms);
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
  });
}

void pull(PullerSelf self, uint64_t after);

// Hands one batch to the job thread. When the origin has more, the next pull
// goes out first (asking for what follows this batch), so the origin's read
// and the network overlap this site's apply and fsync. If the apply fails,
// that prefetched batch no longer continues the cursor: its apply is refused
// as a gap and the puller retries from the durable cursor.
void on_batch(PullerSelf self, std::string bytes) {
  auto& st = self->state;
  if (st.applying) {
    st.next_batch = std::move(bytes);  // at most one: one pull is outstanding at a time
    return;
  }
  auto batch = std::make_shared<dal::OutboxBatch>();
  auto decoded = dal::decode_batch(bytes);
  if (!decoded) return retry(self, "batch from '" + st.peer + "': " + decoded.status().message());
  *batch = std::move(decoded.value());
  if (batch->origin != st.peer) {
    return retry(self, "asked '" + st.peer + "' for its outbox but got ezone '" + batch->origin + "'s");
  }
  if (!batch->entries.empty() && batch->entries.back().seq < batch->head_seq && !st.pulling) {
    pull(self, batch->entries.back().seq);
  }
  st.applying = true;
  caf::actor me = caf::actor_cast<caf::actor>(self);
  st.jobs->post([me, batch, config = st.config, peer = st.peer, board = st.board, before = st.cursor] {
    auto report = config.dal->apply(*batch);
    if (!report) {
      caf::anon_send(me, ez_applied_atom::value, false, before, "apply from '" + peer + "': " + report.status().message());
      return;
    }
    record_batch(config, peer, *board, *batch, report.value(), before);
    caf::anon_send(me, ez_applied_atom::value, true, report.value().cursor, std::string());
  });
}

void pull(PullerSelf self, uint64_t after) {
  auto& st = self->state;
  const DrcTuning& t = st.config.tuning;
  st.pulling = true;
  const uint64_t id = ++st.pull_id;
  st.pull_deadline_ms = mono_ms() + t.pull_timeout_ms;
  self->request(st.handle, caf::infinite, ez_pull_atom::value, st.config.ezone, after, t.batch_rows_max,
                t.batch_bytes_max, t.pull_wait_ms)
      .then(
          [self, id](std::string& bytes) {
            if (id != self->state.pull_id || !self->state.pulling) return;  // abandoned by the tick
            self->state.pulling = false;
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
  if (st.pulling || st.applying) return;  // their answers drive the next step
  if (st.handle) return pull(self, st.cursor);
  self->request(st.cluster, caf::infinite, ez_peer_atom::value, st.peer)
      .then(
          [self](const caf::actor& handle) {
            if (!handle) return retry(self, "peer '" + self->state.peer + "' is not up");
            self->state.handle = handle;
            step(self);
          },
          [self](caf::error& err) { retry(self, "asking the cluster actor: " + self->system().render(err)); });
}

void on_applied(PullerSelf self, bool ok, uint64_t cursor, const std::string& error) {
  auto& st = self->state;
  st.applying = false;
  if (!ok) {
    st.next_batch.reset();  // it continues a batch that did not apply
    return retry(self, error);
  }
  st.cursor = cursor;
  if (st.next_batch) {
    std::string next = std::move(*st.next_batch);
    st.next_batch.reset();
    return on_batch(self, std::move(next));
  }
  if (!st.pulling) pull(self, st.cursor);
}

caf::behavior drc_puller(PullerSelf self, DrcServiceConfig config, std::string peer, uint64_t cursor,
                         caf::actor cluster, std::shared_ptr<StatusBoard> board, std::shared_ptr<JobThread> jobs) {
  auto& st = self->state;
  st.config = std::move(config);
  st.peer = std::move(peer);
  st.cursor = cursor;
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
      [self](ez_applied_atom, bool ok, uint64_t cursor, const std::string& error) {
        on_applied(self, ok, cursor, error);
      },
      [self](ez_tick_atom) {
        auto& st = self->state;
        const int64_t now = mono_ms();
        if (st.pulling && now > st.pull_deadline_ms) {
          st.pulling = false;  // its answer, if it ever comes, is dropped
          st.handle = nullptr;
          retry(self, "pull from '" + st.peer + "' got no answer within " +
                          std::to_string(st.config.tuning.pull_timeout_ms) + " ms (drc.pull_timeout_ms)");
        } else if (st.retry_at_ms >= 0 && now >= st.retry_at_ms) {
          st.retry_at_ms = -1;
          step(self);
        }
      },
  };
}

}  // namespace

struct DrcService::Impl {
  DrcServiceConfig config;
  std::shared_ptr<StatusBoard> board = std::make_shared<StatusBoard>();
  // One job thread for the server's reads and trims, one per puller for its
  // applies (the DAL's writer serialises the applies anyway; separate
  // threads keep one peer's slow apply from delaying another's reads).
  std::shared_ptr<JobThread> server_jobs = std::make_shared<JobThread>();
  std::vector<std::shared_ptr<JobThread>> puller_jobs;
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
  impl->server = system.spawn(drc_server, config, impl->server_jobs);
  caf::anon_send(cluster, ez_drcset_atom::value, impl->server);
  caf::actor server = impl->server;
  impl->outbox_watch = config.dal->on_outbox([server](uint64_t head) {
    caf::anon_send(server, ez_grew_atom::value, head);
  });
  for (const std::string& peer : config.peers) {
    // The durable cursor, read once here (a blocking read, before any actor needs it).
    auto cursor = config.dal->cursor(peer);
    if (!cursor) config.logger->error("event=drc_cursor_unreadable origin={} error=\"{}\"", peer, cursor.status().message());
    auto jobs = std::make_shared<JobThread>();
    impl->puller_jobs.push_back(jobs);
    impl->pullers.push_back(
        system.spawn(drc_puller, config, peer, cursor ? cursor.value() : 0, cluster, impl->board, jobs));
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
  for (auto& jobs : impl_->puller_jobs) jobs->stop();
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
